"""Showing a Reply on a text-only channel: choices become numbered lines."""
from __future__ import annotations

from flows.core.texts import t
from flows.core.types import Reply


def as_text(reply: Reply, lang: str | None = None) -> str:
    """The reply as one text; its numbered lines' heading in `lang`, else in the reply's own language."""
    if not reply.choices:
        return reply.text
    header = t("render.reply_many" if reply.multi else "render.reply_one", lang or reply.lang)
    lines = [f"{n} {choice.label}" + (f": {choice.url}" if choice.url else "")
             for n, choice in enumerate(reply.choices, 1)]
    return "\n".join([reply.text, "", header, *lines])
