"""A Welsh speaker's side: the consent question's Welsh version id, Welsh yes and no, the language
question a Welsh postcode brings, MYDATA's language line, dates in Welsh, and GWNEUD for DONE."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flows.supporter.signup import CONSENT_WORDINGS
from flows.values import dates, postcodes, wales
from storage import supporters
from tests.harness import Harness

PHONE = "+447400123458"


async def _wording(h: Harness) -> str:
    async with h.db.transaction() as tx:
        return await tx.scalar("SELECT wording_version FROM consent_log ORDER BY id DESC LIMIT 1")


@pytest.mark.parametrize("answer", ["Ie", "OES", "cewch", "Ydw!"])
async def test_a_welsh_yes_opts_in_and_records_the_welsh_wording(harness: Harness, answer: str) -> None:
    await harness.say("sms", PHONE, "CYMRAEG")
    for text in ("JOIN", "Siân", "skip", "skip", "skip"):
        said = await harness.texts("sms", PHONE, text)
    assert "Rhowch" not in said and "Last question" not in said  # the question is in Welsh
    await harness.say("sms", PHONE, answer)
    assert await _wording(harness) == CONSENT_WORDINGS["cy"]


@pytest.mark.parametrize("answer", ["Na", "nac oes", "NA CHEWCH", "naddo"])
async def test_a_welsh_no_records_nothing(harness: Harness, answer: str) -> None:
    await harness.say("sms", PHONE, "CYMRAEG")
    for text in ("JOIN", "Siân", "skip", "skip", "skip"):
        await harness.say("sms", PHONE, text)
    welcome = await harness.texts("sms", PHONE, answer)
    assert "Fyddwn ni ddim yn anfon negeseuon ymgyrchu" in welcome
    assert await _wording(harness) is None


async def test_the_english_question_keeps_the_english_version(harness: Harness) -> None:
    for text in ("JOIN", "Sam", "skip", "skip", "skip", "yes"):
        await harness.say("sms", PHONE, text)
    assert await _wording(harness) == CONSENT_WORDINGS["en"]


@pytest.mark.parametrize(("code", "welsh"), [("CF10 1AA", True), ("LL55 1AA", True), ("SY23 1AA", True),
                                             ("CH5 1AA", True), ("HR3 5AA", True), ("SY1 1AA", False),
                                             ("CH1 1AA", False), ("HR1 1AA", False), ("M1 1AE", False)])
def test_which_postcodes_count_as_welsh(code: str, welsh: bool) -> None:
    found = postcodes.parse(code)
    assert found is not None and wales.in_wales(found) is welsh


async def test_a_welsh_postcode_is_asked_its_language_in_both(harness: Harness) -> None:
    for text in ("JOIN", "Siân"):
        await harness.say("sms", PHONE, text)
    asked = await harness.texts("sms", PHONE, "CF10 1AA")
    assert asked.index("Hoffech chi barhau yn Gymraeg") < asked.index("Would you like to carry on in Welsh")
    chosen = await harness.texts("sms", PHONE, "CYMRAEG")
    assert chosen.startswith("Iawn, byddaf yn ysgrifennu atoch chi yn Gymraeg") and "Tai a rhenti" in chosen
    async with harness.db.transaction() as tx:
        assert (await supporters.find(tx, "sms", PHONE)).language == "cy"


async def test_an_english_postcode_or_a_known_language_is_not_asked(harness: Harness) -> None:
    for text in ("JOIN", "Sam"):
        await harness.say("sms", PHONE, text)
    assert "Cymraeg" not in await harness.texts("sms", PHONE, "M1 1AE")
    await harness.say("telegram", "91", "MENU", language="cy")
    for text in ("/join", "Siân"):
        await harness.say("telegram", "91", text)
    assert "Would you like" not in await harness.texts("telegram", "91", "CF10 1AA")


async def test_mydata_shows_the_language(harness: Harness) -> None:
    await harness.say("sms", PHONE, "MENU")
    assert "Language: English" in await harness.texts("sms", PHONE, "MYDATA")
    await harness.say("sms", PHONE, "CYMRAEG")
    assert "Cymraeg" in await harness.texts("sms", PHONE, "MYDATA")


def test_dates_in_welsh_and_english_as_before() -> None:
    moment = datetime(2026, 12, 5, 19, 0, tzinfo=UTC)
    assert dates.full(moment) == "Saturday 5 December 2026, 19:00"
    assert dates.short(moment) == "Sat 5 Dec 19:00"
    assert dates.full(moment, lang="cy") == "Dydd Sadwrn 5 Rhagfyr 2026, 19:00"
    assert dates.short(moment, lang="cy") == "Sad 5 Rhag 19:00"
    assert dates.day(moment, lang="cy") == "5 Rhag 2026"


@pytest.mark.parametrize("word", ["GWNEUD", "wedi gwneud", "Gwnes i", "METHU"])
async def test_welsh_done_and_cant_are_alert_answers(harness: Harness, word: str) -> None:
    await harness.say("sms", PHONE, "CYMRAEG")
    assert (await harness.texts("sms", PHONE, word)).startswith("Diolch! Does dim galwad i weithredu")
