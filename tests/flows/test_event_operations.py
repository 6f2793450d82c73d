"""Creating, editing and cancelling an event: one set of rules, whichever front asks."""
from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.events import CLI
from flows.organiser import events as event_ops
from flows.organiser.errors import EventError
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
