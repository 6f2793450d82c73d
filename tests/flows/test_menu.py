"""One menu and one help, the same words on both channels (the transcripts are tests/golden/signup/menu_*.txt)."""
from __future__ import annotations

import pytest

from flows.supporter import menu
from tests.flows import events_support as es

ADDRESS = {"sms": "+447400000001", "telegram": "5001"}


def _keys(reply: dict) -> list[str]:
    return [c["key"] for c in reply.get("choices", [])]


@pytest.mark.parametrize("channel", ["sms", "telegram"])
async def test_an_active_supporters_menu_has_their_keywords_and_no_join(harness, channel) -> None:
    await es.supporter(harness, channel, ADDRESS[channel])
    replies = await harness.say(channel, ADDRESS[channel], "/menu" if channel == "telegram" else "MENU")
    if channel == "telegram":
        assert _keys(replies[0]) == ["menu:events", "menu:myevents", "menu:mydata", "menu:delete", "menu:help"]
    else:  # numbered in the text
        assert replies[0]["text"].endswith(
            "1 Events near me\n2 My events\n3 My data\n4 Delete my data\n5 Help")
    assert "Join" not in replies[0]["text"] + str(replies[0].get("choices"))


async def test_someone_not_signed_up_gets_the_same_numbers_then_join(harness) -> None:
    replies = await harness.say("telegram", "777", "MENU")
    assert _keys(replies[0]) == [key for key, _ in menu.ENTRIES] + ["menu:join"]


async def test_the_numbers_mean_the_same_in_every_menu(harness) -> None:
    """MENU, the fallback's menu and JOIN's "update my details" menu share their first five entries."""
    await es.supporter(harness, "telegram", "5001", name="Sam")
    menus = [_keys((await harness.say("telegram", "5001", text))[-1]) for text in ("MENU", "what is this", "JOIN")]
    assert menus[0] == menus[1] == menus[2][:5]
    assert menus[2][5:] == ["join:update"]


@pytest.mark.parametrize("key, keyword", [
    ("menu:events", "EVENTS"), ("menu:myevents", "MYEVENTS"), ("menu:mydata", "MYDATA"),
    ("menu:delete", "DELETE"), ("menu:help", "HELP"),
])
async def test_each_menu_entry_answers_as_its_keyword(harness, key, keyword) -> None:
    await es.make_event(harness, "Housing rally")
    await es.supporter(harness, "telegram", "5001", name="Sam")
    await harness.say("telegram", "5001", "MENU")
    pressed = [m["text"] for m in await harness.say("telegram", "5001", choice=key)]
    await harness.say("telegram", "5001", "MENU")  # leave the DELETE question, if one was asked
    typed = [m["text"] for m in await harness.say("telegram", "5001", keyword)]
    assert pressed == typed


async def test_help_is_the_same_words_on_both_channels(harness) -> None:
    sms = await harness.texts("sms", "+447400000001", "HELP")
    assert sms == await harness.texts("telegram", "5001", "HELP") == await harness.texts("telegram", "5001", "/help")
    for word in ("MENU", "EVENTS", "MYEVENTS", "MYDATA", "DELETE", "STOP", "START", "Privacy notice"):
        assert word in sms


@pytest.mark.parametrize("channel", ["sms", "telegram"])
async def test_rsvp_answers_with_the_events_to_rsvp_to(harness, channel) -> None:
    await es.make_event(harness, "Housing rally")
    await es.supporter(harness, channel, ADDRESS[channel])
    rsvp = [(m["text"], m.get("choices")) for m in await harness.say(channel, ADDRESS[channel], "rsvp")]
    events = [(m["text"], m.get("choices")) for m in await harness.say(channel, ADDRESS[channel], "EVENTS")]
    assert rsvp == events and "Housing rally" in str(rsvp)


async def test_sign_up_says_the_same_way_to_leave_on_both_channels(harness) -> None:
    sms = await harness.texts("sms", "+447400000001", "JOIN")
    telegram = await harness.texts("telegram", "5001", "/start")
    assert sms == telegram and "MENU" in sms and "CANCEL" not in sms
