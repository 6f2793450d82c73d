"""The fake Telegram Bot API, exercised through real python-telegram-bot."""

from __future__ import annotations

import asyncio
import datetime as dtm
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, Conflict, Forbidden, RetryAfter
from telegram.ext import ApplicationBuilder, CommandHandler, ContextTypes

from tests.fakes.telegram_api import BOT_ID, BOT_USERNAME, FakeTelegramAPI, UploadedFile

TOKEN = "123456:TEST-token"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as fake:
        yield fake


@pytest.fixture
def tg(server: FakeTelegramAPI) -> FakeTelegramAPI:
    server.reset()
    return server


@pytest_asyncio.fixture  # explicit, so this also works under asyncio_mode=strict
async def bot(tg: FakeTelegramAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url) as bot:
        yield bot


def _message_update(chat_id: int, text: str) -> dict[str, Any]:
    return {
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "Ada"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "Ada"},
            "text": text,
        }
    }


@pytest.mark.asyncio
async def test_get_me(bot: Bot, tg: FakeTelegramAPI) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.is_bot) == (BOT_ID, BOT_USERNAME, True)
    assert bot.base_url == f"{tg.base_url}{TOKEN}"
    assert len(tg.calls_of("getMe")) == 2  # once by Bot.initialize(), once explicitly


@pytest.mark.asyncio
async def test_send_message_records_decoded_inline_keyboard(bot: Bot, tg: FakeTelegramAPI) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="rsvp:yes")]])
    first = await bot.send_message(42, "Coming on Saturday?", reply_markup=keyboard)
    second = await bot.send_message(-100777, "Group hello")

    assert first.chat.id == 42 and first.text == "Coming on Saturday?"
    assert first.reply_markup == keyboard
    assert second.message_id == first.message_id + 1
    [sent] = tg.sent_messages(chat_id=42)
    assert sent["chat_id"] == 42
    assert sent["text"] == "Coming on Saturday?"
    assert sent["reply_markup"] == {
        "inline_keyboard": [[{"text": "Yes", "callback_data": "rsvp:yes"}]]
    }
    assert len(tg.sent_messages()) == 2


@pytest.mark.asyncio
async def test_edits_callbacks_members_and_actions_parse(bot: Bot, tg: FakeTelegramAPI) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    msg = await bot.send_message(42, "Coming?", reply_markup=keyboard)

    edited = await bot.edit_message_text("Thanks!", chat_id=42, message_id=msg.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Thanks!" and edited.reply_markup is None  # keyboard dropped, as on TG
    await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(42, msg.message_id, reply_markup=keyboard)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await bot.edit_message_text("x", chat_id=42, message_id=9999)

    assert await bot.answer_callback_query("cbq-1", text="Noted")
    assert await bot.send_chat_action(42, "typing")

    tg.set_chat_admins(-100777, [7, 8])
    admins = await bot.get_chat_administrators(-100777)
    assert [a.user.id for a in admins] == [7, 8]
    assert (await bot.get_chat_member(-100777, 8)).status == "administrator"
    assert (await bot.get_chat_member(-100777, 9)).status == "member"
    assert tg.calls_of("answerCallbackQuery") == [{"callback_query_id": "cbq-1", "text": "Noted"}]


@pytest.mark.asyncio
async def test_get_updates_serves_pushed_updates_and_honours_offset(
    bot: Bot, tg: FakeTelegramAPI
) -> None:
    for text in ("/start", "hello", "bye"):
        tg.push_update(_message_update(42, text))

    updates = await bot.get_updates()
    assert [u.update_id for u in updates] == [1, 2, 3]
    assert updates[0].message is not None and updates[0].message.text == "/start"

    assert [u.update_id for u in await bot.get_updates(offset=2, limit=1)] == [2]
    # Offset 2 confirmed update 1 for good.
    assert [u.update_id for u in await bot.get_updates()] == [2, 3]
    assert await bot.get_updates(offset=4) == ()
    assert tg.calls_of("getUpdates")[-1] == {"offset": 4}


@pytest.mark.asyncio
async def test_get_updates_long_poll_returns_early_on_push(bot: Bot, tg: FakeTelegramAPI) -> None:
    timer = threading.Timer(0.2, tg.push_update, args=(_message_update(42, "late"),))
    timer.start()
    started = time.monotonic()
    updates = await bot.get_updates(timeout=5)
    assert 0.15 < time.monotonic() - started < 2
    assert [u.message.text for u in updates if u.message] == ["late"]

    # With nothing to serve it waits out the timeout (PTB sends timedelta(0.3) as 0.3).
    started = time.monotonic()
    next_offset = updates[-1].update_id + 1
    assert await bot.get_updates(next_offset, timeout=dtm.timedelta(seconds=0.3)) == ()
    assert time.monotonic() - started >= 0.25


# PTB 22 warns that RetryAfter.retry_after will become a timedelta (unless PTB_TIMEDELTA=1).
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
@pytest.mark.asyncio
async def test_fail_next_429_raises_retry_after(bot: Bot, tg: FakeTelegramAPI) -> None:
    tg.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter) as excinfo:
        await bot.send_message(42, "hi")
    assert excinfo.value.retry_after in (3, dtm.timedelta(seconds=3))

    await bot.send_message(42, "hi again")  # only the next call fails
    assert [m["text"] for m in tg.sent_messages(42)] == ["hi again"]
    assert tg.failed_calls == [("sendMessage", {"chat_id": 42, "text": "hi"}, 429)]


@pytest.mark.asyncio
async def test_fail_next_403_raises_forbidden(bot: Bot, tg: FakeTelegramAPI) -> None:
    tg.fail_next("sendMessage", status=403, times=2)
    for _ in range(2):
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(42, "hi")
    tg.fail_next("sendMessage", status=400)
    with pytest.raises(BadRequest):
        await bot.send_message(42, "hi")
    assert tg.sent_messages() == []


@pytest.mark.asyncio
async def test_send_document_records_uploaded_bytes(bot: Bot, tg: FakeTelegramAPI) -> None:
    payload = b"name,phone\r\nAda,+441234\r\n\x00\xff--not-a-boundary\r\n"
    msg = await bot.send_document(42, payload, filename="export.csv", caption="Weekly export")

    [params] = tg.calls_of("sendDocument")
    assert params["chat_id"] == 42 and params["caption"] == "Weekly export"
    assert params["document"] == UploadedFile("export.csv", payload, "text/csv")
    assert msg.document is not None
    assert (msg.document.file_name, msg.document.file_size) == ("export.csv", len(payload))


@pytest.mark.asyncio
async def test_webhook_records_secret_and_allowed_updates(bot: Bot, tg: FakeTelegramAPI) -> None:
    url = "https://muster.example.org/telegram"
    assert await bot.set_webhook(
        url, secret_token="s3cr3t_Token", allowed_updates=["message", "callback_query"]
    )
    assert tg.webhook["url"] == url
    assert tg.webhook["secret_token"] == "s3cr3t_Token"
    assert tg.webhook["allowed_updates"] == ["message", "callback_query"]
    info = await bot.get_webhook_info()
    assert info.url == url and info.allowed_updates == ("message", "callback_query")
    with pytest.raises(Conflict):
        await bot.get_updates()

    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


@pytest.mark.asyncio
async def test_application_polling_end_to_end(tg: FakeTelegramAPI) -> None:
    replied = asyncio.Event()

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("Welcome to Muster")
        replied.set()

    app = ApplicationBuilder().token(TOKEN).base_url(tg.base_url).build()
    app.add_handler(CommandHandler("start", start))
    update = _message_update(42, "/start")
    update["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    tg.push_update(update)
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        await app.start()
        await asyncio.wait_for(replied.wait(), 3)
        await app.updater.stop()
        await app.stop()
    assert [m["text"] for m in tg.sent_messages(42)] == ["Welcome to Muster"]


def test_unknown_method_is_404_and_sync_usable() -> None:
    with FakeTelegramAPI() as tg:
        response = httpx.post(f"{tg.base_url}{TOKEN}/sendCarrierPigeon", data={"chat_id": "1"})
        ok = httpx.post(f"{tg.base_url}{TOKEN}/sendMessage", data={"chat_id": "5", "text": "x"})
    assert response.status_code == 404
    assert response.json() == {
        "ok": False, "error_code": 404, "description": "Not Found: method not found"
    }
    assert ok.json()["result"]["chat"] == {"id": 5, "type": "private", "first_name": "User5"}
    assert tg.calls == [("sendMessage", {"chat_id": 5, "text": "x"})]
