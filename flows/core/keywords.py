"""How a supporter's text is read as a keyword: any case, stray punctuation and spaces ignored."""
from __future__ import annotations

import re

_PUNCTUATION = re.compile(r"[^\w\s/]", re.UNICODE)
_SPACES = re.compile(r"\s+")


def normalise(text: str) -> str:
    """'  stop! ' → 'STOP'; 'Opt-out' → 'OPTOUT'; '/start@muster_bot x' → '/START X'."""
    text = re.sub(r"^(/\w+)@\w+", r"\1", text.strip())
    text = _PUNCTUATION.sub("", text)
    return _SPACES.sub(" ", text).strip().upper()


def split(text: str) -> tuple[str, str]:
    """The first word as a keyword, and the rest of the original text as its argument."""
    stripped = re.sub(r"^(/\w+)@\w+", r"\1", text.strip())
    head, _, rest = stripped.partition(" ")
    return normalise(head), rest.strip()
