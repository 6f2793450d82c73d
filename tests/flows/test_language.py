"""Choosing a language: CYMRAEG and ENGLISH at any time, stored and used from then on."""
from __future__ import annotations

import pytest

from storage import supporters

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
