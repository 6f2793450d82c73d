"""The message catalogue: every sentence a supporter sees, in each language.

English is the source (`en.py`, keys dotted by flow). Every other language is a gettext
catalogue, `locale/<lang>/LC_MESSAGES/muster.po`, whose entries carry the key as their context
(msgctxt) and the English as their msgid, so translators work in the usual tools (Poedit,
Weblate) and a missing translation falls back to English. `make catalogues` extracts
`locale/muster.pot` from `en.py` and merges it into every `.po` (Babel).
"""
from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path
from string import Formatter
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from flows.core.texts import en

DEFAULT_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).with_name("locale")
# Languages with a catalogue, by code, with their names in their own words (for choosing one).
LANGUAGE_NAMES: dict[str, str] = {"en": "English", "cy": "Cymraeg"}

_installed: dict[tuple[str, str], gettext.NullTranslations] = {}


def available() -> list[str]:
    """English and every language with a catalogue for the supporter texts."""
    return [DEFAULT_LANGUAGE, *sorted(p.parent.parent.name for p in LOCALE_DIR.glob("*/LC_MESSAGES/muster.po"))]


@cache
def _load(lang: str, domain: str) -> gettext.NullTranslations:
    path = LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"
    if lang == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang, domain=domain)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled, domain=domain)


def translations(lang: str, domain: str = "muster") -> gettext.NullTranslations:
    """The compiled catalogue for a language (English, or an unknown language: the identity)."""
    return _installed.get((lang, domain)) or _load(lang, domain)


def install(lang: str, catalogue: gettext.NullTranslations, domain: str = "muster") -> None:
    """Use `catalogue` for `lang` from now on (a pseudo-locale in tests, a catalogue being edited)."""
    _installed[(lang, domain)] = catalogue


def template(key: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The unfilled sentence for `key` in `lang`, English where the catalogue has none."""
    english = en.TEXTS[key]
    return english if lang == DEFAULT_LANGUAGE else translations(lang).pgettext(key, english)


def t(key: str, lang: str = DEFAULT_LANGUAGE, **values: Any) -> str:
    """The sentence for `key` in `lang` (falling back to English), with {names} filled in."""
    text = template(key, lang)
    return text.format(**values) if values else text


def has(key: str) -> bool:
    return key in en.TEXTS


def plural(word: str, n: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """'3 supporters', '1 supporter': the counted phrase `words.<word>` for n, in the form the
    language's plural rule picks (English has two; Welsh six: zero, one, two, few, many, other)."""
    one, other = en.TEXTS[f"words.{word}.one"], en.TEXTS[f"words.{word}.other"]
    return translations(lang).npgettext(f"words.{word}", one, other, n).format(n=f"{n:,}")


def placeholders(key: str, lang: str = DEFAULT_LANGUAGE) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template(key, lang)) if name}
