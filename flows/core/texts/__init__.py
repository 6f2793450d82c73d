"""The message catalogue: every sentence a supporter sees, one module per language."""
from __future__ import annotations

from functools import cache
from string import Formatter
from typing import Any

from babel import Locale

from flows.core.texts import en

CATALOGUES: dict[str, dict[str, str]] = {"en": en.TEXTS}
DEFAULT_LANGUAGE = "en"


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The sentence for `key` in `lang` (falling back to English), with {names} filled in."""
    template = CATALOGUES.get(lang, {}).get(key) or CATALOGUES[DEFAULT_LANGUAGE][key]
    return template.format(**values) if values else template


@cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural(word: str, n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """'3 supporters', '1 supporter': the counted phrase `words.<word>.<form>` for n, where the
    form is the language's CLDR plural category (English: one, other; Welsh has six)."""
    form = _locale(lang).plural_form(n)
    catalogue = CATALOGUES.get(lang, {})
    base = CATALOGUES[DEFAULT_LANGUAGE]
    key = f"words.{word}."
    template = catalogue.get(key + form) or catalogue.get(key + "other") or base.get(key + form) or base[key + "other"]
    return template.format(n=f"{n:,}")


def placeholders(key: str, lang: str = DEFAULT_LANGUAGE) -> set[str]:
    template = CATALOGUES.get(lang, {}).get(key) or CATALOGUES[DEFAULT_LANGUAGE][key]
    return {name for _, name, _, _ in Formatter().parse(template) if name}
