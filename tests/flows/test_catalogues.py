"""The gettext catalogues: the template matches the English source, and every translation keeps
the English placeholders and fills every plural form its language needs."""
from __future__ import annotations

import gettext
from io import BytesIO
from string import Formatter

import pytest
from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from flows.core import texts
from flows.core.texts import en, extract

LOCALE = texts.LOCALE_DIR
LANGUAGES = [lang for lang in texts.available() if lang != texts.DEFAULT_LANGUAGE]


def _names(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def _catalogue(path):
    with path.open("rb") as f:
        return read_po(f)


def _source() -> set[tuple[str, str]]:
    with open(en.__file__, "rb") as f:
        return {(messages[0], messages[1]) for _, _, messages, _ in extract.extract_texts(f, None, None, None)}


def test_the_template_holds_every_english_text_as_it_is_now():
    """`make catalogues` was run after the last change to en.py: translators see every text."""
    pot = _catalogue(LOCALE / "muster.pot")
    template = {(m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in pot if m.id}
    assert template == _source(), "run `make catalogues` after changing flows/core/texts/en.py"


def test_there_is_a_welsh_catalogue():
    assert "cy" in LANGUAGES


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_catalogue_is_merged_from_the_template(lang):
    catalogue = _catalogue(LOCALE / lang / "LC_MESSAGES" / "muster.po")
    contexts = {m.context for m in catalogue if m.id}
    template = {m.context for m in _catalogue(LOCALE / "muster.pot") if m.id}
    assert contexts == template, f"run `make catalogues`: {sorted(contexts ^ template)[:5]}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_keep_the_english_placeholders(lang):
    for m in _catalogue(LOCALE / lang / "LC_MESSAGES" / "muster.po"):
        if not m.id or not m.string:
            continue
        english = m.id if isinstance(m.id, str) else m.id[0]
        strings = [m.string] if isinstance(m.string, str) else [s for s in m.string if s]
        for string in strings:
            assert _names(string) == _names(english), f"{lang} {m.context}: {string!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_counted_phrases_have_every_plural_form_the_language_needs(lang):
    catalogue = _catalogue(LOCALE / lang / "LC_MESSAGES" / "muster.po")
    assert catalogue.num_plurals == {"cy": 6}.get(lang, catalogue.num_plurals)
    for m in catalogue:
        if m.pluralizable and any(m.string):
            assert all(m.string) and len(m.string) == catalogue.num_plurals, f"{lang} {m.context}: a form is missing"


def test_welsh_counts_take_the_form_cldr_gives():
    forms = {n: texts.plural("supporter", n, "cy") for n in (0, 1, 2, 3, 6, 7, 1000)}
    assert forms == {0: "0 cefnogwyr", 1: "1 cefnogwr", 2: "2 gefnogwr", 3: "3 chefnogwr",
                     6: "6 chefnogwr", 7: "7 o gefnogwyr", 1000: "1,000 o gefnogwyr"}
    assert Locale.parse("cy").plural_form(6) == "many"
    assert [texts.plural("supporter", n) for n in (0, 1, 2)] == ["0 supporters", "1 supporter", "2 supporters"]


def test_a_text_not_yet_translated_falls_back_to_english_and_a_translated_one_is_welsh():
    assert texts.t("menu.title", "cy") == "Beth hoffech chi ei wneud?"
    # The Welsh catalogue with one entry not yet translated, as a new text is until a translator comes.
    catalogue = _catalogue(LOCALE / "cy" / "LC_MESSAGES" / "muster.po")
    catalogue.get(en.TEXTS["menu.unknown"], context="menu.unknown").string = ""
    compiled = BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    texts.install("cy-draft", Translations(compiled))
    try:
        assert texts.t("menu.unknown", "cy") != en.TEXTS["menu.unknown"]
        assert texts.t("menu.unknown", "cy-draft") == en.TEXTS["menu.unknown"]
        assert texts.t("menu.title", "cy-draft") == "Beth hoffech chi ei wneud?"
    finally:
        texts.install("cy-draft", gettext.NullTranslations())
    assert texts.t("menu.title", "xx") == en.TEXTS["menu.title"]


class _Pseudo(gettext.NullTranslations):
    def pgettext(self, context: str, message: str) -> str:
        return f"⟦{message}⟧"

    def npgettext(self, context: str, singular: str, plural: str, n: int) -> str:
        return f"⟦{singular if n == 1 else plural}⟧"


def test_an_installed_catalogue_is_used_for_its_language():
    """The pseudo-locale: every text reached through the catalogue comes back marked."""
    texts.install("qps", _Pseudo())
    try:
        english = en.TEXTS["consent.stopped.sms"].format(movement="M")
        assert texts.t("consent.stopped.sms", "qps", movement="M") == f"⟦{english}⟧"
        assert texts.plural("person", 2, "qps") == "⟦2 people⟧"
    finally:
        texts._installed.clear()
