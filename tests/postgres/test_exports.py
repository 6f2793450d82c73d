"""Every export and a broadcast's report on PostgreSQL: the same rows as on SQLite, from the same data.

Each test seeds one deployment (two groups, supporters with interests and consent evidence, an event
with RSVPs, a broadcast and an action alert with receipts, an opt-out and answers) into a fresh
PostgreSQL schema and a SQLite file, and asks both the same questions.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from flows.organiser import exports as flow_exports
from flows.organiser.access import Actor
from storage import broadcast_results as results
from storage import broadcasts, exports, open_database
from storage import events as event_store
from storage.broadcasts import Audience
from storage.db import Database, ts
from tests.flows.broadcast_support import NOW, group, person

CLI = Actor(trusted=True, label="cli")
SENT = NOW + timedelta(minutes=5)


async def _seed(db: Database) -> dict[str, Any]:
    """The deployment both databases hold; the ids the questions need."""
    async with db.transaction() as tx:
        leeds, york = await group(tx, "Leeds North"), await group(tx, "York")
        sian = await person(tx, name="Siân", group=leeds, interests=("housing", "climate"),
                            phone_number="+447400900001")
        bob = await person(tx, name="Bob", group=york, telegram="opted_in", interests=("jobs",),
                           phone_number="+447400900002", telegram_id=6071829354)
        eve = await person(tx, name="Eve", phone_number="+447400900003")
        erased = await person(tx, name=None, status="erased", phone_number="+447400900004")
        for sid, channel, action, at, method in (
                (sian, "sms", "opt_in", NOW - timedelta(days=30), "paper form"),
                (sian, "sms", "opt_in", NOW - timedelta(days=2), "web form"),  # the latest is exported
                (bob, "sms", "opt_in", NOW - timedelta(days=9), "tick box, unticked by default"),
                (bob, "telegram", "opt_in", NOW - timedelta(days=9), None),
                (eve, "sms", "opt_in", NOW - timedelta(days=3), "web form"),
                (erased, "sms", "opt_in", NOW - timedelta(days=3), "web form")):
            tx.write("INSERT INTO consent_log (supporter_id, channel, action, source, method, wording_version, at) "
                     "VALUES (?, ?, ?, 'import', ?, 'signup-v1', ?)", (sid, channel, action, method, ts(at)))

        event = await event_store.create(tx, public_id="rally1", title="Rally", starts_at=NOW + timedelta(days=3),
                                         ends_at=NOW + timedelta(days=3, hours=2), now=NOW, status="confirmed",
                                         group_id=leeds, venue="Hall")
        for sid, status, attended in ((sian, "going", 1), (bob, "maybe", None), (eve, "declined", 0)):
            tx.write("INSERT INTO rsvps (event_id, supporter_id, status, attended, channel, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, 'sms', ?, ?)", (event.id, sid, status, attended, ts(NOW), ts(NOW)))

        parts = [("lit", "Rally on Saturday", "")]
        plain = (await broadcasts.create(tx, NOW, kind="broadcast", body="Rally", audience="{}",
                                         created_by="test")).id
        await broadcasts.materialise(tx, plain, Audience(), parts, NOW, every=True)
        alert = (await broadcasts.create(tx, NOW, kind="alert", body="Act", audience="{}", created_by="test")).id
        await broadcasts.materialise(tx, alert, Audience(), [("lit", "Act", "")], NOW)
        await results.count_groups(tx, alert)
        await tx.execute("UPDATE outbox SET status = 'sent', provider_id = 'P' || id, updated_at = ? "
                         "WHERE broadcast_id IS NOT NULL", (ts(SENT),))
        await tx.execute("UPDATE broadcasts SET status = 'sent', started_at = ?, finished_at = ?", (ts(NOW), ts(SENT)))
        messages = await tx.query("SELECT id, broadcast_id, supporter_id, channel FROM outbox "
                                  "WHERE broadcast_id IS NOT NULL ORDER BY id")
        first = [m for m in messages if m[1] == plain]
        failed, unknown = first[-1][0], first[0][0]
        await tx.execute("UPDATE outbox SET status = 'failed', error_code = '30003' WHERE id = ?", (failed,))
        await tx.execute("UPDATE outbox SET status = 'unknown' WHERE id = ?", (unknown,))
        for m in messages:
            if m[3] == "sms" and m[0] not in (failed, unknown):
                receipt, code = ("undelivered", "30005") if m[2] == eve and m[1] == plain else ("delivered", None)
                tx.write("INSERT INTO deliveries (channel, provider_id, status, stage, error_code, updated_at) "
                         "VALUES ('sms', ?, ?, 3, ?, ?)", (f"P{m[0]}", receipt, code, ts(SENT)))
        # Eve opts out an hour after the broadcast; Siân writes back; answers to the alert.
        tx.write("INSERT INTO consent_log (supporter_id, channel, action, source, at) "
                 "VALUES (?, 'sms', 'opt_out', 'keyword', ?)", (eve, ts(SENT + timedelta(hours=1))))
        await tx.execute("UPDATE supporters SET last_seen_at = ? WHERE id = ?", (ts(SENT + timedelta(hours=2)), sian))
        results.respond(tx, alert, sian, "done", SENT)
        results.respond(tx, alert, bob, "cant", SENT)
    return {"leeds": leeds, "york": york, "plain": plain, "alert": alert, "event": event.id}


async def _export(db: Database, kind: str, **extra: Any) -> list[list[str]]:
    """One export as the command line writes it, two rows a page (so that every keyset is followed)."""
    return [row async for row in flow_exports.rows(db.transaction, CLI, kind, NOW, page=2, **extra)]


async def _every_export(db: Database, ids: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {kind: await _export(db, kind) for kind in flow_exports.KINDS}
    found["one broadcast"] = await _export(db, "broadcast-results", broadcast_id=ids["plain"])
    async with db.transaction() as tx:
        for name, groups in (("leeds", [ids["leeds"]]), ("none", [])):
            found[f"supporters in {name}"] = [tuple(r) for r in await exports.supporters(tx, groups, 0, 10)]
            found[f"consent in {name}"] = [tuple(r) for r in await exports.consent_log(tx, groups, 0, 10)]
            found[f"attendances in {name}"] = [tuple(r) for r in await exports.attendances(tx, groups, (0, 0), 10)]
    return found


async def _report(db: Database, ids: dict[str, Any]) -> dict[str, Any]:
    """Every question `muster broadcast report` (and the console's report) asks of storage."""
    found: dict[str, Any] = {}
    async with db.transaction() as tx:
        for name in ("plain", "alert"):
            bid = ids[name]
            found[name] = {
                "tallies": sorted(await results.tallies(tx, bid), key=repr),
                "pending": await results.pending(tx, bid),
                "failures": await results.failures(tx, bid),
                "delivered": await results.delivered(tx, bid),
                "opt_outs": await results.opt_outs(tx, bid, SENT, SENT + timedelta(hours=24)),
                "opt_outs_later": await results.opt_outs(tx, bid, SENT + timedelta(hours=2), SENT + timedelta(days=1)),
                "replies": await results.replies(tx, bid),
                "responses": await results.responses(tx, bid),
                "by_group": await results.completion_by_group(tx, bid),
                "recipients": {which: await results.recipients(tx, bid, which, limit=10)
                               for which in results.RECIPIENT_FILTERS},
                "page 2": await results.recipients(tx, bid, "all", after=0, limit=1),
            }
        found["unreported"] = await results.unreported(tx, NOW - timedelta(days=1), "report:", ":final")
    return found


@pytest.fixture
async def sqlite_db(tmp_path: Path):
    database = await open_database(str(tmp_path / "muster.db"))
    yield database
    await database.close()


async def test_every_export_on_postgresql_is_the_one_sqlite_gives(db: Database, sqlite_db: Database) -> None:
    ids = await _seed(db)
    assert await _seed(sqlite_db) == ids
    on_pg = await _every_export(db, ids)
    assert on_pg == await _every_export(sqlite_db, ids)

    header, *people = on_pg["supporters"]
    assert header == list(flow_exports.HEADERS["supporters"])
    assert [p[2] for p in people] == ["Siân", "Bob", "Eve"]  # never the erased
    at = header.index("interests")
    assert [p[at] for p in people] == ["climate;housing", "jobs", ""]  # in order, one cell
    method, date = header.index("sms_consent_method"), header.index("sms_consent_date")
    assert (people[0][method], people[0][date]) == ("web form", ts(NOW - timedelta(days=2)).replace(".000000", ""))
    assert people[1][header.index("telegram_consent")] == "opted_in"
    assert len(on_pg["consent"]) == 1 + 7 and len(on_pg["attendances"]) == 1 + 3
    assert [r[0] for r in on_pg["one broadcast"][1:]] == [str(ids["plain"])] * (len(on_pg["one broadcast"]) - 1)
    assert [r[7] for r in on_pg["supporters in leeds"]] == ["Leeds North"]
    assert on_pg["supporters in none"] == [] and on_pg["attendances in none"] == []


async def test_a_broadcast_report_on_postgresql_is_the_one_sqlite_gives(db: Database, sqlite_db: Database) -> None:
    ids = await _seed(db)
    assert await _seed(sqlite_db) == ids
    on_pg = await _report(db, ids)
    assert on_pg == await _report(sqlite_db, ids)

    plain, alert = on_pg["plain"], on_pg["alert"]
    assert plain["opt_outs"] == 1 and plain["opt_outs_later"] == 0  # Eve, an hour after it went out
    assert plain["replies"] == 0 and alert["replies"] == 1  # Siân wrote back (her broadcast copy is in doubt)
    assert [r.status for r in plain["recipients"]["unknown"]] == ["unknown"]
    assert plain["failures"] == {"30003": 1, "30005": 1}
    assert alert["responses"] == {"done": 1, "cant": 1}
    assert [row[0] for row in alert["by_group"]] == ["(no group)", "Leeds North", "York"]
    assert [r.response for r in alert["recipients"]["all"] if r.response] == ["done", "cant"]
    assert len(plain["page 2"]) == 1 and not plain["pending"]
