"""Scheduled, repeating, missed and cancelled broadcasts, and quiet hours, on a fake clock."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flows.core.settings import FlowSettings
from flows.due import broadcasts as due_broadcasts
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, parse_time
from flows.organiser.errors import BroadcastError
from flows.values.quiet_hours import QuietHours
from storage import broadcasts as store
from storage import outbox
from storage.broadcasts import Audience
from storage.db import parse_ts, ts
from tests.flows.broadcast_support import NOW, organiser, person

ADMIN = Actor(trusted=True)
SETTINGS = FlowSettings(sms_quiet_hours="")
QUIET = FlowSettings(sms_quiet_hours="21:00-09:00")
UTC = UTC


async def _outbox(tx, bid):
    return await tx.query("SELECT channel, status, not_before, payload FROM outbox WHERE broadcast_id = ?", (bid,))


async def _notes(tx, address):
    return [json.loads(r[0])["text"] for r in await tx.query(
        "SELECT payload FROM outbox WHERE address = ? ORDER BY id", (address,))]


def test_local_time_is_parsed_in_the_deployment_zone():
    when = parse_time("2026-11-05 18:00", NOW, "Europe/London")
    assert when.astimezone(UTC) == datetime(2026, 11, 5, 18, 0, tzinfo=UTC)  # GMT in November
    summer = parse_time("2027-07-05 18:00", NOW, "Europe/London")
    assert summer.astimezone(UTC).hour == 17  # BST
    assert parse_time("now", NOW, "Europe/London") is None
    with pytest.raises(BroadcastError, match="passed"):
        parse_time("2026-11-01 18:00", NOW, "Europe/London")
    with pytest.raises(BroadcastError):
        parse_time("whenever", NOW, "Europe/London")


async def test_scheduled_broadcast_waits_then_goes(db):
    at = NOW + timedelta(hours=6)
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="Hi", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, when=at)
        assert b.status == "scheduled" and parse_ts(b.send_at) == at
        assert await store.upcoming(tx, NOW) == [ts(at)]
        await due_broadcasts.run_due(tx, at - timedelta(minutes=1), SETTINGS)
        assert await _outbox(tx, b.id) == []
        await due_broadcasts.run_due(tx, at + timedelta(seconds=30), SETTINGS)
        assert (await store.get(tx, b.id)).status == "sending"
        assert len(await _outbox(tx, b.id)) == 1
        await due_broadcasts.run_due(tx, at + timedelta(minutes=1), SETTINGS)
        assert len(await _outbox(tx, b.id)) == 1  # never twice


async def test_audience_is_evaluated_when_it_starts(db):
    at = NOW + timedelta(hours=1)
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="Hi", audience=Audience())
        b = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, when=at)
        await person(tx)  # joined after it was scheduled
        await due_broadcasts.run_due(tx, at, SETTINGS)
        assert (await store.get(tx, b.id)).recipients == 2


async def test_late_within_grace_still_goes_beyond_it_is_missed_and_the_organiser_told(db):
    at = NOW + timedelta(hours=1)
    async with db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        await person(tx)
        first = await broadcast_send.confirm(
            tx, await compose(tx, me, NOW, body="A", audience=Audience()), me, NOW, SETTINGS, when=at)
        second = await broadcast_send.confirm(
            tx, await compose(tx, me, NOW, body="B", audience=Audience()), me, NOW, SETTINGS,
            when=at + timedelta(hours=1))
        # the service was down: it comes back 50 minutes after the second one was due
        await due_broadcasts.run_due(tx, at + timedelta(hours=1, minutes=50), SETTINGS)
        assert (await store.get(tx, first.id)).status == "missed"
        assert await _outbox(tx, first.id) == []
        assert (await store.get(tx, second.id)).status == "sending"
        notes = await _notes(tx, "42")
        assert any(f"#{first.id} was due" in n and "not sent" in n for n in notes)
        await due_broadcasts.run_due(tx, at + timedelta(hours=2), SETTINGS)
        assert len([n for n in await _notes(tx, "42") if "was due" in n]) == 1  # told once


async def test_repeating_daily_runs_each_day_at_the_same_local_time(db):
    at = datetime(2026, 3, 27, 18, 0, tzinfo=UTC)  # Friday 18:00 GMT; clocks go forward on Sunday
    now = at - timedelta(hours=1)
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, now, body="Daily", audience=Audience())
        template = await broadcast_send.confirm(tx, draft, ADMIN, now, SETTINGS, when=at, repeat="daily")
        sent = []
        for day in range(3):
            moment = at + timedelta(days=day) - (timedelta(hours=1) if day == 2 else timedelta())
            await due_broadcasts.run_due(tx, moment, SETTINGS)
            sent = await tx.query("SELECT id, parent_id FROM broadcasts WHERE parent_id = ? ORDER BY id",
                                  (template.id,))
            assert len(sent) == day + 1
        template = await store.get(tx, template.id)
        assert template.status == "scheduled"
        # Monday 18:00 BST is 17:00 UTC
        assert parse_ts(template.send_at) == datetime(2026, 3, 30, 17, 0, tzinfo=UTC)
        assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 3  # one per occurrence
        await broadcast_send.cancel(tx, template, ADMIN, now)
        await due_broadcasts.run_due(tx, datetime(2026, 4, 5, tzinfo=UTC), SETTINGS)
        assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 3


async def test_repeating_weekly_skips_missed_occurrences(db):
    at = NOW + timedelta(hours=1)
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="Weekly", audience=Audience())
        template = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, when=at, repeat="weekly")
        await due_broadcasts.run_due(tx, at + timedelta(days=15), SETTINGS)  # down for two weeks
        assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 0
        assert parse_ts((await store.get(tx, template.id)).send_at) == at + timedelta(days=21)


async def test_cancel_drops_queued_rows_at_once(db):
    async with db.transaction() as tx:
        for _ in range(5):
            await person(tx)
        b = await broadcast_send.confirm(
            tx, await compose(tx, ADMIN, NOW, body="Hi", audience=Audience()), ADMIN, NOW, SETTINGS)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE id IN "
                         "(SELECT id FROM outbox WHERE broadcast_id = ? ORDER BY id LIMIT 2)", (b.id,))
        dropped = await broadcast_send.cancel(tx, b, ADMIN, NOW)
        assert dropped == 3
        statuses = sorted(r["status"] for r in await _outbox(tx, b.id))
        assert statuses == ["cancelled"] * 3 + ["sent"] * 2
        assert (await store.get(tx, b.id)).status == "cancelled"
        with pytest.raises(BroadcastError, match="already cancelled"):
            await broadcast_send.cancel(tx, await store.get(tx, b.id), ADMIN, NOW)


async def test_cancel_a_scheduled_broadcast_before_it_starts(db):
    at = NOW + timedelta(hours=1)
    async with db.transaction() as tx:
        await person(tx)
        b = await broadcast_send.confirm(
            tx, await compose(tx, ADMIN, NOW, body="Hi", audience=Audience()), ADMIN, NOW, SETTINGS, when=at)
        await broadcast_send.cancel(tx, b, ADMIN, NOW)
        await due_broadcasts.run_due(tx, at, SETTINGS)
        assert await _outbox(tx, b.id) == []


async def test_cancel_after_the_last_message_has_gone_is_refused(db):
    async with db.transaction() as tx:
        await person(tx)
        b = await broadcast_send.confirm(
            tx, await compose(tx, ADMIN, NOW, body="Hi", audience=Audience()), ADMIN, NOW, SETTINGS)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE broadcast_id = ?", (b.id,))
        with pytest.raises(BroadcastError, match="already"):
            await broadcast_send.cancel(tx, await store.get(tx, b.id), ADMIN, NOW)


def test_quiet_hours_window():
    quiet = QuietHours.parse("21:00-09:00", "Europe/London")
    evening = datetime(2026, 11, 2, 22, 30, tzinfo=UTC)
    assert quiet.quiet(evening)
    assert quiet.opens(evening) == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    early = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
    assert quiet.opens(early) == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert not quiet.quiet(NOW) and quiet.opens(NOW) == NOW
    summer = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)  # 21:30 BST
    assert quiet.quiet(summer) and quiet.opens(summer) == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)
    assert not QuietHours.parse("", "Europe/London").quiet(evening)
    with pytest.raises(ValueError):
        QuietHours.parse("9pm-9am")


async def test_bulk_sms_in_quiet_hours_waits_for_the_window_telegram_does_not(db):
    evening = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        await person(tx)
        await person(tx, sms=None, telegram="opted_in")
        draft = await compose(tx, ADMIN, evening, body="Hi", audience=Audience())
        p = await broadcast_send.preview(tx, draft, evening, QUIET)
        assert p.quiet_until == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
        assert "wait until" in broadcast_send.describe(p, QUIET)
        b = await broadcast_send.confirm(tx, draft, ADMIN, evening, QUIET)
        by = {r["channel"]: r["not_before"] for r in await _outbox(tx, b.id)}
    assert by == {"sms": ts(datetime(2026, 11, 3, 9, 0, tzinfo=UTC)), "telegram": ts(evening)}


async def test_urgent_alert_overrides_quiet_hours_only_for_admins(db):
    evening = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        role = await organiser(tx, "organiser", telegram_id=5)
        plain = Actor((role,), "telegram:5")
        await person(tx)
        alert = await compose(tx, ADMIN, evening, body="Polls close soon", audience=Audience(), kind="alert",
                              cta_text="Vote")
        with pytest.raises(BroadcastError, match="admin"):
            await broadcast_send.confirm(tx, alert, plain, evening, QUIET, urgent=True)
        news = await compose(tx, ADMIN, evening, body="News", audience=Audience())
        with pytest.raises(BroadcastError, match="alert"):
            await broadcast_send.confirm(tx, news, ADMIN, evening, QUIET, urgent=True)
        b = await broadcast_send.confirm(tx, alert, ADMIN, evening, QUIET, urgent=True)
        assert [r["not_before"] for r in await _outbox(tx, b.id)] == [ts(evening)]
        assert b.urgent == 1


async def test_replies_to_a_supporter_are_never_held_by_quiet_hours(harness):
    harness.clock.set(datetime(2026, 11, 2, 23, 0, tzinfo=UTC))
    replies = await harness.say("sms", "+447400123456", "HELP")
    assert replies  # answered at 23:00 straight away


def test_times_read_as_the_next_such_moment():
    monday_noon = NOW  # Monday 2 November 2026, 12:00 GMT
    assert parse_time("18:00", monday_noon, "Europe/London") == datetime(2026, 11, 2, 18, 0, tzinfo=UTC)
    assert parse_time("09:00", monday_noon, "Europe/London") == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert parse_time("Mon 09:00", monday_noon, "Europe/London") == datetime(2026, 11, 9, 9, 0, tzinfo=UTC)


async def test_organiser_is_told_when_sms_waits_for_quiet_hours(db):
    evening = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        await person(tx)
        b = await broadcast_send.confirm(
            tx, await compose(tx, me, evening, body="Hi", audience=Audience()), me, evening, QUIET)
        notes = await _notes(tx, "42")
    assert notes == [f"Broadcast #{b.id}: Telegram messages are going now; SMS waits for quiet hours "
                     "to end at Tue 3 Nov 2026 09:00 GMT."]


async def test_quiet_hours_beginning_mid_broadcast_hold_the_sms_not_yet_sent(db):
    before = datetime(2026, 11, 2, 20, 55, tzinfo=UTC)
    morning = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    async with db.transaction() as tx:
        role = await organiser(tx, "admin", telegram_id=42)
        me = Actor((role,), "telegram:42", "telegram", "42")
        for _ in range(3):
            await person(tx)
        await person(tx, sms=None, telegram="opted_in")
        news = await broadcast_send.confirm(
            tx, await compose(tx, me, before, body="News", audience=Audience()), me, before, QUIET)
        alert = await broadcast_send.confirm(
            tx, await compose(tx, me, before, body="Vote", audience=Audience(), kind="alert", cta_text="Vote"),
            me, before, QUIET, urgent=True)
        await tx.execute("UPDATE outbox SET status = 'sent' WHERE id = (SELECT MIN(id) FROM outbox "
                         "WHERE broadcast_id = ? AND channel = 'sms')", (news.id,))
        outbox.enqueue(tx, "sms", "+447400000009", "{}", before, priority=outbox.BULK,  # an event announcement
                       dedupe_key="announce:1:1")
        assert due_broadcasts.quiet_hours_begin(before, QUIET) == datetime(2026, 11, 2, 21, 0, tzinfo=UTC)
        await due_broadcasts.run_due(tx, before + timedelta(minutes=2), QUIET)  # not quiet yet
        assert {r["not_before"] for r in await _outbox(tx, news.id)} == {ts(before)}
        await due_broadcasts.run_due(tx, before + timedelta(minutes=6), QUIET)
        held = {(r["channel"], r["status"], r["not_before"]) for r in await _outbox(tx, news.id)}
        assert held == {("sms", "sent", ts(before)), ("sms", "queued", ts(morning)), ("telegram", "queued", ts(before))}
        assert {r["not_before"] for r in await _outbox(tx, alert.id)} == {ts(before)}  # urgent goes on
        assert await tx.scalar("SELECT not_before FROM outbox WHERE dedupe_key = 'announce:1:1'") == ts(morning)
        await due_broadcasts.run_due(tx, before + timedelta(minutes=7), QUIET)
        notes = await _notes(tx, "42")
    assert notes.count(f"Broadcast #{news.id}: quiet hours have begun; the SMS not yet sent waits until "
                       "Tue 3 Nov 2026 09:00 GMT.") == 1


async def test_repeating_from_now_sends_the_first_at_once(db):
    async with db.transaction() as tx:
        await person(tx)
        draft = await compose(tx, ADMIN, NOW, body="Daily", audience=Audience())
        template = await broadcast_send.confirm(tx, draft, ADMIN, NOW, SETTINGS, repeat="daily")
        assert template.status == "scheduled" and parse_ts(template.send_at) == NOW + timedelta(days=1)
        (child,) = await tx.query("SELECT id, status FROM broadcasts WHERE parent_id = ?", (template.id,))
        assert child["status"] == "sending"
        assert await tx.scalar("SELECT COUNT(*) FROM outbox WHERE broadcast_id = ?", (child["id"],)) == 1
