"""`muster event …`, the public .ics route, and the real scheduler running the events due-work."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from bot import config
from bot.cli import app
from bot.service import Service
from flows.core.clock import FakeClock
from storage import consent, open_database, outbox, supporters
from storage import events as store
from storage.db import ts
from tests.harness import query_file

runner = CliRunner()


@pytest.fixture
def db_path(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("COLUMNS", "200")
    return path


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _add_supporter(path, phone: str, status: str) -> int:
    async def go():
        db = await open_database(str(path))
        try:
            async with db.transaction() as tx:
                now = datetime.now(UTC)
                person = (await supporters.find_or_create_many(tx, "sms", [phone], now))[phone]
                supporters.update(tx, person, first_name="Ada")
                consent.record(tx, person, "sms", "opt_in", "flow", now)
                await tx.flush()
                event = await store.get(tx, 1)
                await store.set_rsvp(tx, event.id, person.id, status, "sms", now)
                return person.id
        finally:
            await db.close()
    return asyncio.run(go())


def test_create_publish_edit_cancel_list(db_path):
    cli("group", "add", "Leeds", "--areas", "LS1")
    out = cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Civic Hall",
              "--capacity", "2", "--group", "Leeds", "--instructions", "Meet at the steps")
    assert "Created #1 Rally — Saturday 4 May 2030, 14:00 [draft]" in out
    assert "[published]" in cli("event", "publish", "1")
    assert "RSVPs will be told" in cli("event", "edit", "1", "--when", "2030-05-04 15:00")
    assert "told" not in cli("event", "edit", "1", "--title", "Big rally")
    [(version, starts, ends, status)] = query_file(db_path, "SELECT version, starts_at, ends_at, status FROM events")
    assert (version, status) == (2, "confirmed")
    assert starts.startswith("2030-05-04T14:00") and ends.startswith("2030-05-04T16:00")  # BST: UTC+1
    listing = cli("event", "list")
    assert "Big rally" in listing and "0/2" in listing
    assert "Cancelled #1" in cli("event", "cancel", "1")
    assert runner.invoke(app, ["event", "cancel", "1"]).exit_code == 1


def test_bad_input_is_refused_with_the_option_named(db_path):
    result = runner.invoke(app, ["event", "create", "--title", "X", "--when", "banana"])
    assert result.exit_code == 1 and "--when" in result.output
    result = runner.invoke(app, ["event", "create", "--title", "X", "--when", "2020-01-01 10:00"])
    assert result.exit_code == 1 and "in the past" in result.output
    result = runner.invoke(app, ["event", "create", "--title", "X", "--when", "2030-01-01 10:00", "--group", "Nope"])
    assert result.exit_code == 1 and "--group" in result.output
    assert runner.invoke(app, ["event", "report", "42"]).exit_code == 1


def _starts_in(path, delta: timedelta) -> None:
    """Move event 1 so it starts `delta` from now (the CLI only creates events still to come)."""
    start = datetime.now(UTC) + delta
    query_file(path, "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = 1",
               (ts(start), ts(start + timedelta(hours=2))))


def test_attendees_attendance_and_report(db_path):
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall", "--publish")
    going = _add_supporter(db_path, "+447400000001", "going")
    _add_supporter(db_path, "+447400000002", "maybe")
    other = _add_supporter(db_path, "+447400000003", "going")
    _starts_in(db_path, timedelta(minutes=-10))
    assert "marked as attended" in cli("event", "attend", "1", "--phone", "07400 000001")
    assert "not attended" in cli("event", "attend", "1", "--supporter", str(other), "--no")
    rows = list(csv.DictReader(io.StringIO(cli("event", "attendees", "1", "--csv"))))
    assert [(r["phone"], r["rsvp"], r["attended"]) for r in rows] == [  # a leading + is never a formula
        ("'+447400000001", "going", "yes"), ("'+447400000003", "going", "no"), ("'+447400000002", "maybe", ""),
    ]
    table = cli("event", "attendees", "1")
    assert "+447400000001" not in table and "Ada" in table  # masked outside CSV
    report = cli("event", "report", "1")
    cells = {tuple(c.strip() for c in line.strip("│ ").split("│")) for line in report.splitlines() if "│" in line}
    for label, count in (("going", 2), ("maybe", 1), ("attended", 1), ("no-shows", 1), ("waitlist", 0)):
        assert (label, str(count)) in cells, (label, report)
    assert going


def test_publish_with_announce_queues_once(db_path, monkeypatch):
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--online", "https://meet.example.org/r")
    _add_supporter(db_path, "+447400000001", "maybe")
    said = cli("event", "publish", "1", "--announce")
    assert "Announcement queued for 1 supporter (1 by SMS, 0 on Telegram) and 0 group chats." in said
    assert "SMS waits" not in said
    assert runner.invoke(app, ["event", "publish", "1", "--announce"]).exit_code == 1
    assert query_file(db_path, "SELECT dedupe_key, priority FROM outbox") == [("announce:1:1", outbox.BULK)]


def test_publish_with_announce_says_up_front_when_sms_wait_for_quiet_hours(db_path, monkeypatch):
    # Quiet from an hour ago until two hours from now (London time), whatever the time of the run.
    zone = ZoneInfo("Europe/London")
    now = datetime.now(zone)
    opens = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    monkeypatch.setenv("SMS_QUIET_HOURS", f"{(now - timedelta(hours=1)):%H:%M}-{opens:%H:%M}")
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall")
    _add_supporter(db_path, "+447400000001", "maybe")
    said = " ".join(cli("event", "publish", "1", "--announce").split())
    assert f"SMS waits until {opens:%a} {opens.day} {opens:%b %H:%M %Z} (quiet hours)." in said, said
    [(not_before,)] = query_file(db_path, "SELECT not_before FROM outbox")
    assert not_before.startswith(ts(opens.astimezone(UTC))[:16])


def test_a_capacity_below_those_going_asks_keep_or_waitlist(db_path):
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall", "--publish")
    first = _add_supporter(db_path, "+447400000001", "going")
    second = _add_supporter(db_path, "+447400000002", "going")
    third = _add_supporter(db_path, "+447400000003", "going")
    asked = runner.invoke(app, ["event", "edit", "1", "--capacity", "2"])
    assert asked.exit_code == 1
    line = " ".join(asked.output.split())
    assert "--capacity: 3 people are already going, more than 2 places" in line
    assert "--extra keep" in line and "--extra waitlist" in line and "the 1 person who said going most recently" in line
    assert query_file(db_path, "SELECT capacity FROM events") == [(None,)]
    assert runner.invoke(app, ["event", "edit", "1", "--capacity", "2", "--extra", "maybe"]).exit_code == 1
    # Keep: everyone keeps their place, the capacity only stops new ones.
    kept = cli("event", "edit", "1", "--capacity", "2", "--extra", "keep")
    assert "Kept 1 person going beyond the capacity" in kept
    assert "3/2" in cli("event", "list")
    # Waitlist: the most recent one goes to the top of the waitlist, ahead of someone already on it.
    waiting = _add_supporter(db_path, "+447400000004", "waitlisted")
    moved = cli("event", "edit", "1", "--capacity", "1", "--extra", "waitlist")
    assert "Moved 2 people from going to the top of the waitlist" in moved
    rows = query_file(db_path, "SELECT supporter_id, status FROM rsvps ORDER BY status, updated_at, supporter_id")
    assert rows == [(first, "going"), (second, "waitlisted"), (third, "waitlisted"), (waiting, "waitlisted")]
    told = query_file(db_path, "SELECT supporter_id, dedupe_key, payload FROM outbox ORDER BY id")
    assert [r[0] for r in told] == [second, third]
    assert all(r[1].startswith(f"unplace:1:{r[0]}:") and "top of the waitlist" in r[2] for r in told)


def test_an_event_needs_a_place_on_create_and_edit(db_path):
    result = runner.invoke(app, ["event", "create", "--title", "Rally", "--when", "2030-05-04 14:00"])
    assert result.exit_code == 1 and "--venue: say where it is" in result.output and "online link" in result.output
    assert query_file(db_path, "SELECT COUNT(*) FROM events") == [(0,)]
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--postcode", "LS1 1UR")
    assert "Updated" in cli("event", "edit", "1", "--venue", "Civic Hall", "--postcode", "")
    result = runner.invoke(app, ["event", "edit", "1", "--venue", ""])
    assert result.exit_code == 1 and "say where it is" in result.output
    assert query_file(db_path, "SELECT venue, postcode FROM events") == [("Civic Hall", None)]


def test_attendance_is_marked_only_from_an_hour_before_the_start(db_path):
    cli("event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall", "--publish")
    person = _add_supporter(db_path, "+447400000001", "going")
    _starts_in(db_path, timedelta(hours=3))
    early = runner.invoke(app, ["event", "attend", "1", "--supporter", str(person)])
    assert early.exit_code == 1 and "attendance can be marked from" in early.output
    assert "an hour before the start" in " ".join(early.output.split())
    assert query_file(db_path, "SELECT attended FROM rsvps") == [(None,)]
    _starts_in(db_path, timedelta(minutes=50))  # the door opens early
    assert "marked as attended" in cli("event", "attend", "1", "--supporter", str(person))
    assert query_file(db_path, "SELECT attended FROM rsvps") == [(1,)]
    assert query_file(db_path, "SELECT action, detail FROM audit_log WHERE action = 'event.attend'") == [
        ("event.attend", f"supporter:{person} attended")]


async def test_ics_route_serves_published_events_only(tmp_path):
    settings = config.load(MUSTER_DB_PATH=str(tmp_path / "web.db"), MUSTER_DEMO=False)
    service = Service(settings, FakeClock())
    service.db = await open_database(str(settings.db_path))
    start = datetime(2030, 5, 4, 13, 0, tzinfo=UTC)
    async with service.db.transaction() as tx:
        await store.create(tx, public_id="pubok1234", title="Rally", starts_at=start,
                           ends_at=start + timedelta(hours=2), now=start, status="confirmed", venue="Hall")
        await store.create(tx, public_id="draft1234", title="Secret", starts_at=start,
                           ends_at=start + timedelta(hours=2), now=start)
    try:
        transport = httpx.ASGITransport(app=service.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            ok = await client.get("/events/pubok1234.ics")
            assert ok.status_code == 200 and ok.headers["content-type"].startswith("text/calendar")
            [item] = Calendar.from_ical(ok.content).walk("VEVENT")
            assert item.decoded("dtstart") == start
            assert (await client.get("/events/draft1234.ics")).status_code == 404
            assert (await client.get("/events/nothere99.ics")).status_code == 404
            assert (await client.get("/events/..%2f.ics")).status_code == 404
    finally:
        await service.db.close()


async def test_the_real_scheduler_runs_the_events_job_a_second_away(tmp_path):
    """The one test that starts APScheduler: a wake-up one second away sends a due reminder."""
    clock = FakeClock()  # Monday: nothing due yet
    settings = config.load(MUSTER_DB_PATH=str(tmp_path / "sched.db"), MUSTER_DEMO=False)
    service = Service(settings, clock)
    service.db = await open_database(str(settings.db_path))
    start = datetime(2026, 11, 7, 19, 0, tzinfo=UTC)
    async with service.db.transaction() as tx:
        event = await store.create(tx, public_id="sched1234", title="Rally", starts_at=start,
                                   ends_at=start + timedelta(hours=2), now=clock.now(), status="confirmed")
        person = (await supporters.find_or_create_many(tx, "sms", ["+447400000001"], clock.now()))["+447400000001"]
        consent.record(tx, person, "sms", "opt_in", "flow", clock.now())
        await tx.flush()
        await store.set_rsvp(tx, event.id, person.id, "going", "sms", clock.now())
    service._register_jobs()
    assert "events" in service.scheduler.work
    service.scheduler.sweep_seconds = 3600
    service.scheduler.start()
    try:
        await asyncio.sleep(0.2)  # the start-up sweep: nothing due on Monday
        async with service.db.transaction() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 0
        clock.set(datetime(2026, 11, 6, 10, 0, tzinfo=UTC))
        service.scheduler.wake_at(datetime.now(UTC) + timedelta(seconds=1), "test")
        for _ in range(60):
            await asyncio.sleep(0.1)
            async with service.db.transaction() as tx:
                keys = [r[0] for r in await tx.query("SELECT dedupe_key FROM outbox")]
            if keys:
                break
        assert keys == [f"remind:{event.id}:{person.id}:day-before@10:00:2026-11-07"]
    finally:
        service.scheduler.stop()
        await service.db.close()


def test_a_bad_reminder_setting_is_named_at_start_up():
    with pytest.raises(config.ConfigError, match="MUSTER_EVENT_REMINDERS"):
        config.load(MUSTER_EVENT_REMINDERS="the day before")
    assert config.load(MUSTER_EVENT_REMINDERS="2d-before@18:00,30m").flow_settings().event_reminders == (
        "2d-before@18:00,30m"
    )
