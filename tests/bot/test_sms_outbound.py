"""Sending through the real twilio client to a local fake of Twilio's REST API."""
from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from bot.channels.base import SendError
from bot.channels.sms import SmsChannel
from bot.dispatcher import Dispatcher
from flows.core.types import Choice, Reply
from storage import outbox, supporters
from storage.outbox import OutboxRow
from tests.bot.sms_support import BASE_URL, SERVICE_SID, SUPPORTER, sms_settings
from tests.fakes.twilio_api import FakeTwilioAPI


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def tw(server: FakeTwilioAPI) -> FakeTwilioAPI:
    server.reset()
    return server


async def _submit(message: Any) -> Any:
    raise AssertionError("no inbound expected")


def make_channel(clock, base_url: str, **settings: Any) -> SmsChannel:
    return SmsChannel(sms_settings(TWILIO_API_BASE_URL=base_url, **settings), _submit, clock)


@pytest.fixture
async def channel(tw: FakeTwilioAPI, clock) -> AsyncIterator[SmsChannel]:
    ch = make_channel(clock, tw.base_url)
    await ch.start()
    yield ch
    await ch.stop()


def row(address: str = SUPPORTER, row_id: int = 1) -> OutboxRow:
    return OutboxRow(row_id, "sms", address, None, "{}", 0, 1, None)


async def test_create_carries_every_field(channel: SmsChannel, tw: FakeTwilioAPI) -> None:
    reply = Reply("Pick one", (Choice("menu:join", "Join"), Choice("menu:help", "Help")))
    sent = await channel.send(row(), reply)
    (fields,) = tw.messages
    assert fields == {
        "To": SUPPORTER,
        "Body": "Pick one\n\nReply with a number:\n1 Join\n2 Help",
        "From": "+447700900001",
        "StatusCallback": BASE_URL + "/sms/status",
        "ValidityPeriod": "14400",
    }
    assert sent.provider_id == tw.resources[0]["sid"] and sent.provider_id.startswith("SM")


async def test_messaging_service_and_validity_period_from_settings(tw: FakeTwilioAPI, clock) -> None:
    ch = make_channel(clock, tw.base_url, TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID, SMS_VALIDITY_PERIOD=600,
                      TWILIO_FROM_NUMBER=None)
    try:
        await ch.send(row(), Reply("Hello"))
    finally:
        await ch.stop()
    (fields,) = tw.messages
    assert fields["MessagingServiceSid"] == SERVICE_SID and "From" not in fields
    assert fields["ValidityPeriod"] == "600"


async def test_region_from_the_environment_does_not_redirect_the_fake(tw, clock, monkeypatch) -> None:
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    monkeypatch.setenv("TWILIO_EDGE", "dublin")
    ch = make_channel(clock, tw.base_url)
    try:
        await ch.send(row(), Reply("Hello"))
    finally:
        await ch.stop()
    assert len(tw.messages) == 1


@pytest.mark.parametrize("status, code, retryable, opt_out, undeliverable", [
    (429, 20429, True, False, False),
    (500, 20500, False, False, False),
    (503, 20503, False, False, False),
    (400, 21610, False, True, False),
    (400, 21211, False, False, True),
    (400, 21614, False, False, True),
    (401, 20003, False, False, False),
])
async def test_errors_are_typed(channel, tw, status, code, retryable, opt_out, undeliverable) -> None:
    tw.fail_next(status, code)
    with pytest.raises(SendError) as caught:
        await channel.send(row(), Reply("Hello"))
    error = caught.value
    assert (error.retryable, error.opt_out, error.undeliverable) == (retryable, opt_out, undeliverable)
    assert error.code == str(code)


async def test_connection_refused_is_retryable(clock) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ch = make_channel(clock, f"http://127.0.0.1:{port}")
    try:
        with pytest.raises(SendError) as caught:
            await ch.send(row(), Reply("Hello"))
    finally:
        await ch.stop()
    assert caught.value.retryable and caught.value.code == "connect"


async def test_timeout_is_not_retried_because_it_may_have_been_sent(tw: FakeTwilioAPI, clock) -> None:
    ch = SmsChannel(sms_settings(TWILIO_API_BASE_URL=tw.base_url, SMS_SEND_TIMEOUT=0.2), _submit, clock)
    tw.hang_next(0.5)
    try:
        with pytest.raises(SendError) as caught:
            await ch.send(row(), Reply("Hello"))
    finally:
        await ch.stop()
    assert not caught.value.retryable and caught.value.code == "timeout"
    assert len(tw.wait_for_messages(1)) == 1  # Twilio sent it anyway


async def test_body_over_1600_characters_is_refused_before_calling(channel, tw) -> None:
    with pytest.raises(SendError) as caught:
        await channel.send(row(), Reply("x" * 1601))
    assert not caught.value.retryable and tw.messages == [] and tw.rejected == []


def test_cost_counts_segments(channel: SmsChannel) -> None:
    assert channel.cost(Reply("Hello")) == 1
    assert channel.cost(Reply("x" * 161)) == 2
    assert channel.cost(Reply("€" * 81)) == 2   # extension characters count two
    assert channel.cost(Reply("ŵ" * 71)) == 2   # UCS-2: 70 in one segment
    assert channel.pacer.rate == 10


async def test_stop_closes_the_http_session(tw, clock) -> None:
    ch = make_channel(clock, tw.base_url)
    await ch.start()
    session = ch._http.session
    await ch.stop()
    assert session.closed


# -- through the dispatcher -----------------------------------------------------------

async def _no_sleep(seconds: float) -> None:
    return None


async def queue_one(db, clock, address: str = SUPPORTER) -> int:
    async with db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", [address], clock.now()))[address]
        outbox.enqueue(tx, "sms", address, Reply("Hello").to_payload(), clock.now(), supporter_id=person.id)
    return person.id


async def statuses(db) -> list[tuple[str, str | None, str | None]]:
    async with db.transaction() as tx:
        rows = await tx.query("SELECT status, provider_id, error_code FROM outbox ORDER BY id")
    return [tuple(r) for r in rows]


async def test_429_is_retried_by_the_dispatcher(db, clock, channel, tw) -> None:
    dispatcher = Dispatcher(db, {"sms": channel}, clock, sleep=_no_sleep)
    await queue_one(db, clock)
    tw.fail_next(429)
    assert await dispatcher.drain_once("sms") == 1
    assert (await statuses(db))[0][0] == "queued" and tw.messages == []
    clock.advance(seconds=5)
    assert await dispatcher.drain_once("sms") == 1
    ((status, provider_id, _),) = await statuses(db)
    assert status == "sent" and provider_id == tw.resources[0]["sid"]
    assert len(tw.rejected) == 1 and len(tw.messages) == 1


async def test_500_is_not_retried(db, clock, channel, tw) -> None:
    dispatcher = Dispatcher(db, {"sms": channel}, clock, sleep=_no_sleep)
    await queue_one(db, clock)
    tw.fail_next(500)
    await dispatcher.drain_once("sms")
    clock.advance(minutes=10)
    assert await dispatcher.drain_once("sms") == 0
    assert await statuses(db) == [("failed", None, "20500")]
    assert len(tw.rejected) == 1 and tw.messages == []


async def test_opted_out_at_twilio_opts_out_here(db, clock, channel, tw) -> None:
    dispatcher = Dispatcher(db, {"sms": channel}, clock, sleep=_no_sleep)
    supporter_id = await queue_one(db, clock)
    tw.opt_out(SUPPORTER)
    await dispatcher.drain_once("sms")
    async with db.transaction() as tx:
        person = await supporters.get(tx, supporter_id)
    assert person.sms_consent == "opted_out"


async def test_invalid_number_is_marked_undeliverable(db, clock, channel, tw) -> None:
    dispatcher = Dispatcher(db, {"sms": channel}, clock, sleep=_no_sleep)
    supporter_id = await queue_one(db, clock)
    tw.fail_next(400, 21614)
    await dispatcher.drain_once("sms")
    async with db.transaction() as tx:
        assert (await supporters.get(tx, supporter_id)).sms_undeliverable == 1


def test_pacing_counts_segments_not_messages(clock) -> None:
    ch = make_channel(clock, "http://127.0.0.1:9", SMS_SEGMENTS_PER_SECOND=4)
    long_reply = Reply("x" * 300)  # two segments
    assert ch.cost(long_reply) == 2
    assert ch.pacer.reserve(100.0, SUPPORTER, ch.cost(long_reply)) == 0
    assert ch.pacer.reserve(100.0, "+447700900124", ch.cost(Reply("short"))) == pytest.approx(0.5)
    assert ch.pacer.reserve(100.0, "+447700900125", 1) == pytest.approx(0.75)


def test_sms_settings_defaults_and_checks() -> None:
    from decimal import Decimal

    from bot.config import ConfigError, load

    settings = sms_settings()
    assert (settings.sms_default_region, settings.sms_segments_per_second, settings.sms_validity_period,
            settings.sms_price_per_segment, settings.twilio_trust_proxy) == ("GB", 10, 14400, Decimal("0.04"), False)
    flow = sms_settings(SMS_PRICE_PER_SEGMENT="0.0463", SMS_DEFAULT_REGION="IE").flow_settings()
    assert flow.sms_price_per_segment == Decimal("0.0463") and flow.sms_default_region == "IE"
    for key, value in [("SMS_VALIDITY_PERIOD", "0"), ("SMS_VALIDITY_PERIOD", "36001"),
                       ("SMS_SEGMENTS_PER_SECOND", "0"), ("SMS_PRICE_PER_SEGMENT", "-1")]:
        with pytest.raises(ConfigError, match=key):
            load(**{key: value})
