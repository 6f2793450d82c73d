"""A broadcast through the real dispatcher: replies overtake it, failures of each kind, the report."""
from __future__ import annotations

import json
from datetime import timedelta

from bot.channels.base import SendError
from flows.core.settings import FlowSettings
from flows.due import broadcasts as due_broadcasts
from flows.organiser import reports as broadcast_report
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import broadcasts as store
from storage import deliveries
from storage.broadcasts import Audience
from tests.flows.broadcast_support import organiser, person

SETTINGS = FlowSettings(sms_quiet_hours="")
ADMIN = Actor(trusted=True)


async def test_a_reply_overtakes_a_large_queued_broadcast(harness):
    sms = harness.channels["sms"]
    sms.pacer.rate = 20.0  # claims about a second's worth at a time
    async with harness.db.transaction() as tx:
        await tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000) "
            "INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
            "SELECT '+4474008' || printf('%05d', i), 'active', 'opted_in', 'sms', 'x' FROM n"
        )
        draft = await compose(tx, ADMIN, harness.clock.now(), body="Big news", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, ADMIN, harness.clock.now(), SETTINGS, typed="5000")
    await harness.dispatcher.drain_once("sms")  # the broadcast is under way
    await harness.send("sms", "+447400777777", "HELP")  # a supporter writes in mid-broadcast
    await harness.dispatcher.drain_once("sms")
    assert sms.messages("+447400777777"), "the reply waited behind the broadcast"
    async with harness.db.transaction() as tx:
        counts = await store.delivery_counts(tx, b.id)
    assert counts["sent"] <= 40 and counts["queued"] >= 4960


async def test_report_after_sends_fail_with_each_error_class(harness):
    sms = harness.channels["sms"]
    phones = [f"+4474003000{i:02d}" for i in range(8)]
    async with harness.db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        for number in phones:
            await person(tx, phone_number=number)
        draft = await compose(tx, me, harness.clock.now(), body="Hi {first_name}", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, me, harness.clock.now(), SETTINGS)
    sms.fail_next(SendError("opted out", retryable=False, code="21610", opt_out=True))
    sms.fail_next(SendError("landline", retryable=False, code="21614", undeliverable=True))
    sms.fail_next(SendError("filtered", retryable=False, code="30007"))
    sms.fail_next(SendError("slow down", retryable=True, code="20429", retry_after=1.0))
    sms.fail_next(RuntimeError("adapter bug"))  # we cannot know whether it went: unknown
    await harness.deliver()
    harness.clock.advance(seconds=5)
    await harness.deliver()  # the 20429 goes on its retry
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        rows = await tx.query("SELECT address, status, provider_id FROM outbox WHERE broadcast_id = ? ORDER BY id",
                              (b.id,))
        sent = [r for r in rows if r["status"] == "sent"]
        await deliveries.record(tx, "sms", sent[0]["provider_id"], "delivered", 4, None, now)
        await deliveries.record(tx, "sms", sent[1]["provider_id"], "undelivered", 4, "30003", now)
        assert await tx.scalar("SELECT sms_undeliverable FROM supporters WHERE phone = ?", (phones[1],)) == 1
        assert await tx.scalar("SELECT sms_consent FROM supporters WHERE phone = ?", (phones[0],)) == "opted_out"
    await harness.say("sms", sent[2]["address"], "thanks, see you there")
    await harness.say("sms", sent[3]["address"], "STOP")
    async with harness.db.transaction() as tx:
        await due_broadcasts.run_due(tx, harness.clock.now(), SETTINGS)
        report = await broadcast_report.build(tx, await store.get(tx, b.id), harness.clock.now())
    assert report.recipients == 8
    assert report.count("sent") == 4 and report.count("unknown") == 1 and report.pending == 0
    assert report.delivered == 1
    assert report.failed == {"21610": 1, "21614": 1, "30003": 1, "30007": 1}
    assert report.opt_outs == 1 and report.replies == 2
    assert report.broadcast.status == "sent"
    await harness.deliver()
    final = harness.channels["telegram"].pop("42")
    text = final[-1]["text"]
    assert f"Report for broadcast #{b.id}" in text
    assert "Sent: 4, delivered: 1, unknown: 1" in text and "21610: 1" in text and "Opt-outs within 24 hours: 1" in text


async def test_progress_reaches_the_organiser_for_a_large_broadcast(harness):
    async with harness.db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        for i in range(200):
            await person(tx, phone_number=f"+4474005{i:05d}")
        draft = await compose(tx, me, harness.clock.now(), body="Hi", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, me, harness.clock.now(), SETTINGS)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE id IN "
                         "(SELECT id FROM outbox WHERE broadcast_id = ? ORDER BY id LIMIT 110)", (b.id,))
        await due_broadcasts.run_due(tx, harness.clock.now() + timedelta(seconds=30), SETTINGS)
        await due_broadcasts.run_due(tx, harness.clock.now() + timedelta(seconds=60), SETTINGS)
        notes = [json.loads(r[0])["text"] for r in await tx.query(
            "SELECT payload FROM outbox WHERE address = '42' ORDER BY id")]
    assert notes == [f"Broadcast #{b.id}: 110 of 200 messages done."]
