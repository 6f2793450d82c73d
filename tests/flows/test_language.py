"""Choosing a language: CYMRAEG and ENGLISH at any time, stored and used from then on."""
from __future__ import annotations

import pytest

from flows.core.settings import FlowSettings
from storage import supporters
from tests.harness import Harness

PHONE = "+447400123457"


async def _language(h, channel: str, address: str) -> str:
    async with h.db.transaction() as tx:
        return (await supporters.find(tx, channel, address)).language


@pytest.mark.parametrize("word", ["CYMRAEG", "cymraeg!", "/cymraeg", "Welsh"])
async def test_cymraeg_chooses_welsh_and_the_menu_follows(harness, word) -> None:
    await harness.say("sms", PHONE, "MENU")
    answer = await harness.say("sms", PHONE, word)
    assert answer[0]["text"].startswith("Iawn, byddaf yn ysgrifennu atoch chi yn Gymraeg")
    assert await _language(harness, "sms", PHONE) == "cy"
    menu = await harness.say("sms", PHONE, "MENU")
    assert "Beth hoffech chi ei wneud?" in menu[0]["text"]


async def test_english_chooses_english_again(harness) -> None:
    await harness.say("telegram", "71", "CYMRAEG")
    answer = await harness.say("telegram", "71", "/english")
    assert answer[0]["text"].startswith("OK, I'll write to you in English")
    assert await _language(harness, "telegram", "71") == "en"
    menu = await harness.say("telegram", "71", "MENU")
    assert "What would you like to do?" in menu[0]["text"]


async def test_stop_in_a_welsh_conversation_is_answered_in_welsh(harness) -> None:
    for text in ("JOIN", "Sam", "skip", "skip", "skip", "yes", "CYMRAEG"):
        await harness.say("sms", PHONE, text)
    stopped = await harness.say("sms", PHONE, "STOP")
    assert stopped[0]["text"].startswith("Fyddwch chi ddim yn cael rhagor o negeseuon testun")


async def _welsh_supporter(h) -> None:
    for text in ("JOIN", "Sam", "skip", "skip", "skip", "yes", "CYMRAEG"):
        await h.say("sms", PHONE, text)


async def _sms_consent(h) -> str:
    async with h.db.transaction() as tx:
        return (await supporters.find(tx, "sms", PHONE)).sms_consent


@pytest.mark.parametrize("word", ["STOPIO", "stopio", "Dad-danysgrifio", "dad danysgrifio", "DIWEDD"])
async def test_welsh_opt_out_words_stop_messages_with_a_welsh_confirmation(harness, word) -> None:
    await _welsh_supporter(harness)
    stopped = await harness.say("sms", PHONE, word)
    assert len(stopped) == 1 and stopped[0]["text"].startswith("Fyddwch chi ddim yn cael rhagor")
    assert await _sms_consent(harness) == "opted_out"
    assert await harness.say("sms", PHONE, "MENU") == []


@pytest.mark.parametrize("word", ["DECHRAU", "ail-ddechrau"])
async def test_welsh_opt_in_words_start_messages_again(harness, word) -> None:
    await _welsh_supporter(harness)
    await harness.say("sms", PHONE, "STOPIO")
    started = await harness.say("sms", PHONE, word)
    assert started[0]["text"].startswith("Croeso'n ôl!")
    assert await _sms_consent(harness) == "opted_in"


async def test_cymorth_is_help(harness) -> None:
    assert "https://example.org/privacy" in await harness.texts("sms", PHONE, "cymorth")


async def test_with_twilio_advanced_opt_out_the_welsh_words_are_still_answered_here(tmp_path, clock) -> None:
    """Twilio answers only its English keywords; STOPIO reaches us and must be confirmed by us."""
    h = await Harness.create(tmp_path, settings=FlowSettings(twilio_advanced_opt_out=True), clock=clock)
    try:
        await _welsh_supporter(h)
        assert await h.say("sms", PHONE, "STOP") == []
        assert (await h.say("sms", PHONE, "DECHRAU"))[0]["text"].startswith("Croeso'n ôl!")
        assert (await h.say("sms", PHONE, "STOPIO"))[0]["text"].startswith("Fyddwch chi ddim")
        assert await _sms_consent(h) == "opted_out"
    finally:
        await h.close()


async def test_someone_new_whose_telegram_speaks_welsh_starts_in_welsh(harness) -> None:
    menu = await harness.say("telegram", "81", "MENU", language="cy")
    assert "Beth hoffech chi ei wneud?" in menu[0]["text"]
    assert await _language(harness, "telegram", "81") == "cy"


async def test_a_supporter_already_known_keeps_their_choice_whatever_the_app_says(harness) -> None:
    await harness.say("telegram", "82", "MENU", language="en")
    await harness.say("telegram", "82", "CYMRAEG", language="en")
    menu = await harness.say("telegram", "82", "MENU", language="en")
    assert "Beth hoffech chi ei wneud?" in menu[0]["text"]
    await harness.say("telegram", "83", "MENU", language="fr")  # no catalogue: English
    assert await _language(harness, "telegram", "83") == "en"


async def test_a_welsh_speaker_signs_up_in_welsh(harness) -> None:
    """CYMRAEG, then JOIN by SMS: every question and the welcome in Welsh."""
    await harness.say("sms", PHONE, "CYMRAEG")
    said = [await harness.texts("sms", PHONE, text) for text in ("JOIN", "Siân", "skip", "skip", "skip")]
    assert "Croeso i Muster!" in said[0] and "Beth yw eich enw cyntaf?" in said[0]
    assert said[1].startswith("Diolch, Siân. Beth yw eich cod post?")
    assert "Pa rai o'r rhain sy'n bwysig i chi?" in said[2] and "Tai a rhenti" in said[2]
    assert "Beth yw eich cyfeiriad e-bost?" in said[3]
    welcome = await harness.texts("sms", PHONE, "yes")
    assert "Rydych chi wedi ymuno, Siân. Croeso i Muster!" in welcome


async def test_done_and_events_answer_a_welsh_speaker_in_welsh(harness) -> None:
    await harness.say("sms", PHONE, "CYMRAEG")
    assert (await harness.texts("sms", PHONE, "DONE")).startswith("Diolch! Does dim galwad i weithredu")
    assert (await harness.texts("sms", PHONE, "EVENTS")).startswith("Does dim digwyddiadau ar y gweill")
