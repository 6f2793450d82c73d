"""The message catalogue: every sentence a supporter sees, one module per language."""
from __future__ import annotations

from string import Formatter
from typing import Any

from flows.core.texts import en

CATALOGUES: dict[str, dict[str, str]] = {"en": en.TEXTS}
DEFAULT_LANGUAGE = "en"


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The sentence for `key` in `lang` (falling back to English), with {names} filled in."""
    template = CATALOGUES.get(lang, {}).get(key) or CATALOGUES[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


def placeholders(key: str, lang: str = DEFAULT_LANGUAGE) -> set[str]:
    template = CATALOGUES.get(lang, {}).get(key) or CATALOGUES[DEFAULT_LANGUAGE][key]
    return {name for _, name, _, _ in Formatter().parse(template) if name}
