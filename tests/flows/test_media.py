"""A picture with no words: the supporter is told we only read text, whatever they were doing."""
from __future__ import annotations


async def test_picture_only_message_is_answered_kindly(harness) -> None:
    replies = await harness.say("sms", "+447700900123", "", kind="media", num_media=2)
    assert len(replies) == 1 and "only read text" in replies[0]["text"]


async def test_media_reply_keeps_the_conversation_where_it_was(harness) -> None:
    menu = await harness.texts("sms", "+447700900123", "MENU")
    await harness.say("sms", "+447700900123", "", kind="media", num_media=1)
    again = await harness.texts("sms", "+447700900123", "1")
    assert "What would you like to do?" in menu
    assert "only read text" not in again and "didn't understand" not in again  # "1" still picks from the menu
