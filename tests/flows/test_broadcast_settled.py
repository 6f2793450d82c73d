"""A broadcast is `sent` the moment its last message is settled (sent, failed or unknown), not at the
scheduler's next sweep: reports stop saying "sending" once everything has gone. The organiser's final
report still comes once, at the sweep after, when receipts have had a moment to arrive."""
from __future__ import annotations

import json

from bot.channels.base import SendError
from flows.core.settings import FlowSettings
from flows.due import broadcasts as due_broadcasts
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import broadcasts as store
from storage.broadcasts import Audience
from tests.flows.broadcast_support import organiser, person

SETTINGS = FlowSettings(sms_quiet_hours="")


async def _broadcast(harness, people: int = 4) -> tuple[int, Actor]:
    async with harness.db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        for _ in range(people):
            await person(tx)
        draft = await compose(tx, me, harness.clock.now(), body="Rally on Saturday", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, me, harness.clock.now(), SETTINGS)
    return b.id, me


async def _status(harness, broadcast_id: int) -> tuple[str, str | None]:
    async with harness.db.transaction() as tx:
        b = await store.fetch(tx, broadcast_id)
    return b.status, b.finished_at


async def _reports_to_organiser(harness) -> list[str]:
    async with harness.db.transaction() as tx:
        rows = await tx.query("SELECT payload FROM outbox WHERE address = '42' ORDER BY id")
    return [json.loads(r[0])["text"] for r in rows if "Report for" in json.loads(r[0])["text"]]


async def test_the_last_message_settled_marks_it_sent_at_once_and_the_report_follows_once(harness) -> None:
    broadcast_id, _ = await _broadcast(harness)
    assert (await _status(harness, broadcast_id))[0] == "sending"
    await harness.dispatcher.drain_once("sms")
    status, finished = await _status(harness, broadcast_id)
    assert status == "sent" and finished is not None, "no sweep was needed"
    assert await _reports_to_organiser(harness) == [], "the report waits for the sweep (and the receipts)"
    for _ in range(3):
        async with harness.db.transaction() as tx:
            await due_broadcasts.run_due(tx, harness.clock.now(), SETTINGS)
    told = await _reports_to_organiser(harness)
    assert len(told) == 1 and f"Report for broadcast #{broadcast_id} (sent)" in told[0]
    assert "Sent: 4" in told[0]


async def test_a_message_waiting_for_its_retry_keeps_it_sending(harness) -> None:
    broadcast_id, _ = await _broadcast(harness, people=3)
    harness.channels["sms"].fail_next(SendError("slow down", retryable=True, code="20429", retry_after=1.0))
    await harness.dispatcher.drain_once("sms")
    assert (await _status(harness, broadcast_id))[0] == "sending", "one message is still queued for its retry"
    harness.clock.advance(seconds=5)
    await harness.dispatcher.drain_once("sms")
    assert (await _status(harness, broadcast_id))[0] == "sent"


async def test_failed_and_unknown_messages_are_settled_too(harness) -> None:
    broadcast_id, me = await _broadcast(harness, people=3)
    sms = harness.channels["sms"]
    sms.fail_next(SendError("filtered", retryable=False, code="30007"))
    sms.fail_next(SendError("no answer", retryable=False, code="timeout", maybe_sent=True))
    await harness.dispatcher.drain_once("sms")
    assert (await _status(harness, broadcast_id))[0] == "sent"
    async with harness.db.transaction() as tx:
        counts = await store.delivery_counts(tx, broadcast_id)
        assert counts == {"sent": 1, "failed": 1, "unknown": 1}
        b = await store.fetch(tx, broadcast_id)
        assert await broadcast_send.resend_unknown(tx, b, me, harness.clock.now(), SETTINGS) == 1
    assert (await _status(harness, broadcast_id))[0] == "sending", "sending again what was in doubt"
    await harness.dispatcher.drain_once("sms")
    assert (await _status(harness, broadcast_id))[0] == "sent"


async def test_a_reply_going_out_leaves_a_broadcast_still_sending_alone(harness) -> None:
    broadcast_id, _ = await _broadcast(harness, people=2)
    await harness.send("sms", "+447400123999", "HELP")
    await harness.dispatcher.drain_once("sms", "+447400123999")  # only the reply goes
    assert harness.channels["sms"].messages("+447400123999")
    assert (await _status(harness, broadcast_id))[0] == "sending"
    await harness.dispatcher.drain_once("sms")
    assert (await _status(harness, broadcast_id))[0] == "sent"
