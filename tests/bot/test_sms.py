"""The SMS channel's webhooks: signatures, proxies, dedupe, media, and delivery reports."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from bot.channels.sms import EMPTY_TWIML, SmsChannel
from flows.core.engine import Engine
from flows.core.types import Reply
from flows.verdicts import sms_status
from storage import consent, deliveries, outbox, supporters
from storage.db import Database
from tests.bot.sms_support import (
    BASE_URL,
    SENDER,
    SERVICE_SID,
    SUPPORTER,
    inbound_fields,
    signed_post,
    sms_settings,
    status_fields,
)

INBOUND = "/sms/inbound"
STATUS = "/sms/status"
SID = "SM" + "1" * 32


class Webhooks:
    """An SmsChannel on a real engine and database, called over ASGI."""

    def __init__(self, db: Database, clock, **settings: Any) -> None:
        self.db = db
        self.engine = Engine(db, clock)
        self.channel = SmsChannel(sms_settings(**settings), self.engine.handle, clock, database=lambda: db)
        self.http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=Starlette(routes=self.channel.routes())),
            base_url="http://internal:8080",
        )

    async def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.post(path, **kwargs)

    async def count(self, sql: str, params: tuple = ()) -> int:
        async with self.db.transaction() as tx:
            return await tx.scalar(sql, params)

    async def replies_to(self, address: str) -> list[str]:
        async with self.db.transaction() as tx:
            rows = await outbox.for_address(tx, "sms", address)
        return [Reply.from_payload(payload).text for _, _, payload in rows]


@pytest.fixture
async def hooks(db, clock) -> AsyncIterator[Webhooks]:
    h = Webhooks(db, clock)
    yield h
    await h.http.aclose()


# -- inbound: table-driven ------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    label: str
    fields: dict[str, str] = field(default_factory=inbound_fields)
    settings: dict[str, Any] = field(default_factory=dict)
    signed_url: str | None = None          # the URL Twilio signed (default: BASE_URL + path)
    signed_fields: dict[str, str] | None = None  # what Twilio signed (default: the fields sent)
    headers: dict[str, str] = field(default_factory=dict)
    token: str | None = None               # signed with another token
    unsigned: bool = False
    status: int = 200
    effect: str = "processed"              # processed | nothing | ignored (nothing, and answered empty TwiML)


FORWARDED = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "sms.example.net"}
SERVICE_ONLY = {"TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID, "TWILIO_FROM_NUMBER": None}
INTERNAL = "http://10.0.0.5:8080"

INBOUND_CASES = [
    Case("valid"),
    Case("missing signature", unsigned=True, status=403, effect="nothing"),
    Case("wrong signature (another token)", token="not-the-auth-token", status=403, effect="nothing"),
    Case("signed for another path", signed_url=BASE_URL + "/sms/other", status=403, effect="nothing"),
    Case("Twilio signed with :443, base URL without port", signed_url="https://muster.example.org:443" + INBOUND),
    Case("base URL with :443, Twilio signed without port", settings={"TWILIO_WEBHOOK_BASE_URL":
         "https://muster.example.org:443"}, signed_url=BASE_URL + INBOUND),
    Case("non-default port in both", settings={"TWILIO_WEBHOOK_BASE_URL": "https://muster.example.org:8443"},
         signed_url="https://muster.example.org:8443" + INBOUND),
    Case("non-default port signed, base URL without it", signed_url="https://muster.example.org:8443" + INBOUND,
         status=403, effect="nothing"),
    Case("base URL with a path prefix", settings={"TWILIO_WEBHOOK_BASE_URL": BASE_URL + "/muster/"},
         signed_url=BASE_URL + "/muster" + INBOUND),
    Case("a field the code does not know, signed", fields=inbound_fields(AddOns='{"status":"ok"}')),
    Case("a field added after signing", fields=inbound_fields(Injected="1"), signed_fields=inbound_fields(),
         status=403, effect="nothing"),
    Case("a blank field left out of the signature", signed_fields={
        k: v for k, v in inbound_fields().items() if k != "ToState"}, status=403, effect="nothing"),
    Case("trusted proxy: signed for the forwarded URL", settings={
        "TWILIO_TRUST_PROXY": True, "TWILIO_WEBHOOK_BASE_URL": INTERNAL},
        headers=FORWARDED, signed_url="https://sms.example.net" + INBOUND),
    Case("trusted proxy: signed for the internal URL", settings={
        "TWILIO_TRUST_PROXY": True, "TWILIO_WEBHOOK_BASE_URL": INTERNAL},
        headers=FORWARDED, signed_url=INTERNAL + INBOUND, status=403, effect="nothing"),
    Case("untrusted proxy headers: signed for the forwarded URL", headers=FORWARDED,
         signed_url="https://sms.example.net" + INBOUND, status=403, effect="nothing"),
    Case("untrusted proxy headers are ignored", headers=FORWARDED),
    Case("From that is not a phone number", fields=inbound_fields(sender="not-a-number"), status=400,
         effect="nothing"),
    Case("no MessageSid", fields={k: v for k, v in inbound_fields().items() if "Sid" not in k or k == "AccountSid"},
         status=400, effect="nothing"),
    Case("NumMedia not a number", fields=inbound_fields(NumMedia="lots"), status=400, effect="nothing"),
    # Not an SMS to us: answered 200 (Twilio retries anything else, and a retry cannot change it).
    Case("From on WhatsApp", fields=inbound_fields(sender="whatsapp:" + SUPPORTER), effect="ignored"),
    Case("From as a tel: URI", fields=inbound_fields(sender="tel:" + SUPPORTER), effect="ignored"),
    Case("From on Messenger", fields=inbound_fields(sender="messenger:1234567890123456"), effect="ignored"),
    Case("To another number of the account", fields=inbound_fields(To="+447700900999"), effect="ignored"),
    Case("To our number on WhatsApp", fields=inbound_fields(To="whatsapp:" + SENDER), effect="ignored"),
    Case("To missing", fields={k: v for k, v in inbound_fields().items() if k != "To"}, effect="ignored"),
    Case("To our number in national form", fields=inbound_fields(To="07700 900001")),
    Case("Messaging Service: To any number of its pool", settings=SERVICE_ONLY,
         fields=inbound_fields(To="+447700900777", MessagingServiceSid=SERVICE_SID)),
    Case("Messaging Service: a number's own webhook, no service named", settings=SERVICE_ONLY,
         fields=inbound_fields(To="+447700900777")),
    Case("Messaging Service: a message for another service", settings=SERVICE_ONLY,
         fields=inbound_fields(To="+447700900777", MessagingServiceSid="MG" + "cd" * 16), effect="ignored"),
    Case("Messaging Service and a from number: another service, but to our from number",
         settings={"TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID},
         fields=inbound_fields(MessagingServiceSid="MG" + "cd" * 16)),
    Case("Messaging Service: To on WhatsApp", settings=SERVICE_ONLY,
         fields=inbound_fields(To="whatsapp:+447700900777", MessagingServiceSid=SERVICE_SID), effect="ignored"),
]


@pytest.mark.parametrize("case", INBOUND_CASES, ids=[c.label for c in INBOUND_CASES])
async def test_inbound_webhook(db, clock, case: Case) -> None:
    hooks = Webhooks(db, clock, **case.settings)
    try:
        kwargs = signed_post(
            BASE_URL + INBOUND, case.fields, signed_url=case.signed_url, signed_fields=case.signed_fields,
            headers=case.headers, **({"token": case.token} if case.token else {}),
        )
        if case.unsigned:
            del kwargs["headers"]["X-Twilio-Signature"]
        response = await hooks.post(INBOUND, **kwargs)
        assert response.status_code == case.status, response.text
        seen = await hooks.count("SELECT COUNT(*) FROM inbound_seen")
        people = await hooks.count("SELECT COUNT(*) FROM supporters")
        if case.effect == "processed":
            assert response.text == EMPTY_TWIML
            assert response.headers["content-type"].startswith("text/xml")
            # Committed before the answer: the reply is already in the outbox.
            assert seen == 1 and people == 1
            assert await hooks.count("SELECT COUNT(*) FROM inbound_seen WHERE provider_id = ?", (f"twilio:{SID}",)) == 1
            assert await hooks.replies_to(SUPPORTER)
        else:
            assert (seen, people) == (0, 0)
            if case.effect == "ignored":
                assert response.text == EMPTY_TWIML
                assert response.headers["content-type"].startswith("text/xml")
    finally:
        await hooks.http.aclose()


@pytest.mark.parametrize("fields, reason", [
    (inbound_fields(sender="whatsapp:" + SUPPORTER), "whatsapp"),
    (inbound_fields(To="+447700900999"), "not our number"),
], ids=["not SMS", "not to us"])
async def test_a_message_not_for_sms_logs_one_line_without_the_numbers(hooks: Webhooks, caplog, fields, reason) -> None:
    with caplog.at_level("DEBUG", logger="bot.channels.sms"):
        assert (await hooks.post(INBOUND, **signed_post(BASE_URL + INBOUND, fields))).status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.channels.sms"]
    assert len(lines) == 1 and "ignored" in lines[0] and reason in lines[0], lines
    assert SUPPORTER[3:] not in lines[0] and "700900999" not in lines[0] and SENDER[3:] not in lines[0]


async def test_refusal_logs_one_line_without_the_number(hooks: Webhooks, caplog) -> None:
    kwargs = signed_post(BASE_URL + INBOUND, inbound_fields(), token="wrong")
    with caplog.at_level("DEBUG", logger="bot.channels.sms"):
        assert (await hooks.post(INBOUND, **kwargs)).status_code == 403
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.channels.sms"]
    assert len(lines) == 1 and "invalid signature" in lines[0]
    assert SUPPORTER[3:] not in lines[0]


async def test_replayed_message_sid_is_answered_but_not_run_twice(hooks: Webhooks) -> None:
    kwargs = signed_post(BASE_URL + INBOUND, inbound_fields(body="HELP"))
    first = await hooks.post(INBOUND, **kwargs)
    replies = await hooks.replies_to(SUPPORTER)
    second = await hooks.post(INBOUND, **kwargs)
    assert first.status_code == second.status_code == 200
    assert second.text == EMPTY_TWIML
    assert len(replies) == 1 and await hooks.replies_to(SUPPORTER) == replies


async def test_from_is_normalised_to_e164_with_the_default_region(hooks: Webhooks) -> None:
    kwargs = signed_post(BASE_URL + INBOUND, inbound_fields(sender="07700 900123"))
    assert (await hooks.post(INBOUND, **kwargs)).status_code == 200
    async with hooks.db.transaction() as tx:
        assert await supporters.find(tx, "sms", SUPPORTER) is not None


async def test_picture_only_message_gets_told_we_read_text(hooks: Webhooks) -> None:
    fields = inbound_fields(body="", NumMedia="1", MediaUrl0="https://api.twilio.com/media/ME1",
                            MediaContentType0="image/jpeg")
    assert (await hooks.post(INBOUND, **signed_post(BASE_URL + INBOUND, fields))).status_code == 200
    (reply,) = await hooks.replies_to(SUPPORTER)
    assert "only read text" in reply


async def test_empty_body_gets_the_menu(hooks: Webhooks) -> None:
    assert (await hooks.post(INBOUND, **signed_post(BASE_URL + INBOUND, inbound_fields(body="")))).status_code == 200
    (reply,) = await hooks.replies_to(SUPPORTER)
    assert "What would you like to do?" in reply


async def test_texting_in_clears_the_undeliverable_mark(hooks: Webhooks, clock) -> None:
    async with hooks.db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", [SUPPORTER], clock.now()))[SUPPORTER]
        supporters.update(tx, person, sms_undeliverable=1)
    assert (await hooks.post(INBOUND, **signed_post(BASE_URL + INBOUND, inbound_fields()))).status_code == 200
    async with hooks.db.transaction() as tx:
        assert (await supporters.find(tx, "sms", SUPPORTER)).sms_undeliverable == 0


# -- delivery reports ---------------------------------------------------------------

async def sent_message(db: Database, clock, sid: str, *, address: str = SUPPORTER,
                       broadcast_id: int | None = None) -> int:
    """An outbox row already sent through Twilio as `sid`; returns the supporter id."""
    async with db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", [address], clock.now()))[address]
        outbox.enqueue(tx, "sms", address, Reply("hi").to_payload(), clock.now(), supporter_id=person.id,
                       broadcast_id=broadcast_id, dedupe_key=f"test:{sid}")
        (row,) = await outbox.claim(tx, "sms", clock.now(), 1, address, owner="test", lease_until=clock.now())
        outbox.finish(tx, [outbox.Outcome(row.id, "sent", provider_id=sid)], clock.now(), "test")
    return person.id


async def report(hooks: Webhooks, sid: str, status: str, code: str | None = None,
                 to: str = SUPPORTER) -> httpx.Response:
    return await hooks.post(STATUS, **signed_post(BASE_URL + STATUS, status_fields(sid, status, code, to)))


async def delivery(hooks: Webhooks, sid: str) -> deliveries.Delivery | None:
    async with hooks.db.transaction() as tx:
        return await deliveries.get(tx, "sms", sid)


@pytest.mark.parametrize("order, final", [
    (["queued", "sending", "sent", "delivered"], "delivered"),
    (["queued", "delivered", "sent"], "delivered"),       # a late `sent` never overwrites `delivered`
    (["sent", "queued", "sending"], "sent"),
    (["failed", "sent", "queued"], "failed"),
    (["delivered", "delivered"], "delivered"),
], ids=["in order", "late sent", "late queued and sending", "failed stays failed", "repeated"])
async def test_status_never_goes_backwards(hooks: Webhooks, clock, order: list[str], final: str) -> None:
    await sent_message(hooks.db, clock, SID)
    for status in order:
        clock.advance(seconds=1)
        response = await report(hooks, SID, status)
        assert response.status_code == 200
    assert (await delivery(hooks, SID)).status == final


async def test_report_before_the_send_is_committed_is_kept(hooks: Webhooks, clock) -> None:
    assert (await report(hooks, SID, "sent")).status_code == 200
    await sent_message(hooks.db, clock, SID)
    assert (await report(hooks, SID, "delivered")).status_code == 200
    assert (await delivery(hooks, SID)).status == "delivered"


async def test_status_callback_needs_a_valid_signature(hooks: Webhooks, clock) -> None:
    await sent_message(hooks.db, clock, SID)
    fields = status_fields(SID, "delivered")
    unsigned = signed_post(BASE_URL + STATUS, fields)
    del unsigned["headers"]["X-Twilio-Signature"]
    assert (await hooks.post(STATUS, **unsigned)).status_code == 403
    assert (await hooks.post(STATUS, **signed_post(BASE_URL + STATUS, fields, token="x"))).status_code == 403
    wrong_path = signed_post(BASE_URL + STATUS, fields, signed_url=BASE_URL + INBOUND)
    assert (await hooks.post(STATUS, **wrong_path)).status_code == 403
    assert await delivery(hooks, SID) is None
    bad = {k: v for k, v in fields.items() if "Status" not in k}
    assert (await hooks.post(STATUS, **signed_post(BASE_URL + STATUS, bad))).status_code == 400


@pytest.mark.parametrize("code, opted_out, undeliverable", [
    ("21610", True, False),
    ("21211", False, True),
    ("21614", False, True),
    ("30006", False, True),
    ("30003", False, False),
    ("30007", False, False),
    (None, False, False),
])
async def test_error_code_effects(hooks: Webhooks, clock, code, opted_out, undeliverable) -> None:
    supporter_id = await sent_message(hooks.db, clock, SID, broadcast_id=7)
    assert (await report(hooks, SID, "undelivered" if code else "delivered", code)).status_code == 200
    async with hooks.db.transaction() as tx:
        person = await supporters.get(tx, supporter_id)
        history = await consent.history(tx, supporter_id)
        summary = await sms_status.report(tx, 7)
    assert (person.sms_consent == "opted_out") is opted_out
    assert [(h["action"], h["source"]) for h in history] == ([("opt_out", "carrier")] if opted_out else [])
    assert person.sms_undeliverable == int(undeliverable)
    assert summary.total == 1
    assert summary.errors == ({code: 1} if code else {})
    assert summary.unreachable == int(code == "30003")
    assert summary.filtered == int(code == "30007")
    assert summary.undeliverable == int(undeliverable)
    assert summary.delivered == int(code is None)


async def test_error_effect_found_by_number_when_the_send_is_not_committed_yet(hooks: Webhooks, clock) -> None:
    async with hooks.db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", [SUPPORTER], clock.now()))[SUPPORTER]
    assert (await report(hooks, SID, "failed", "30006")).status_code == 200
    async with hooks.db.transaction() as tx:
        assert (await supporters.get(tx, person.id)).sms_undeliverable == 1


async def test_repeated_error_report_acts_once(hooks: Webhooks, clock) -> None:
    supporter_id = await sent_message(hooks.db, clock, SID)
    for _ in range(2):
        assert (await report(hooks, SID, "undelivered", "21610")).status_code == 200
    async with hooks.db.transaction() as tx:
        assert len(await consent.history(tx, supporter_id)) == 1


async def test_broadcast_totals_per_status_and_error(hooks: Webhooks, clock) -> None:
    numbers = [f"+4477009001{n:02d}" for n in range(5)]
    for n, number in enumerate(numbers):
        await sent_message(hooks.db, clock, f"SM{n:032d}", address=number, broadcast_id=3)
    await sent_message(hooks.db, clock, "SM" + "9" * 32, address="+447700900199", broadcast_id=4)
    await report(hooks, "SM" + "0" * 32, "delivered", to=numbers[0])
    await report(hooks, f"SM{1:032d}", "delivered", to=numbers[1])
    await report(hooks, f"SM{2:032d}", "undelivered", "30007", to=numbers[2])
    await report(hooks, f"SM{3:032d}", "undelivered", "30003", to=numbers[3])
    async with hooks.db.transaction() as tx:
        totals = await deliveries.totals(tx, 3)
        summary = await sms_status.report(tx, 3)
    assert totals.statuses == {"delivered": 2, "undelivered": 2, "sent": 1}
    assert totals.errors == {"30007": 1, "30003": 1}
    assert (summary.total, summary.delivered, summary.pending, summary.failed) == (5, 2, 1, 2)
    assert (summary.filtered, summary.unreachable) == (1, 1)
