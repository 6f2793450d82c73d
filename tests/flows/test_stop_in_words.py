"""A message that plainly asks to stop gets one question naming STOP: never the menu, never the inbox.

Transcripts: tests/golden/signup/stop_in_words_sms.txt and stop_in_words_telegram.txt.
"""
from __future__ import annotations

from datetime import timedelta

import pytest

from flows.core import keywords
from flows.organiser import inbox
from flows.organiser.access import Actor
from storage import supporters
from tests.flows.events_support import supporter
from tests.harness import Harness

ASKS = [
    "please stop texting me", "Please STOP texting me!!!", "stop texting", "unsubscribe me", "Unsubscribe me, please.",
    "leave me alone", "LEAVE ME ALONE!", "remove me", "Remove me from your list", "no more messages",
    "don't text me again", "I want to stop", "take me off this list", "stop sending me these", "please stop",
    "opt me out", "I don't want these messages",
]
NOT_ASKS = [
    "don't stop texting me", "I'll be at the bus stop", "I can't stop thinking about housing", "what is this",
    "I want to stop the eviction", "Is the rally still on?",
]
QUESTION = "Reply STOP to stop all messages from Muster. Nothing has changed yet."


@pytest.mark.parametrize("text", ASKS)
def test_plain_requests_to_stop_are_read_as_such(text: str) -> None:
    assert keywords.asks_to_stop(text)


@pytest.mark.parametrize("text", NOT_ASKS)
def test_other_messages_are_not(text: str) -> None:
    assert not keywords.asks_to_stop(text)


async def _open_items(h: Harness) -> list:
    async with h.db.transaction() as tx:
        return await inbox.items(tx, Actor(trusted=True), handled_since=h.clock.now() - timedelta(days=1))


@pytest.mark.parametrize("channel, address", [("sms", "+447400000001"), ("telegram", "5001")])
@pytest.mark.parametrize("text", ["please stop texting me", "Unsubscribe me.", "leave me alone", "REMOVE ME"])
async def test_one_question_no_menu_no_inbox_and_no_opt_out_yet(harness: Harness, channel, address, text) -> None:
    await supporter(harness, channel, address)
    replies = await harness.say(channel, address, text)
    assert [m["text"] for m in replies] == [QUESTION] and not replies[0].get("choices")
    assert await _open_items(harness) == []
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, channel, address)
    assert person is not None and person.consent(channel) == "opted_in"  # asked, not yet honoured
    replies = await harness.say(channel, address, "STOP")
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, channel, address)
    assert person is not None and person.consent(channel) == "opted_out" and len(replies) == 1


async def test_mid_sign_up_the_question_comes_and_the_step_waits(harness: Harness) -> None:
    await harness.say("sms", "+447400000009", "JOIN")
    assert await harness.texts("sms", "+447400000009", "please stop texting me") == QUESTION
    assert "postcode" in await harness.texts("sms", "+447400000009", "Sam")


async def test_an_opted_out_supporter_hears_nothing_more(harness: Harness) -> None:
    await supporter(harness, "sms", "+447400000001")
    await harness.say("sms", "+447400000001", "STOP")
    assert await harness.say("sms", "+447400000001", "please stop texting me") == []
    assert await _open_items(harness) == []


async def test_an_ordinary_unknown_message_still_reaches_the_inbox(harness: Harness) -> None:
    await supporter(harness, "sms", "+447400000001")
    assert "didn't understand" in await harness.texts("sms", "+447400000001", "I'll be at the bus stop")
    assert len(await _open_items(harness)) == 1
