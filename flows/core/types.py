"""The message types that pass between channels and flows."""
from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage import subjects
from storage.db import json_text, parse_json


@dataclass(frozen=True)
class Inbound:
    """One message from a supporter, already verified and normalised by its channel.

    `address` is the channel identity: E.164 phone for "sms", the user id for "telegram".
    `choice` is the key of a pressed button (Telegram) when there was one.
    `kind` is "message" for ordinary text and choices; channels may send other kinds
    ("contact", "blocked", "unblocked", "group_join", …) with details in `extra`.
    """

    channel: str
    address: str
    text: str = ""
    provider_id: str = ""
    received_at: datetime | None = None
    choice: str | None = None
    kind: str = "message"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """A button. `key` is short (Telegram callback_data is at most 64 bytes): ids, never free text."""

    key: str
    label: str
    url: str | None = None  # a link button (Telegram); shown as the link itself on text channels

    def __post_init__(self) -> None:
        if len(self.key.encode()) > 64:
            raise ValueError(f"choice key over 64 bytes: {self.key[:20]!r}…")


@dataclass(frozen=True)
class Document:
    filename: str
    content: bytes
    mime: str = "application/octet-stream"


@dataclass(frozen=True)
class Reply:
    """Text with optional choices; the channel decides how to show them."""

    text: str
    choices: tuple[Choice, ...] = ()
    multi: bool = False            # several choices may be picked at once
    request_contact: bool = False  # offer "share my phone number" where the channel can
    document: Document | None = None
    # Supporters this message names or shows, besides its recipient (a group welcome, a preview's
    # sample): erasing one of them blanks the message (storage/subjects.py).
    about: tuple[int, ...] = ()
    # The language the text is in: a text channel writes its "Reply with a number" lines in it.
    lang: str = "en"

    def to_payload(self) -> str:
        data: dict[str, Any] = {"text": self.text}
        if self.choices:
            data["choices"] = [[c.key, c.label, *([c.url] if c.url else [])] for c in self.choices]
        if self.multi:
            data["multi"] = True
        if self.request_contact:
            data["request_contact"] = True
        if self.document:
            data["document"] = {
                "filename": self.document.filename,
                "mime": self.document.mime,
                "content": base64.b64encode(self.document.content).decode(),
            }
        if self.about:
            data[subjects.KEY] = sorted(set(self.about))
        if self.lang != "en":
            data["lang"] = self.lang
        return json_text(data)

    @classmethod
    def from_payload(cls, payload: str) -> Reply:
        data = parse_json(payload)
        doc = data.get("document")
        return cls(
            text=data["text"],
            choices=tuple(Choice(*choice) for choice in data.get("choices", ())),
            multi=data.get("multi", False),
            request_contact=data.get("request_contact", False),
            document=Document(doc["filename"], base64.b64decode(doc["content"]), doc["mime"]) if doc else None,
            about=tuple(data.get(subjects.KEY, ())),
            lang=data.get("lang", "en"),
        )
