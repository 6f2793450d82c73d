"""What the golden-transcript runners share: how a sent message is written in a transcript, and
collecting everything the harness's channels delivered since the last look."""
from __future__ import annotations

import re

from tests.harness import Harness

# Referral codes are random: a transcript shows them as XXXXXX.
_CODE = re.compile(r"(JOIN |start=r_)[346789A-Z]{6}\b")


def render(message: dict) -> list[str]:
    """One sent message as transcript lines: its text, buttons, a contact request, a document."""
    lines = [f"< {line}".rstrip() for line in _CODE.sub(r"\1XXXXXX", message["text"]).split("\n")]
    if message.get("choices"):
        lines.append("< " + " ".join(f"[{c['label']} → {c['key']}]" for c in message["choices"]))
    if message.get("request_contact"):
        lines.append("< [share phone]")
    if message.get("document"):
        lines.append(f"< 📎 {message['document']}")
    return lines


def collect(h: Harness, sender: tuple[str, str] | None) -> list[str]:
    """Everything delivered since the last look, each address's messages under its name unless it is
    the sender's (the reply to the line just typed)."""
    out: list[str] = []
    for name, channel in h.channels.items():
        for address in sorted(channel.delivered):
            messages = channel.pop(address)
            if (name, address) != sender and messages:
                out.append(f"<< {name} {address}")
            for n, message in enumerate(messages):
                if n:
                    out.append("< ---")
                out.extend(render(message))
    return out
