"""Golden transcripts: tests/golden/signup/*.txt replayed through the real engine and compared.

A file starts with `channel: sms` or `channel: telegram`, then `> what the supporter sends`
(`> [press:key]` presses a button) and `< what the bot sent back`: one `< ` line per line of
text, `< ---` between two messages of one turn, and on Telegram the buttons under a message as
`  [Label] [Label]` (`[share phone]` for a contact request). Lines starting `#` are comments.
Run with UPDATE_GOLDEN=1 to rewrite the files from what the bot says now (then read the diff).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from storage import groups

GOLDEN = Path(__file__).parent.parent / "golden" / "signup"
ADDRESS = {"sms": "+447400123456", "telegram": "4242"}
# Referral codes are random: shown as XXXXXX so transcripts stay stable.
_CODE = re.compile(r"(JOIN |start=r_)[346789A-Z]{6}\b")


def _render(message: dict, channel: str) -> list[str]:
    lines = [f"< {line}".rstrip() for line in _CODE.sub(r"\1XXXXXX", message["text"]).split("\n")]
    if channel == "telegram":
        buttons = [f"[{c['label']}]" for c in message.get("choices", [])]
        if message.get("request_contact"):
            buttons.append("[share phone]")
        if buttons:
            lines.append("  " + " ".join(buttons))
    return lines


async def replay(harness, path: Path) -> str:
    source = path.read_text().splitlines()
    channel = next(line.split(":", 1)[1].strip() for line in source if line.startswith("channel:"))
    out = [line for line in source if line.startswith(("#", "channel:"))]
    for line in source:
        if not line.startswith("> "):
            continue
        sent = line[2:]
        out.append(line)
        press = re.fullmatch(r"\[press:(.+)\]", sent)
        harness.clock.advance(seconds=5)
        if press:
            replies = await harness.say(channel, ADDRESS[channel], "", choice=press.group(1))
        else:
            replies = await harness.say(channel, ADDRESS[channel], sent)
        for n, message in enumerate(replies):
            if n:
                out.append("< ---")
            out.extend(_render(message, channel))
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("path", sorted(GOLDEN.glob("*.txt")), ids=lambda p: p.stem)
async def test_transcript(harness, path: Path) -> None:
    async with harness.db.transaction() as tx:
        await groups.add(tx, "Manchester", ["M"], harness.clock.now())
    actual = await replay(harness, path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    assert actual == path.read_text()


def test_every_scenario_is_there() -> None:
    names = {p.stem for p in GOLDEN.glob("*.txt")}
    assert {"happy_sms", "happy_telegram", "stop_mid_signup", "stop_then_start", "join_existing"} <= names
