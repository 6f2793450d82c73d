"""The events repository: versions on moves, RSVP upserts, pending recipients, the report."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from storage import events as store
from storage import outbox, supporters

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
START = datetime(2026, 11, 7, 19, 0, tzinfo=UTC)


async def _event(tx, **details):
    return await store.create(tx, public_id=details.pop("public_id", "abc123xyz"), title="Rally", starts_at=START,
                              ends_at=START + timedelta(hours=2), now=NOW, **details)


async def _people(tx, n):
    found = await supporters.find_or_create_many(tx, "sms", [f"+4474000000{i:02d}" for i in range(n)], NOW)
    return [found[f"+4474000000{i:02d}"] for i in range(n)]


async def test_only_time_and_place_changes_bump_the_version(db):
    async with db.transaction() as tx:
        event = await _event(tx)
        assert event.version == 1 and event.status == "draft"
        assert await store.update(tx, event, NOW, title="Big rally", capacity=10) is False
        assert await store.update(tx, event, NOW, venue="Hall") is True
        assert await store.update(tx, event, NOW, venue="Hall") is False  # unchanged
        assert await store.update(tx, event, NOW, starts_at=START + timedelta(hours=1)) is True
        again = await store.get(tx, event.id)
        assert (again.version, again.title, again.venue, again.capacity) == (3, "Big rally", "Hall", 10)
        assert again.start == START + timedelta(hours=1)


async def test_schema_keeps_the_names_others_rely_on(db):
    async with db.transaction() as tx:
        columns = {r[1] for r in await tx.query("PRAGMA table_info(events)")}
        assert {"id", "public_id", "title", "description", "instructions", "starts_at", "ends_at", "timezone",
                "venue", "address", "postcode", "address_public", "online_url", "capacity", "group_id", "status",
                "created_by", "created_at", "updated_at", "version"} <= columns
        columns = {r[1] for r in await tx.query("PRAGMA table_info(rsvps)")}
        assert {"event_id", "supporter_id", "status", "attended", "created_at", "updated_at"} <= columns
        await _event(tx, public_id="abc123xyz")
        with pytest.raises(sqlite3.IntegrityError):
            await _event(tx, public_id="abc123xyz")  # public ids are unique
        with pytest.raises(ValueError):
            await _event(tx, public_id="other", colour="red")


async def test_rsvp_upsert_keeps_created_at_and_the_first_channel(db):
    async with db.transaction() as tx:
        event = await _event(tx)
        [person] = await _people(tx, 1)
        await store.set_rsvp(tx, event.id, person.id, "maybe", "sms", NOW)
        await store.set_rsvp(tx, event.id, person.id, "going", None, NOW + timedelta(hours=1))
        rsvp = await store.rsvp(tx, event.id, person.id)
        assert (rsvp.status, rsvp.channel) == ("going", "sms")
        assert rsvp.created_at < rsvp.updated_at
        with pytest.raises(ValueError):
            await store.set_rsvp(tx, event.id, person.id, "perhaps", "sms", NOW)


async def test_pending_skips_the_erased_and_those_already_sent(db):
    async with db.transaction() as tx:
        event = await _event(tx)
        people = await _people(tx, 4)
        for person, status in zip(people, ("going", "maybe", "declined", "going"), strict=True):
            await store.set_rsvp(tx, event.id, person.id, status, "sms", NOW)
        await tx.execute("UPDATE supporters SET status = 'erased' WHERE id = ?", (people[3].id,))
        outbox.enqueue(tx, "sms", "+x", "{}", NOW, dedupe_key=f"remind:{event.id}:{people[1].id}:2h:2026-11-07")
        found = await store.pending(tx, event.id, ("going", "maybe"), f"remind:{event.id}:", ":2h:2026-11-07")
        assert [p.supporter_id for p in found] == [people[0].id]
        assert await store.pending(tx, event.id, ("going",), "x:", rsvped_by=NOW - timedelta(seconds=1)) == []


async def test_waitlist_order_and_report(db):
    async with db.transaction() as tx:
        event = await _event(tx, capacity=1)
        people = await _people(tx, 4)
        await store.set_rsvp(tx, event.id, people[0].id, "going", "sms", NOW)
        await store.set_rsvp(tx, event.id, people[2].id, "waitlisted", "sms", NOW + timedelta(minutes=1))
        await store.set_rsvp(tx, event.id, people[1].id, "waitlisted", "sms", NOW + timedelta(minutes=2))
        assert (await store.first_waitlisted(tx, event.id)).supporter_id == people[2].id
        assert await store.count_going(tx, event.id) == 1
        await store.set_attended(tx, event.id, people[0].id, True, NOW)
        await store.set_attended(tx, event.id, people[3].id, True, NOW)  # walked in without an RSVP
        assert await store.report(tx, event.id) == {
            "going": 2, "maybe": 0, "declined": 0, "waitlisted": 2, "attended": 2, "no_show": 0, "unknown": 0,
        }
        assert await store.counts(tx, [event.id]) == {event.id: {"going": 2, "waitlisted": 2}}


async def test_upcoming_and_mine(db):
    async with db.transaction() as tx:
        national = await _event(tx, public_id="n1", status="confirmed")
        draft = await _event(tx, public_id="d1")
        [person] = await _people(tx, 1)
        await store.set_rsvp(tx, national.id, person.id, "going", "sms", NOW)
        await store.set_rsvp(tx, draft.id, person.id, "going", "sms", NOW)
        assert [e.id for e in await store.upcoming(tx, NOW, None)] == [national.id]
        assert [(e.id, s) for e, s in await store.mine(tx, person.id, NOW)] == [(national.id, "going")]
        assert await store.upcoming(tx, START, None) == []
