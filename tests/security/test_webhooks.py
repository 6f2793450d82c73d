"""Every provider-facing route of the live service, attacked over real HTTP on 127.0.0.1.

One table of routes (the Telegram webhook, Twilio's inbound and status callbacks) × one
table of attacks: missing and forged credentials, a signature for another URL or another
body, replays, oversized and malformed bodies. The rule under test: credentials are
checked before anything is parsed, so a forged request is a 403 whatever its body, a
correctly signed malformed one a 400, and nothing is ever written for a refused request.
No traceback may reach a response or the logs. The public .ics route takes no provider
input but does take an id from the URL: bad ids are a 404, never a 500.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
import pytest_asyncio
import uvicorn

from bot.config import load
from bot.service import Service
from bot.web.middleware import MAX_BODY_BYTES
from flows.organiser import events as event_ops
from storage import events
from tests.bot import telegram_updates as tu
from tests.bot.sms_support import ERASURE_SALT, SENDER, SUPPORTER, inbound_fields, sign, signed_post, status_fields
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

TOKEN = "123456:TEST-token"
SECRET = "s3cret-Token_1"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
TG_PATH, INBOUND, STATUS = "/telegram/webhook", "/sms/inbound", "/sms/status"
OVERSIZE = MAX_BODY_BYTES + 1024
pytestmark = pytest.mark.asyncio(loop_scope="module")


# -- the live service ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as server:
        yield server


@pytest.fixture(scope="module")
def twilio_api() -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN)) as server:
        yield server


@dataclass
class Live:
    base: str
    http: httpx.AsyncClient
    service: Service
    tg: FakeTelegramAPI
    twilio: FakeTwilioAPI
    phone: str = SUPPORTER     # who is texting / messaging in this test (fresh for each test)
    user: int = tu.USER
    before: dict[str, int] | None = None

    async def count(self, sql: str, params: tuple = ()) -> int:
        async with self.service.db.transaction() as tx:
            return int(await tx.scalar(sql, params))

    async def footprint(self) -> dict[str, int]:
        """Rows added since the test began, in every table a webhook could write to."""
        tables = ("inbound_seen", "supporters", "conversations", "consent_log", "outbox", "deliveries")
        now = {name: await self.count(f"SELECT COUNT(*) FROM {name}") for name in tables}
        return {name: now[name] - (self.before or {}).get(name, 0) for name in tables}

    async def idle(self) -> None:
        """Wait until nothing is queued or being sent, so one test's replies never land in the next."""
        for _ in range(500):
            if not await self.count("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')"):
                return
            await asyncio.sleep(0.01)
        raise AssertionError("outbox did not drain")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def running(tmp_path_factory: pytest.TempPathFactory, telegram_api: FakeTelegramAPI,
                  twilio_api: FakeTwilioAPI) -> AsyncIterator[Live]:
    """Muster with Telegram (webhook mode) and SMS both live, served by uvicorn on a real port.

    One service for the module (starting one costs ~0.3 s); each test gets fresh identities
    and measures only the rows it added.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load(
        MUSTER_DB_PATH=str(tmp_path_factory.mktemp("hooks") / "hooks.db"), MUSTER_ERASURE_SALT=ERASURE_SALT,
        MUSTER_DEMO="false", SMS_QUIET_HOURS="", MUSTER_INBOUND_PER_MINUTE="100000",
        MUSTER_OUTBOUND_PER_MINUTE="100000",
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=SENDER,
        TWILIO_WEBHOOK_BASE_URL=base, TWILIO_API_BASE_URL=twilio_api.base_url,
        TELEGRAM_BOT_TOKEN=TOKEN, TELEGRAM_API_BASE_URL=telegram_api.base_url,
        TELEGRAM_WEBHOOK_URL=base + TG_PATH, TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    service = Service(settings)
    # log_config=None: uvicorn's own loggers propagate, so caplog sees any "Exception in ASGI application".
    server = uvicorn.Server(uvicorn.Config(service.app, lifespan="on", log_config=None, access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "service did not start"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield Live(base, http, service, telegram_api, twilio_api)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


_people = iter(range(1, 100_000))


@pytest_asyncio.fixture(loop_scope="module")
async def live(running: Live, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Live]:
    await running.idle()
    running.tg.reset()
    running.twilio.reset()
    n = next(_people)
    running.phone, running.user = f"+4477009{n:05d}", 700_000 + n
    running.before = None
    running.before = await running.footprint()
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")
    yield running
    # Whatever happened, no traceback was logged, and nothing failed loudly.
    assert "Traceback" not in caplog.text
    loud = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not loud, [r.getMessage() for r in loud]


async def until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (result := predicate()):
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting for the service"
        await asyncio.sleep(0.01)
    return result


def clean(response: httpx.Response) -> httpx.Response:
    """A response that gives nothing of the server's insides away."""
    assert "Traceback" not in response.text and 'File "' not in response.text, response.text
    return response


# -- the routes, as a table -------------------------------------------------------------------------
_sids = iter(range(1, 1_000_000))


def _sid() -> str:
    return f"SM{next(_sids):032d}"


@dataclass(frozen=True)
class Hook:
    """One provider route: how a genuine request looks, and how to spoil it."""
    name: str
    path: str

    def fields(self, live: Live, **extra: str) -> dict[str, str]:
        if self.path == INBOUND:
            return inbound_fields(sid=_sid(), body="MENU", sender=live.phone) | extra
        return status_fields(_sid(), "delivered", to=live.phone) | extra

    def genuine(self, live: Live, size: int = 0) -> dict[str, Any]:
        """httpx arguments for a request the provider really sent (padded to `size` bytes if asked)."""
        if self.path == TG_PATH:
            update = tu.message("MENU" + "x" * size, chat_id=live.user, user_id=live.user)
            return {"content": json.dumps(update).encode(), "headers": {
                "Content-Type": "application/json", SECRET_HEADER: SECRET}}
        fields = self.fields(live, **({"Padding": "x" * size} if size else {}))
        return signed_post(live.base + self.path, fields)

    def missing(self, live: Live) -> dict[str, Any]:
        request = self.genuine(live)
        request["headers"] = {k: v for k, v in request["headers"].items()
                              if k not in (SECRET_HEADER, "X-Twilio-Signature")}
        return request

    def forged(self, live: Live, body: bytes | None = None, content_type: str | None = None) -> dict[str, Any]:
        """Wrong secret or a signature made with a guessed auth token; optionally a body of our choosing."""
        request = self.genuine(live)
        if self.path == TG_PATH:
            request["headers"][SECRET_HEADER] = SECRET[:-1] + "2"
        else:
            fields = dict(_form(request["content"]))
            request["headers"]["X-Twilio-Signature"] = sign(live.base + self.path, fields, token="guessed-token")
        if body is not None:
            request["content"] = body
        if content_type is not None:
            request["headers"]["Content-Type"] = content_type
        return request

    def malformed(self, live: Live) -> list[tuple[str, dict[str, Any]]]:
        """(label, request) pairs that carry the right credentials but no usable message."""
        if self.path == TG_PATH:
            def authentic(body: bytes, content_type: str = "application/json") -> dict[str, Any]:
                return {"content": body, "headers": {"Content-Type": content_type, SECRET_HEADER: SECRET}}
            return [
                ("not JSON", authentic(b"{not json")),
                ("JSON but a list", authentic(b"[1, 2]")),
                ("no update_id", authentic(b'{"message": {}}')),
                ("update_id a string", authentic(b'{"update_id": "7"}')),
                ("message not an object", authentic(b'{"update_id": 7, "message": "hi"}')),
                ("not UTF-8", authentic(b"\xff\xfe{\x00")),
                ("a form, not JSON", authentic(b"update_id=7", "application/x-www-form-urlencoded")),
                ("empty body", authentic(b"")),
            ]
        url = live.base + self.path
        missing_sid = {k: v for k, v in self.fields(live).items() if "Sid" not in k or k == "AccountSid"}
        as_json = '{"MessageSid": "SM1", "Body": "hi"}'

        def signed_raw(body: str, content_type: str) -> dict[str, Any]:
            fields = dict(_form(body.encode()))
            return {"content": body.encode(), "headers": {
                "Content-Type": content_type, "X-Twilio-Signature": sign(url, fields)}}
        cases = [
            ("no MessageSid", signed_post(url, missing_sid)),
            ("JSON instead of a form", signed_raw(as_json, "application/json")),
            ("empty body", signed_raw("", "application/x-www-form-urlencoded")),
        ]
        if self.path == INBOUND:
            injected = self.fields(live, From="'; DROP TABLE supporters;--")
            cases += [("From not a phone number", signed_post(url, injected)),
                      ("NumMedia not a number", signed_post(url, self.fields(live, NumMedia="-1 OR 1=1")))]
        else:
            cases += [("no MessageStatus", signed_post(url, {k: v for k, v in self.fields(live).items()
                                                             if "Status" not in k}))]
        return cases


def _form(body: bytes | str) -> list[tuple[str, str]]:
    text = body.decode() if isinstance(body, bytes) else body
    return parse_qsl(text, keep_blank_values=True)


HOOKS = [Hook("telegram", TG_PATH), Hook("sms-inbound", INBOUND), Hook("sms-status", STATUS)]
SIGNED = [h for h in HOOKS if h.path != TG_PATH]  # Twilio signs URL and body; Telegram's secret signs neither
by_name = pytest.mark.parametrize("hook", HOOKS, ids=[h.name for h in HOOKS])
signed_only = pytest.mark.parametrize("hook", SIGNED, ids=[h.name for h in SIGNED])
EMPTY = {"inbound_seen": 0, "supporters": 0, "conversations": 0, "consent_log": 0, "outbox": 0, "deliveries": 0}


# -- the attacks ----------------------------------------------------------------------------------
@by_name
async def test_a_genuine_request_is_accepted_and_processed(live: Live, hook: Hook) -> None:
    """The control: the same request, unspoilt, gets through (so every refusal below means something)."""
    response = clean(await live.http.post(hook.path, **hook.genuine(live)))
    assert response.status_code == 200, response.text
    after = await live.footprint()
    if hook.path == STATUS:
        assert after["deliveries"] == 1
    else:
        assert after["inbound_seen"] == 1 and after["supporters"] == 1 and after["outbox"] == 1


@by_name
async def test_missing_credentials_are_refused_and_nothing_is_written(live: Live, hook: Hook) -> None:
    response = clean(await live.http.post(hook.path, **hook.missing(live)))
    assert response.status_code == 403
    assert await live.footprint() == EMPTY


@by_name
async def test_forged_credentials_are_refused_and_nothing_is_written(live: Live, hook: Hook) -> None:
    response = clean(await live.http.post(hook.path, **hook.forged(live)))
    assert response.status_code == 403
    assert await live.footprint() == EMPTY
    assert live.tg.sent_messages() == [] and live.twilio.messages == []


@signed_only
@pytest.mark.parametrize("where", ["other path", "other host", "other scheme", "with a query"])
async def test_a_signature_for_another_url_is_refused(live: Live, hook: Hook, where: str) -> None:
    other = {
        "other path": live.base + (STATUS if hook.path == INBOUND else INBOUND),
        "other host": "https://attacker.example.net" + hook.path,
        "other scheme": live.base.replace("http://", "https://") + hook.path,
        "with a query": live.base + hook.path + "?retry=1",
    }[where]
    fields = hook.fields(live)
    response = clean(await live.http.post(hook.path, **signed_post(live.base + hook.path, fields, signed_url=other)))
    assert response.status_code == 403
    assert await live.footprint() == EMPTY


@signed_only
@pytest.mark.parametrize("tamper", ["field changed", "field added", "field removed"])
async def test_a_signature_over_another_body_is_refused(live: Live, hook: Hook, tamper: str) -> None:
    signed = hook.fields(live)
    sent = dict(signed)
    key = "Body" if hook.path == INBOUND else "MessageStatus"
    if tamper == "field changed":
        sent[key] = "STOP" if hook.path == INBOUND else "failed"
    elif tamper == "field added":
        sent["ErrorCode"] = "21610"  # would opt the supporter out, if believed
    else:
        del sent["AccountSid"]
    request = signed_post(live.base + hook.path, sent, signed_fields=signed)
    response = clean(await live.http.post(hook.path, **request))
    assert response.status_code == 403
    assert await live.footprint() == EMPTY


@by_name
async def test_a_replayed_request_is_answered_but_processed_once(live: Live, hook: Hook) -> None:
    request = hook.genuine(live)
    first = clean(await live.http.post(hook.path, **request))
    assert first.status_code == 200
    if hook.path == TG_PATH:
        await until(lambda: live.tg.sent_messages(live.user))
    elif hook.path == INBOUND:
        await until(lambda: live.twilio.messages)
    once = await live.footprint()
    for _ in range(2):  # the provider retries, twice
        again = clean(await live.http.post(hook.path, **request))
        assert again.status_code == 200 and again.text == first.text
    await asyncio.sleep(0.2)  # room for a wrongly queued second reply to go out
    assert await live.footprint() == once
    if hook.path == TG_PATH:
        assert len(live.tg.sent_messages(live.user)) == 1
        assert once["inbound_seen"] == 1 and once["outbox"] == 1
    elif hook.path == INBOUND:
        assert len(live.twilio.messages) == 1 and live.twilio.messages[0]["To"] == live.phone
        assert once["inbound_seen"] == 1 and once["outbox"] == 1
    else:
        assert once["deliveries"] == 1
        assert live.tg.sent_messages() == [] and live.twilio.messages == []


@by_name
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
async def test_a_body_over_the_limit_is_413_even_when_genuine(live: Live, hook: Hook, framing: str) -> None:
    request = hook.genuine(live, size=OVERSIZE)
    assert len(request["content"]) > MAX_BODY_BYTES
    if framing == "chunked":  # no Content-Length: the limit must hold while reading
        body = request["content"].encode() if isinstance(request["content"], str) else request["content"]

        async def stream() -> AsyncIterator[bytes]:
            for start in range(0, len(body), 16 * 1024):
                yield body[start:start + 16 * 1024]
        request["content"] = stream()
    response = clean(await live.http.post(hook.path, **request))
    assert response.status_code == 413
    assert await live.footprint() == EMPTY


@by_name
async def test_a_body_just_under_the_limit_is_not_413(live: Live, hook: Hook) -> None:
    """The limit is the documented one, not something smaller that would refuse a real provider."""
    request = hook.genuine(live, size=MAX_BODY_BYTES - 2048)
    assert MAX_BODY_BYTES - 2048 < len(request["content"]) <= MAX_BODY_BYTES
    response = clean(await live.http.post(hook.path, **request))
    assert response.status_code != 413


@by_name
@pytest.mark.parametrize("body,content_type", [
    (b"{not json", "application/json"),
    (b"\xff\xfe\x00garbage", "application/x-www-form-urlencoded"),
    (b"MessageSid=SM1&Body=%ZZ%", "application/x-www-form-urlencoded"),
    (b"<xml>not a form</xml>", "text/xml"),
    (b"", "application/octet-stream"),
], ids=["json", "not-utf8", "bad-escapes", "xml", "empty"])
async def test_a_forged_malformed_body_is_403_not_400(live: Live, hook: Hook, body: bytes, content_type: str) -> None:
    """Credentials are checked before the body is read: a forger learns nothing about our parser."""
    response = clean(await live.http.post(hook.path, **hook.forged(live, body, content_type)))
    assert response.status_code == 403, response.text
    assert await live.footprint() == EMPTY


@by_name
async def test_a_genuine_malformed_body_is_400(live: Live, hook: Hook) -> None:
    for label, request in hook.malformed(live):
        response = clean(await live.http.post(hook.path, **request))
        assert response.status_code == 400, (label, response.status_code, response.text)
    assert await live.footprint() == EMPTY
    assert live.tg.sent_messages() == [] and live.twilio.messages == []


@by_name
async def test_other_methods_are_405(live: Live, hook: Hook) -> None:
    for method in ("GET", "PUT", "DELETE"):
        assert clean(await live.http.request(method, hook.path)).status_code == 405
    assert await live.footprint() == EMPTY


async def test_no_other_route_takes_provider_input_in_live_mode(live: Live) -> None:
    """The simulator can speak as anyone, so it is not served when a provider is live."""
    for method, path in [("POST", "/sim/send"), ("GET", "/sim/messages"), ("GET", "/"),
                         ("POST", "/sms/inbound/x"), ("POST", "/sms")]:
        response = clean(await live.http.request(method, path, content=urlencode(inbound_fields()).encode()))
        assert response.status_code in (404, 405), (method, path, response.status_code)
    assert (await live.http.get("/healthz")).status_code == 200
    assert await live.footprint() == EMPTY


# -- the public calendar route ----------------------------------------------------------------------
async def _event(live: Live, status: str) -> str:
    now = live.service.clock.now()
    async with live.service.db.transaction() as tx:
        event = await events.create(
            tx, public_id=event_ops.new_public_id(), title="Rally", starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2), now=now, status=status,
        )
    return event.public_id


@pytest.mark.parametrize("ident", [
    "abcd2345xy",                      # the right shape, no such event
    "x", "A" * 1000, "ABCDEFGH",       # wrong shape: too short, too long, upper case
    "..%2F..%2Fetc%2Fpasswd", "%2e%2e", "abc'%20OR%201=1--", "%00abcdef", "abcd%0d%0aSet-Cookie:x",
    "%E2%80%AEabcd", "1;DROP TABLE events", "%F0%9F%98%80abcd", "",
])
async def test_a_bad_event_id_is_404(live: Live, ident: str) -> None:
    await _event(live, "confirmed")
    response = clean(await live.http.get(f"/events/{ident}.ics"))
    assert response.status_code == 404, (ident, response.status_code)
    assert "set-cookie" not in response.headers
    assert response.text in ("no such event", "Not Found")  # our handler, or no route matched at all


async def test_a_draft_is_404_and_a_published_event_is_a_calendar(live: Live) -> None:
    draft, published = await _event(live, "draft"), await _event(live, "confirmed")
    assert clean(await live.http.get(f"/events/{draft}.ics")).status_code == 404
    response = await live.http.get(f"/events/{published}.ics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in response.text and "SUMMARY:Rally" in response.text
    assert clean(await live.http.post(f"/events/{published}.ics", content=b"x")).status_code == 405
