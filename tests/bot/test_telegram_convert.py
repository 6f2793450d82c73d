"""Telegram updates → Inbound: what is acted on, what is ignored, and every collected payload."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from telegram import Bot, Update

from bot.channels.telegram import convert
from flows.core.clock import FakeClock
from tests.bot import telegram_updates as tu

FIXTURES = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "telegram" / "updates"
USERNAME = "muster_test_bot"


def _convert(data: dict):
    return convert(Update.de_json(data, Bot("1:x")), USERNAME, FakeClock())


def test_private_text_and_command_with_payload():
    message = _convert(tu.message("Hello there"))
    assert (message.channel, message.address, message.text, message.kind) == (
        "telegram", str(tu.USER), "Hello there", "message")
    assert message.provider_id.startswith("tg:")
    assert _convert(tu.message("/start g_12")).text == "/start g_12"


def test_callback_query_becomes_a_choice():
    message = _convert(tu.callback("menu:help"))
    assert (message.address, message.choice, message.text) == (str(tu.USER), "menu:help", "")


def test_contact_share():
    message = _convert(tu.contact("447700900123"))
    assert message.kind == "contact"
    assert message.extra == {"phone": "447700900123", "contact_user_id": tu.USER}


def test_media_without_text_and_service_messages():
    assert _convert(tu.message(sticker={"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1,
                                        "is_animated": False, "is_video": False, "type": "regular"})).kind == "media"
    assert _convert(tu.message(photo=[], caption="my placard")).text == "my placard"
    pinned = {"message_id": 1, "date": 0, "chat": {"id": 0, "type": "private"}}
    assert _convert(tu.message(pinned_message=pinned)) is None


@pytest.mark.parametrize(("old", "new", "kind"), [
    ("member", "kicked", "blocked"), ("kicked", "member", "unblocked"), ("member", "member", None),
])
def test_private_block_and_unblock(old, new, kind):
    message = _convert(tu.my_chat_member(old, new))
    assert (message.kind if message else None) == kind


@pytest.mark.parametrize(("old", "new", "kind"), [
    ("left", "member", "group_added"), ("left", "administrator", "group_added"),
    ("member", "left", "group_removed"), ("administrator", "kicked", "group_removed"),
    ("member", "administrator", None),
])
def test_bot_added_to_and_removed_from_groups(old, new, kind):
    message = _convert(tu.my_chat_member(old, new, chat_id=tu.GROUP, by=77))
    assert (message.kind if message else None) == kind
    if message:
        assert message.address == "77"
        assert message.extra == {"chat_id": tu.GROUP, "title": "Leeds supporters"}


def test_group_member_joins():
    message = _convert(tu.chat_member("left", "member", user_id=55))
    assert (message.kind, message.address, message.extra["chat_id"]) == ("group_join", "55", tu.GROUP)
    assert _convert(tu.chat_member("member", "left", user_id=55)) is None


@pytest.mark.parametrize(("text", "command"), [
    ("/join", "join"), ("/linkgroup Leeds", "linkgroup"), (f"/join@{USERNAME}", "join"),
    (f"/help@{USERNAME}", "help"), ("hello everyone", None), ("/help", None), ("/join@other_bot", None),
])
def test_group_messages_only_commands_for_us(text, command):
    message = _convert(tu.message(text, chat_id=tu.GROUP, user_id=55))
    assert (message.extra["command"] if message else None) == command
    if message:
        assert (message.kind, message.address) == ("group_command", "55")
        assert "@" not in message.text


def test_group_upgraded_to_supergroup():
    update = tu.message(chat_id=-4000, user_id=55, migrate_to_chat_id=-1004000)
    update["message"]["chat"] = {"id": -4000, "type": "group", "title": "Leeds"}
    message = _convert(update)
    assert (message.kind, message.extra["chat_id"], message.extra["new_chat_id"]) == ("group_migrated", -4000, -1004000)


def test_group_button_presses_are_ignored():
    sent = {"message_id": 3, "date": 0, "chat": {"id": tu.GROUP, "type": "supergroup", "title": "x"}, "text": "x"}
    assert _convert(tu.callback("menu:help", sent)) is None


def _fixtures() -> list[Path]:
    return sorted(FIXTURES.glob("*.json")) if FIXTURES.is_dir() else []


def _as_update(path: Path) -> dict:
    data = json.loads(path.read_text())
    if "update_id" in data:
        return data
    kind = "callback_query" if "callback_query" in path.name else "message"  # bare objects: wrap them
    return {"update_id": 1, kind: data}


@pytest.mark.skipif(not _fixtures(), reason=f"shared Telegram fixtures not found at {FIXTURES}")
@pytest.mark.parametrize("path", _fixtures(), ids=lambda p: p.stem)
def test_every_collected_update_converts_or_is_ignored(path):
    message = _convert(_as_update(path))
    assert message is None or (message.channel == "telegram" and message.address and message.provider_id)


def test_the_app_language_comes_with_a_private_message():
    data = tu.message("Helo")
    data["message"]["from"]["language_code"] = "cy-GB"
    assert _convert(data).extra == {"language": "cy"}
    assert _convert(tu.message("Hello")).extra == {"language": "en"}
