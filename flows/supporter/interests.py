"""The configured interest topics a supporter can pick at sign-up, and their labels."""
from __future__ import annotations

import re

from flows.core.context import Context
from flows.core.texts import has, t


def label(ctx: Context, key: str) -> str:
    """The catalogue's label for a topic; a topic configured without one shows its key in words."""
    return label_in(ctx.supporter.language, key)


def label_in(language: str, key: str) -> str:
    """A topic's label in a language (English when that catalogue has none)."""
    text_key = f"signup.interest.{key}"
    return t(text_key, language) if has(text_key) else key.replace("_", " ").capitalize()


def configured(ctx: Context) -> list[str]:
    return list(ctx.settings.interests)


def by_words(ctx: Context, text: str) -> list[str]:
    """Topics named in words ('housing, elections'); empty unless every part names one."""
    parts = [p.strip().lower() for p in re.split(r",|;|\band\b|&|\n", text) if p.strip()]
    if not parts:
        return []
    found = []
    for part in parts:
        match = [k for k in configured(ctx) if label(ctx, k).lower().startswith(part) or k == part]
        if len(match) != 1:
            return []
        found.append(match[0])
    return list(dict.fromkeys(found))
