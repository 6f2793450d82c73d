"""THE recipient query: every filter, their combinations, and who is never included."""
from __future__ import annotations

import json

import pytest

from storage import broadcast_results as results
from storage import broadcasts as store
from storage.broadcasts import Audience
from storage.db import ts
from tests.flows.broadcast_support import NOW, chat, group, has_table, person


async def _make(tx, audience_json: str = "{}", kind: str = "broadcast", **extra) -> int:
    b = await store.create(tx, NOW, kind=kind, body="Hi", audience=audience_json, created_by="test", **extra)
    return b.id


async def _materialise(tx, audience: Audience, every: bool = False, **kw) -> list:
    bid = await _make(tx, audience.to_json())
    parts = [("lit", "Hi ", ""), ("field", "first_name", "friend")]
    await store.materialise(tx, bid, audience, parts, NOW, every=every, **kw)
    return await tx.query(
        "SELECT channel, address, supporter_id, payload, dedupe_key, not_before, priority FROM outbox "
        "WHERE broadcast_id = ? ORDER BY id", (bid,),
    )


async def test_everyone_reachable_and_nobody_excluded_sneaks_in(db):
    async with db.transaction() as tx:
        ok_sms = await person(tx, sms="opted_in")
        ok_tg = await person(tx, sms=None, telegram="opted_in")
        await person(tx, sms="opted_out")                       # opted out
        await person(tx, sms="none")                            # never opted in
        await person(tx, sms=None, telegram="opted_out")
        await person(tx, sms="opted_in", status="erased")       # erased
        await person(tx, sms="opted_in", status="new")          # never finished joining
        await person(tx, sms="opted_in", undeliverable=1)       # landline / invalid
        rows = await _materialise(tx, Audience())
    assert sorted(r["supporter_id"] for r in rows) == sorted([ok_sms, ok_tg])


async def test_suppressed_supporters_are_left_out(db):
    async with db.transaction() as tx:
        keep = await person(tx)
        gone = await person(tx)
        rows = await _materialise(tx, Audience(), suppressed=[gone])
    assert [r["supporter_id"] for r in rows] == [keep]


async def test_one_message_per_supporter_on_the_channel_used_last(db):
    async with db.transaction() as tx:
        last_tg = await person(tx, sms="opted_in", telegram="opted_in", last="telegram")
        last_sms = await person(tx, sms="opted_in", telegram="opted_in", last="sms")
        tg_out = await person(tx, sms="opted_in", telegram="opted_out", last="telegram")
        undeliverable = await person(tx, sms="opted_in", telegram="opted_in", last="sms", undeliverable=1)
        rows = await _materialise(tx, Audience())
    got = {r["supporter_id"]: r["channel"] for r in rows}
    assert got == {last_tg: "telegram", last_sms: "sms", tg_out: "sms", undeliverable: "telegram"}
    assert len({r["dedupe_key"] for r in rows}) == 4


async def test_every_channel_sends_on_each_reachable_channel(db):
    async with db.transaction() as tx:
        both = await person(tx, sms="opted_in", telegram="opted_in")
        one = await person(tx, sms="opted_out", telegram="opted_in")
        rows = await _materialise(tx, Audience(), every=True)
    assert sorted((r["supporter_id"], r["channel"]) for r in rows) == sorted(
        [(both, "sms"), (both, "telegram"), (one, "telegram")]
    )


async def test_materialising_twice_queues_nobody_twice(db):
    async with db.transaction() as tx:
        await person(tx)
        await person(tx, sms=None, telegram="opted_in")
        bid = await _make(tx)
        parts = [("lit", "Hi", "")]
        await store.materialise(tx, bid, Audience(), parts, NOW)
        await store.materialise(tx, bid, Audience(), parts, NOW)
        assert await tx.scalar("SELECT COUNT(*) FROM outbox WHERE broadcast_id = ?", (bid,)) == 2


async def test_group_interest_and_channel_filters_combine(db):
    async with db.transaction() as tx:
        leeds, york = await group(tx, "Leeds"), await group(tx, "York")
        a = await person(tx, group=leeds, interests=("housing",))
        b = await person(tx, group=leeds, interests=("jobs",))
        c = await person(tx, group=york, interests=("housing",))
        d = await person(tx, sms=None, telegram="opted_in", group=leeds, interests=("housing", "jobs"))
        ids = lambda rows: sorted(r["supporter_id"] for r in rows)  # noqa: E731
        assert ids(await _materialise(tx, Audience(groups=(leeds,)))) == sorted([a, b, d])
        assert ids(await _materialise(tx, Audience(groups=(leeds, york)))) == sorted([a, b, c, d])
        assert ids(await _materialise(tx, Audience(interests=("housing",)))) == sorted([a, c, d])
        assert ids(await _materialise(tx, Audience(interests=("housing", "jobs")))) == sorted([a, b, c, d])
        assert ids(await _materialise(tx, Audience(channel="telegram"))) == [d]
        assert ids(await _materialise(tx, Audience(channel="sms"))) == sorted([a, b, c])
        assert ids(await _materialise(tx, Audience(groups=(leeds,), interests=("housing",), channel="sms"))) == [a]


async def test_channel_filter_picks_the_other_channel_of_a_two_channel_supporter(db):
    async with db.transaction() as tx:
        both = await person(tx, sms="opted_in", telegram="opted_in", last="telegram")
        rows = await _materialise(tx, Audience(channel="sms"))
    assert [(r["supporter_id"], r["channel"]) for r in rows] == [(both, "sms")]


async def test_alert_response_filters(db):
    async with db.transaction() as tx:
        done, cant, silent, never = [await person(tx) for _ in range(4)]
        alert = await _make(tx, kind="alert")
        # only the first three were sent the alert
        parts = [("lit", "Act", "")]
        await tx.execute("UPDATE supporters SET status = 'new' WHERE id = ?", (never,))
        await store.materialise(tx, alert, Audience(), parts, NOW)
        await tx.execute("UPDATE supporters SET status = 'active' WHERE id = ?", (never,))
        results.respond(tx, alert, done, "cant", NOW)
        results.respond(tx, alert, done, "done", NOW)   # the last answer counts
        results.respond(tx, alert, cant, "cant", NOW)
        ids = lambda rows: sorted(r["supporter_id"] for r in rows)  # noqa: E731
        assert ids(await _materialise(tx, Audience(alert_id=alert, response="done"))) == [done]
        assert ids(await _materialise(tx, Audience(alert_id=alert, response="cant"))) == [cant]
        assert ids(await _materialise(tx, Audience(alert_id=alert, response="not_yet"))) == [silent]
        assert await results.responses(tx, alert) == {"done": 1, "cant": 1}


async def test_rsvp_filter(db):
    async with db.transaction() as tx:
        if not await has_table(tx, "rsvps"):
            pytest.skip("the events tables (migration 0005) are not there yet")
        going, maybe, declined, other = [await person(tx) for _ in range(4)]
        event = await tx.scalar(
            "INSERT INTO events (public_id, title, starts_at, ends_at, status, created_at, updated_at) "
            "VALUES ('e1', 'Rally', ?, ?, 'confirmed', ?, ?) RETURNING id",
            (ts(NOW), ts(NOW), ts(NOW), ts(NOW)),
        )
        for sid, status in ((going, "going"), (maybe, "maybe"), (declined, "declined")):
            tx.write("INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)", (event, sid, status, ts(NOW), ts(NOW)))
        ids = lambda rows: sorted(r["supporter_id"] for r in rows)  # noqa: E731
        assert ids(await _materialise(tx, Audience(event_id=event, rsvp=("going",)))) == [going]
        assert ids(await _materialise(tx, Audience(event_id=event, rsvp=("going", "maybe")))) == sorted([going, maybe])
        assert ids(await _materialise(tx, Audience(event_id=event))) == sorted([going, maybe, declined])
        assert other not in ids(await _materialise(tx, Audience(event_id=event)))


async def test_linked_group_chats_are_extra_targets_within_the_groups(db):
    async with db.transaction() as tx:
        leeds, york = await group(tx, "Leeds"), await group(tx, "York")
        await person(tx, group=leeds)
        await chat(tx, -1001, leeds)
        await chat(tx, -1002, york)
        await chat(tx, -1003, leeds, active=0)
        rows = await _materialise(tx, Audience(groups=(leeds,), chats=True))
        assert sorted((r["channel"], r["address"]) for r in rows if r["supporter_id"] is None) == [
            ("telegram", "-1001")]
        assert len(rows) == 2
        assert (await store.count(tx, Audience(chats=True)))["chats"] == 2
        assert (await store.count(tx, Audience(chats=True, channel="sms")))["chats"] == 0


async def test_payload_placeholders_fallback_and_sms_only_parts(db):
    async with db.transaction() as tx:
        leeds = await group(tx, "Leeds")
        named = await person(tx, name="Aisha", group=leeds)
        blank = await person(tx, name="  ", sms=None, telegram="opted_in")
        bid = await _make(tx, kind="alert")
        parts = [("lit", "Hi ", ""), ("field", "first_name", "friend"), ("lit", " of ", ""),
                 ("field", "group", "your group"), ("sms", " STOP", "")]
        await store.materialise(tx, bid, Audience(), parts, NOW, choices=[["alert:1:done", "Done"]])
        rows = {r["supporter_id"]: json.loads(r["payload"]) for r in await tx.query(
            "SELECT supporter_id, payload FROM outbox WHERE broadcast_id = ?", (bid,))}
    assert rows[named] == {"text": "Hi Aisha of Leeds STOP"}
    assert rows[blank] == {"text": "Hi friend of your group", "choices": [["alert:1:done", "Done"]]}


async def test_sms_waits_for_not_before_and_rows_are_bulk(db):
    later = NOW.replace(hour=21)
    async with db.transaction() as tx:
        await person(tx)
        await person(tx, sms=None, telegram="opted_in")
        rows = await _materialise(tx, Audience(), sms_not_before=later)
    by = {r["channel"]: r for r in rows}
    assert by["sms"]["not_before"] == ts(later) and by["telegram"]["not_before"] == ts(NOW)
    assert {r["priority"] for r in rows} == {10}


async def test_counts_match_what_is_materialised(db):
    async with db.transaction() as tx:
        for _ in range(3):
            await person(tx)
        await person(tx, sms=None, telegram="opted_in")
        counts = await store.count(tx, Audience())
        rows = await _materialise(tx, Audience())
    assert counts == {"sms": 3, "telegram": 1, "chats": 0}
    assert len(rows) == 4
