"""Creating, editing and cancelling an event: one set of rules, whichever front asks."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.events import CLI
from flows.organiser import events as event_ops
from flows.organiser.access import Actor
from flows.organiser.errors import EventError, ScopeError, UnknownSupporter
from storage import events as store
from tests.flows import events_support as es
from tests.harness import query_file

NOW = es.SAT_7PM - timedelta(days=5)
runner = CliRunner()


@pytest.mark.parametrize(("field", "value", "reason"), [
    ("title", "   ", "give the event a name"),
    ("title", "x" * (event_ops.MAX_TITLE + 1), "at most 120 characters"),
    ("venue", "x" * (event_ops.MAX_VENUE + 1), "at most 200 characters"),
    ("description", "x" * (event_ops.MAX_DETAILS + 1), "at most 1,000 characters"),
    ("online_url", "zoom on Tuesday", "web address"),
    ("capacity", 0, "from 1 to 100,000"),
    ("capacity", event_ops.MAX_CAPACITY + 1, "from 1 to 100,000"),
    ("starts_at", NOW - timedelta(minutes=1), "already passed"),
])
def test_each_rule_names_its_field(field, value, reason):
    with pytest.raises(EventError, match=reason) as refused:
        event_ops.check(field, value, NOW)
    assert refused.value.field == field


def test_what_passes_is_kept_as_given_but_a_title_is_trimmed():
    assert event_ops.check("title", "  Rally ", NOW) == "Rally"
    assert event_ops.check("venue", "x" * event_ops.MAX_VENUE, NOW) == "x" * event_ops.MAX_VENUE
    assert event_ops.check("capacity", None, NOW) is None
    assert event_ops.check("online_url", "https://meet.example.org/x", NOW) == "https://meet.example.org/x"


async def test_a_new_start_keeps_the_length_and_a_capacity_raise_fills_from_the_waitlist(harness):
    event = await es.make_event(harness, capacity=1, hours=3)
    first = await es.supporter(harness, "telegram", "1")
    second = await es.supporter(harness, "telegram", "2")
    async with harness.db.transaction() as tx:
        await store.set_rsvp(tx, event.id, first.id, "going", "telegram", harness.clock.now())
        await store.set_rsvp(tx, event.id, second.id, "waitlisted", "telegram", harness.clock.now())
        edited = await event_ops.edit(tx, CLI, event, harness.clock.now(), settings=harness.engine.settings,
                                      starts_at=es.SAT_7PM + timedelta(hours=1), capacity=2)
        assert (edited.changed, edited.moved, edited.promoted) == (("capacity", "ends_at", "starts_at"), True,
                                                                   (second.id,))
        assert event.end - event.start == timedelta(hours=3)
        with pytest.raises(EventError, match="end must come after"):
            await event_ops.edit(tx, CLI, event, harness.clock.now(), settings=harness.engine.settings,
                                 ends_at=event.start)
        detail = await tx.scalar("SELECT detail FROM audit_log WHERE action = 'event.edit'")
    assert detail == "changed capacity, ends_at, starts_at; RSVPs will be told; 1 moved up from the waitlist"
    assert (await es.rsvp_of(harness, event.id, second.id)).status == "going"


async def test_an_unknown_group_or_a_field_that_is_not_the_organisers_is_refused(harness):
    async with harness.db.transaction() as tx:
        with pytest.raises(EventError, match="no local group") as refused:
            await event_ops.create(tx, CLI, harness.clock.now(), title="Rally", starts_at=es.SAT_7PM,
                                   timezone="Europe/London", group_id=99)
        assert refused.value.field == "group_id"
        with pytest.raises(EventError, match="not event fields: version"):
            await event_ops.create(tx, CLI, harness.clock.now(), title="Rally", starts_at=es.SAT_7PM,
                                   timezone="Europe/London", version=7)
        assert await tx.scalar("SELECT COUNT(*) FROM events") == 0


def test_the_cli_names_the_option_for_rules_the_chat_already_had(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("COLUMNS", "200")
    base = ["event", "create", "--title", "Rally", "--when", "2030-05-04 14:00"]
    for extra, message in ((["--venue", "x" * 201], "--venue: at most 200 characters"),
                           (["--online", "zoom"], "--online: give a web address"),
                           (["--capacity", "100001"], "--capacity: a whole number from 1 to 100,000"),
                           (["--title", " "], "--title: give the event a name")):
        done = runner.invoke(app, [*base, *extra])
        assert done.exit_code == 1 and message in done.output, done.output
    assert query_file(path, "SELECT COUNT(*) FROM events") == [(0,)]
    assert runner.invoke(app, [*base, "--online", "https://meet.example.org/rally"]).exit_code == 0
    done = runner.invoke(app, ["event", "edit", "1", "--online", "not a link"])
    assert done.exit_code == 1 and "--online: give a web address" in done.output
    assert query_file(path, "SELECT online_url FROM events") == [("https://meet.example.org/rally",)]


async def test_an_event_needs_a_place_on_create_and_on_an_edit_that_would_leave_it_none(harness):
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        with pytest.raises(EventError, match="say where it is") as refused:
            await event_ops.create(tx, CLI, now, title="Rally", starts_at=es.SAT_7PM, timezone="Europe/London",
                                   venue="  ", online_url="")
        assert refused.value.field == "venue"
        event = await event_ops.create(tx, CLI, now, title="Rally", starts_at=es.SAT_7PM, timezone="Europe/London",
                                       postcode="LS1 1UR")
        settings = harness.engine.settings
        with pytest.raises(EventError, match="say where it is"):
            await event_ops.edit(tx, CLI, event, now, settings=settings, postcode="")
        await event_ops.edit(tx, CLI, event, now, settings=settings, postcode="", online_url="https://meet.example.org/r")
        assert (event.postcode, event.online_url) == (None, "https://meet.example.org/r")


async def test_a_capacity_question_is_asked_only_when_the_new_number_is_below_those_going(harness):
    event = await es.make_event(harness, capacity=5)
    people = [await es.supporter(harness, "telegram", str(n)) for n in range(1, 4)]
    settings, now = harness.engine.settings, harness.clock.now()
    async with harness.db.transaction() as tx:
        for person in people:
            await store.set_rsvp(tx, event.id, person.id, "going", "telegram", now)
        await event_ops.edit(tx, CLI, event, now, settings=settings, capacity=3)  # exactly full: no question
        with pytest.raises(event_ops.CapacityQuestion) as asked:
            await event_ops.edit(tx, CLI, event, now, settings=settings, capacity=1, title="Smaller")
        assert (asked.value.going, asked.value.capacity, asked.value.extra) == (3, 1, 2)
        assert (event.capacity, event.title) == (3, "Housing rally")  # nothing changed
        with pytest.raises(EventError, match="keep everyone going, or move"):
            await event_ops.edit(tx, CLI, event, now, settings=settings, capacity=1, extra="drop")
        kept = await event_ops.edit(tx, CLI, event, now, settings=settings, capacity=1, extra="keep")
        assert (kept.kept, kept.waitlisted) == (2, ())
        # Sent again with the same number, it is not asked again.
        await event_ops.edit(tx, CLI, event, now, settings=settings, capacity=1, title="Smaller")
        assert await store.count_going(tx, event.id) == 3
        detail = await tx.scalar("SELECT detail FROM audit_log WHERE action = 'event.edit' ORDER BY id DESC LIMIT 1 "
                                 "OFFSET 1")
    assert detail == "changed capacity; 2 going beyond the capacity kept"


async def test_attendance_is_marked_from_an_hour_before_the_start_and_walk_ins_must_be_in_reach(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    york = await es.group(harness, "York", ["YO1"])
    role = await es.organiser(harness, "organiser", telegram_id=9001, group_id=leeds.id)
    local = Actor((role,), "telegram:supporter:1")
    start = harness.clock.now() + timedelta(hours=3)
    event = await es.make_event(harness, starts=start, group_id=leeds.id)
    leeds_member = await es.supporter(harness, "sms", "+447400000001", group_id=leeds.id)
    york_member = await es.supporter(harness, "sms", "+447400000002", group_id=york.id)
    york_rsvp = await es.supporter(harness, "sms", "+447400000003", group_id=york.id)
    async with harness.db.transaction() as tx:
        await store.set_rsvp(tx, event.id, york_rsvp.id, "going", "sms", harness.clock.now())
        with pytest.raises(EventError, match=r"attendance can be marked from Mon 2 Nov 14:00 GMT, an hour before"):
            await event_ops.mark_attended(tx, local, event, leeds_member.id, True, harness.clock.now())
    harness.clock.advance(hours=2)  # an hour before the start: the door is open
    async with harness.db.transaction() as tx:
        walk_in = await event_ops.mark_attended(tx, local, event, leeds_member.id, True, harness.clock.now())
        assert walk_in.walk_in and walk_in.attended
        listed = await event_ops.mark_attended(tx, local, event, york_rsvp.id, True, harness.clock.now())
        assert not listed.walk_in  # they RSVPed: on the list whatever their group
        with pytest.raises(UnknownSupporter):
            await event_ops.mark_attended(tx, local, event, york_member.id, True, harness.clock.now())
        await event_ops.mark_attended(tx, local, event, york_rsvp.id, None, harness.clock.now())
        details = [r[0] for r in await tx.query(
            "SELECT detail FROM audit_log WHERE action = 'event.attend' ORDER BY id")]
    assert details == [f"supporter:{leeds_member.id} attended (walk-in)", f"supporter:{york_rsvp.id} attended",
                       f"supporter:{york_rsvp.id} attendance unmarked"]
    assert (await es.rsvp_of(harness, event.id, leeds_member.id)).status == "going"
    assert await es.rsvp_of(harness, event.id, york_member.id) is None
    cancelled = await es.make_event(harness, "Off", starts=harness.clock.now(), status="cancelled", group_id=leeds.id)
    theirs = await es.make_event(harness, "York's", starts=harness.clock.now(), group_id=york.id)
    async with harness.db.transaction() as tx:
        with pytest.raises(EventError, match="is cancelled"):
            await event_ops.mark_attended(tx, local, cancelled, leeds_member.id, True, harness.clock.now())
        with pytest.raises(ScopeError):
            await event_ops.mark_attended(tx, local, theirs, york_member.id, True, harness.clock.now())


async def test_a_forged_capacity_answer_for_another_groups_event_changes_nothing(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    york = await es.group(harness, "York", ["YO1"])
    await es.organiser(harness, "organiser", telegram_id=9001, group_id=york.id)
    event = await es.make_event(harness, capacity=5, group_id=leeds.id)
    person = await es.supporter(harness, "telegram", "1", group_id=leeds.id)
    async with harness.db.transaction() as tx:
        await store.set_rsvp(tx, event.id, person.id, "going", "telegram", harness.clock.now())
    for key in (f"evadm:xw:{event.id}:1", f"evadm:xk:{event.id}:1", f"evadm:cap:{event.id}", f"evadm:who:{event.id}"):
        assert "for organisers only" in await harness.texts("telegram", "9001", choice=key)
    async with harness.db.transaction() as tx:
        assert (await store.get(tx, event.id)).capacity == 5
    assert (await es.rsvp_of(harness, event.id, person.id)).status == "going"


async def test_the_announcement_preview_counts_per_channel_and_says_when_sms_go(harness, clock):
    await es.make_event(harness)
    await es.supporter(harness, "sms", "+447400000001")
    await es.supporter(harness, "telegram", "2")
    clock.set(datetime(2026, 11, 2, 22, 30, tzinfo=UTC))
    async with harness.db.transaction() as tx:
        event = await store.get(tx, 1)
        told = await event_ops.announce_preview(tx, CLI, event, clock.now(), harness.engine.settings)
        assert (told.sms, told.telegram, told.chats) == (1, 1, 0)
        assert told.summary() == "2 supporters (1 by SMS, 1 on Telegram) and 0 group chats"
        assert told.sms_wait() == "SMS waits until Tue 3 Nov 09:00 GMT (quiet hours)"
        assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 0  # a preview queues nothing
        clock.set(datetime(2026, 11, 3, 12, 0, tzinfo=UTC))
        later = await event_ops.announce_preview(tx, CLI, event, clock.now(), harness.engine.settings)
        assert later.sms_wait() is None
