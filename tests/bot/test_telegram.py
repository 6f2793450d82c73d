"""The Telegram channel end to end: the real service and PTB application against a fake Bot API server."""
from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from bot.channels.telegram import TelegramChannel
from bot.config import load
from bot.service import Service
from flows.core.clock import FakeClock
from flows.core.types import Reply
from storage import groups, organisers, outbox
from tests.bot import telegram_updates as tu
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "123456:TEST-token"
SECRET = "s3cret-Token_1"
HOOK = "https://bot.example.org/telegram/webhook"
SALT = "0123456789abcdef0123"


@pytest.fixture(scope="module")
def api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as server:
        yield server


@pytest.fixture
def tg(api: FakeTelegramAPI) -> FakeTelegramAPI:
    api.reset()
    return api


async def _no_sleep(seconds: float) -> None:
    return None


async def _running(tmp_path, tg: FakeTelegramAPI, clock: FakeClock, **overrides: Any) -> Service:
    settings = load(db_path=tmp_path / "muster.db", telegram_bot_token=TOKEN, telegram_api_base_url=tg.base_url,
                    erasure_salt=SALT,
                    demo=False, telegram_poll_timeout=1, **overrides)
    service = Service(settings, clock)
    service.scheduler.start = lambda: None  # due-work sweeps are not under test here
    await service.start()
    service.dispatcher.sleep = _no_sleep  # pacing waits are in fake-clock seconds
    return service


@pytest.fixture
async def hooked(tmp_path, tg, clock) -> AsyncIterator[Service]:
    service = await _running(tmp_path, tg, clock, telegram_webhook_url=HOOK, telegram_webhook_secret=SECRET)
    yield service
    await _stop(service)


@pytest.fixture
async def polling(tmp_path, tg, clock) -> AsyncIterator[Service]:
    service = await _running(tmp_path, tg, clock)
    yield service
    await _stop(service)


async def _stop(service: Service) -> None:
    try:
        await asyncio.wait_for(service.stop(), 5)
    except TimeoutError:
        for task in asyncio.all_tasks():
            task.print_stack()
        raise


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Wait for the service's own tasks to get somewhere (real HTTP to the fake server)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := predicate()):
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting for the bot")
        await asyncio.sleep(0.01)
    return result


async def post(
    service: Service, update: dict, secret: str | None = SECRET, body: bytes | None = None,
) -> httpx.Response:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    transport = httpx.ASGITransport(app=service.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bot.example.org") as client:
        if body is not None:
            return await client.post("/telegram/webhook", content=body, headers=headers)
        return await client.post("/telegram/webhook", json=update, headers=headers)


async def seen(service: Service) -> int:
    async with service.db.transaction() as tx:
        return await tx.scalar("SELECT COUNT(*) FROM inbound_seen")


async def consent_of(service: Service, user_id: int) -> tuple[str, list]:
    async with service.db.transaction() as tx:
        row = await tx.one("SELECT id, telegram_consent FROM supporters WHERE telegram_id = ?", (user_id,))
        log = await tx.query("SELECT action, source FROM consent_log WHERE supporter_id = ?", (row["id"],))
    return row["telegram_consent"], [tuple(r) for r in log]


# -- webhook mode ------------------------------------------------------------------------------
async def test_webhook_is_registered_with_secret_and_update_types(hooked, tg):
    assert tg.webhook["url"] == HOOK
    assert tg.webhook["secret_token"] == SECRET
    assert set(tg.webhook["allowed_updates"]) >= {"message", "callback_query", "my_chat_member", "chat_member"}


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET + "x"])
async def test_missing_or_wrong_secret_is_refused_and_nothing_stored(hooked, tg, secret):
    response = await post(hooked, tu.message("MENU"), secret=secret)
    assert response.status_code == 403
    assert await seen(hooked) == 0
    assert tg.sent_messages() == []


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"no": "update id"}'])
async def test_malformed_body_is_a_400(hooked, body):
    assert (await post(hooked, {}, body=body)).status_code == 400
    assert await seen(hooked) == 0


async def test_menu_button_press_edits_the_keyboard_and_answers(hooked, tg):
    response = await post(hooked, tu.message("MENU"))
    assert response.status_code == 200
    assert await seen(hooked) == 1  # committed before the 200
    menu = await until(lambda: tg.last_message(tu.USER))
    buttons = [b for row in menu["reply_markup"]["inline_keyboard"] for b in row]
    assert {"text": "Help", "callback_data": "menu:help"} in buttons

    assert (await post(hooked, tu.callback("menu:help", menu))).status_code == 200
    assert len(tg.calls_of("answerCallbackQuery")) == 1
    edited = await until(lambda: tg.calls_of("editMessageText"))
    assert edited[0]["text"].endswith("\n\n✓ Help") and "reply_markup" not in edited[0]
    assert "reply_markup" not in tg.message(tu.USER, menu["message_id"])  # keyboard gone
    help_text = await until(lambda: [m for m in tg.sent_messages(tu.USER) if "STOP" in m["text"]])
    assert "Privacy notice" in help_text[0]["text"]


async def test_a_retried_update_is_answered_but_handled_once(hooked, tg):
    update = tu.message("MENU")
    assert (await post(hooked, update)).status_code == 200
    assert (await post(hooked, update)).status_code == 200
    await until(lambda: tg.sent_messages(tu.USER))
    await asyncio.sleep(0.05)
    assert len(tg.sent_messages(tu.USER)) == 1


async def test_contact_share_is_accepted(hooked, tg):
    assert (await post(hooked, tu.contact("447700900123"))).status_code == 200
    assert await seen(hooked) == 1


@pytest.mark.skipif(importlib.util.find_spec("flows.supporter.signup") is None, reason="sign-up flow not present yet")
async def test_complete_sign_up_with_buttons_and_a_contact_share(hooked, tg):
    async def turn(update: dict) -> dict:
        before = len(tg.sent_messages(tu.USER))
        assert (await post(hooked, update)).status_code == 200
        await until(lambda: len(tg.sent_messages(tu.USER)) > before)
        return tg.last_message(tu.USER)

    def buttons(message: dict) -> dict[str, str]:
        rows = message.get("reply_markup", {}).get("inline_keyboard", [])
        return {b["callback_data"]: b["text"] for row in rows for b in row if "callback_data" in b}

    await turn(tu.message("JOIN"))
    await turn(tu.message("Ada"))
    interests = await turn(tu.message("skip"))  # no postcode
    first = next(key for key in buttons(interests) if key != "su:done")
    toggled = await turn(tu.callback(first, interests))
    assert any(label.startswith("✅") for label in buttons(toggled).values())
    assert tg.calls_of("editMessageText")[-1]["text"].endswith("✓ " + buttons(interests)[first])
    await turn(tu.callback("su:done", toggled))
    consent_question = await turn(tu.message("skip"))  # no email
    assert "su:yes" in buttons(consent_question)
    welcome = await turn(tu.callback("su:yes", consent_question))
    contact_prompt = [m for m in tg.sent_messages(tu.USER) if "keyboard" in m.get("reply_markup", {})]
    assert contact_prompt and contact_prompt[-1]["reply_markup"]["keyboard"][0][0]["request_contact"] is True
    assert welcome["text"]
    await turn(tu.contact("447700900123"))
    async with hooked.db.transaction() as tx:
        person = await tx.one("SELECT first_name, phone, telegram_consent FROM supporters WHERE telegram_id = ?",
                              (tu.USER,))
    assert (person["first_name"], person["telegram_consent"]) == ("Ada", "opted_in")
    assert person["phone"] == "+447700900123"


async def test_long_reply_is_split_with_buttons_on_the_last_part(hooked, tg, clock):
    long = "\n\n".join(f"Paragraph {n}. " + "word " * 300 for n in range(6))
    async with hooked.db.transaction() as tx:
        outbox.enqueue(tx, "telegram", str(tu.USER), Reply(long, (outbox_choice(),)).to_payload(), clock.now())
    hooked.dispatcher.wake()
    parts = await until(lambda: len(tg.sent_messages(tu.USER)) >= 3 and tg.sent_messages(tu.USER))
    assert all(len(p["text"]) <= 4096 for p in parts)
    assert "".join(p["text"] for p in parts).replace("\n", "") == long.replace("\n", "")
    assert [("reply_markup" in p) for p in parts] == [False] * (len(parts) - 1) + [True]


def outbox_choice():
    from flows.core.types import Choice

    return Choice("menu:help", "Help")


async def test_blocking_the_bot_opts_the_supporter_out(hooked, tg):
    await post(hooked, tu.message("MENU"))
    assert (await post(hooked, tu.my_chat_member("member", "kicked"))).status_code == 200
    assert await consent_of(hooked, tu.USER) == ("opted_out", [("opt_out", "carrier")])
    assert (await post(hooked, tu.my_chat_member("kicked", "member"))).status_code == 200
    assert (await consent_of(hooked, tu.USER))[0] == "opted_out"  # unblocking is not consent


async def test_forbidden_on_send_opts_the_supporter_out(hooked, tg):
    tg.fail_next("sendMessage", status=403)
    await post(hooked, tu.message("MENU"))
    await until(lambda: tg.failed_calls)
    for _ in range(500):  # the dispatcher records the outcome just after the failed call
        if (await consent_of(hooked, tu.USER))[0] == "opted_out":
            break
        await asyncio.sleep(0.01)
    assert await consent_of(hooked, tu.USER) == ("opted_out", [("opt_out", "carrier")])


async def test_429_pauses_the_channel_then_sends(hooked, tg, clock):
    tg.fail_next("sendMessage", status=429, retry_after=3)
    await post(hooked, tu.message("MENU"))
    await until(lambda: tg.failed_calls)
    channel = hooked.channels["telegram"]
    await until(lambda: channel.pacer.paused(clock.now().timestamp()))
    await asyncio.sleep(0.05)
    assert tg.sent_messages(tu.USER) == []  # nothing before the fake clock moves on
    clock.advance(seconds=3)
    hooked.dispatcher.wake()
    assert await until(lambda: tg.sent_messages(tu.USER))


async def test_linkgroup_by_an_organiser_who_is_chat_admin(hooked, tg, clock):
    async with hooked.db.transaction() as tx:
        leeds = await groups.add(tx, "Leeds", ["LS"], clock.now())
        await organisers.add(tx, "organiser", clock.now(), telegram_id=55, group_id=leeds.id)
    tg.set_chat_admins(tu.GROUP, [55])
    assert (await post(hooked, tu.message("/linkgroup Leeds", chat_id=tu.GROUP, user_id=55))).status_code == 200
    said = await until(lambda: tg.sent_messages(tu.GROUP))
    assert "now linked to Leeds" in said[0]["text"]
    assert tg.calls_of("getChatMember")[0]["user_id"] == 55

    await post(hooked, tu.message("/join", chat_id=tu.GROUP, user_id=56))
    join = await until(lambda: len(tg.sent_messages(tu.GROUP)) > 1 and tg.sent_messages(tu.GROUP)[1])
    button = join["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"] == f"https://t.me/muster_bot?start=g_{leeds.id}"


async def test_linkgroup_refused_for_a_non_admin(hooked, tg, clock):
    async with hooked.db.transaction() as tx:
        leeds = await groups.add(tx, "Leeds", ["LS"], clock.now())
        await organisers.add(tx, "organiser", clock.now(), telegram_id=55, group_id=leeds.id)
    await post(hooked, tu.message("/linkgroup Leeds", chat_id=tu.GROUP, user_id=55))
    said = await until(lambda: tg.sent_messages(tu.GROUP))
    assert "Only an admin" in said[0]["text"]


async def test_group_chatter_is_ignored(hooked, tg):
    assert (await post(hooked, tu.message("hello all", chat_id=tu.GROUP, user_id=55))).status_code == 200
    assert await seen(hooked) == 0


# -- polling mode ------------------------------------------------------------------------------
async def test_polling_conversation_with_a_button_press(polling, tg):
    assert tg.webhook["url"] == ""
    tg.push_update(tu.message("MENU"))
    menu = await until(lambda: tg.last_message(tu.USER))
    tg.push_update(tu.callback("menu:help", menu))
    await until(lambda: tg.calls_of("editMessageText"))
    await until(lambda: len(tg.sent_messages(tu.USER)) == 2)
    tg.push_update(tu.contact("+447700900123"))
    await until(lambda: len(tg.calls_of("getUpdates")) >= 4)
    offsets = [c.get("offset") for c in tg.calls_of("getUpdates")]
    assert offsets == sorted(offsets, key=lambda o: o or 0)  # confirmed updates are never fetched again
    async with polling.db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM inbound_seen") == 3


async def test_polling_stops_with_the_service(tmp_path, tg, clock):
    service = await _running(tmp_path, tg, clock)
    await until(lambda: tg.calls_of("getUpdates") or True)
    await asyncio.wait_for(service.stop(), 5)
    assert service.channels["telegram"]._poller is None


# -- pacing ------------------------------------------------------------------------------------
def _channel(**overrides: Any) -> TelegramChannel:
    settings = load(telegram_bot_token=TOKEN, erasure_salt=SALT, **overrides)

    async def submit(message):  # pragma: no cover - not used
        raise AssertionError

    return TelegramChannel(settings, submit, FakeClock())


def test_pacing_per_chat_per_group_and_overall():
    pacer = _channel().pacer
    assert pacer.reserve(0.0, "4242") == 0
    assert pacer.reserve(0.0, "4242") == pytest.approx(1.0)   # 1/s to one person
    assert pacer.reserve(0.0, "-100") == pytest.approx(0.08)  # overall 25/s
    assert pacer.reserve(0.0, "-100") == pytest.approx(0.08 + 3.0)  # 20/min to a group
    waits = [pacer.reserve(10.0, str(n)) for n in range(50)]
    assert waits[-1] == pytest.approx(49 / 25)


def test_rate_is_capped_at_30_unless_paid_broadcasts():
    from bot.config import ConfigError

    with pytest.raises(ConfigError, match="TELEGRAM_MESSAGES_PER_SECOND"):
        load(telegram_bot_token=TOKEN, erasure_salt=SALT, telegram_messages_per_second=100)
    assert _channel(telegram_paid_broadcast=True, telegram_messages_per_second=1000).pacer.rate == 1000


async def test_paid_broadcast_flag_only_on_bulk_rows(tmp_path, tg, clock):
    service = await _running(tmp_path, tg, clock, telegram_paid_broadcast=True)
    try:
        async with service.db.transaction() as tx:
            outbox.enqueue(tx, "telegram", "1", Reply("news").to_payload(), clock.now(), priority=outbox.BULK)
            outbox.enqueue(tx, "telegram", "2", Reply("reply").to_payload(), clock.now())
        service.dispatcher.wake()
        await until(lambda: len(tg.sent_messages()) == 2)
        assert tg.sent_messages(1)[0].get("allow_paid_broadcast") is True
        assert "allow_paid_broadcast" not in tg.sent_messages(2)[0]
    finally:
        await service.stop()


# -- outbound details --------------------------------------------------------------------------
async def test_contact_button_document_and_url_button(hooked, tg, clock):
    from flows.core.types import Choice, Document

    async with hooked.db.transaction() as tx:
        outbox.enqueue(tx, "telegram", str(tu.USER), Reply("Share your number?", request_contact=True).to_payload(),
                       clock.now())
        outbox.enqueue(tx, "telegram", str(tu.GROUP), Reply("Share?", request_contact=True).to_payload(), clock.now())
        outbox.enqueue(tx, "telegram", "77", Reply("Your data", document=Document("mydata.json", b'{"a": 1}',
                                                                                 "application/json")).to_payload(),
                       clock.now())
        outbox.enqueue(tx, "telegram", "78", Reply("Sign up", (Choice("link", "Open", "https://t.me/x?start=g_1"),))
                       .to_payload(), clock.now())
    hooked.dispatcher.wake()
    await until(lambda: len(tg.sent_messages()) == 4 and tg.calls_of("sendDocument"))
    keyboard = tg.sent_messages(tu.USER)[0]["reply_markup"]
    assert keyboard["keyboard"][0][0]["request_contact"] is True and keyboard["one_time_keyboard"] is True
    assert "reply_markup" not in tg.sent_messages(tu.GROUP)[0]  # contact buttons work in private chats only
    document = tg.calls_of("sendDocument")[0]["document"]
    assert (document.filename, document.content) == ("mydata.json", b'{"a": 1}')
    assert tg.sent_messages(78)[0]["reply_markup"]["inline_keyboard"] == [[{"text": "Open", "url": "https://t.me/x?start=g_1"}]]


def test_error_classification():
    import httpx as hx
    from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

    from bot.channels.telegram import classify

    def caused(error, cause):
        error.__cause__ = cause
        return error

    request = hx.Request("POST", "http://127.0.0.1/")
    assert classify(RetryAfter(7)).retry_after == 7 and classify(RetryAfter(7)).retryable
    assert not classify(RetryAfter(7), partly_sent=True).retryable
    forbidden = classify(Forbidden("Forbidden: bot was blocked by the user"))
    assert (forbidden.retryable, forbidden.opt_out, forbidden.code) == (False, True, "forbidden")
    assert not classify(BadRequest("chat not found")).retryable
    assert not classify(TimedOut()).retryable  # may have been delivered: at most once
    assert classify(caused(TimedOut(), hx.ConnectTimeout("x", request=request))).retryable
    assert classify(caused(NetworkError("httpx.ConnectError"), hx.ConnectError("x", request=request))).retryable
    assert not classify(caused(NetworkError("httpx.ReadError"), hx.ReadError("x", request=request))).retryable
