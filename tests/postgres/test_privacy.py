"""Erasure on PostgreSQL: the test of a supporter who used every feature, written for SQLite, run again
through the `harness` of tests/postgres/conftest.py (every column of every table read for what is left
of them; PostgreSQL has no database file of ours to read), then scrubs a constraint refuses, on both
backends: the erasure carries on with the next replacement and commits."""
from __future__ import annotations

from pathlib import Path

from flows.core.clock import FakeClock
from storage import open_database, privacy
from storage.db import Database
from tests.flows.test_erasure_everywhere import *  # noqa: F403
from tests.storage.test_privacy import PHONE, _supporter


async def _erase_where_constraints_refuse_scrubs(db: Database, clock: FakeClock) -> None:
    """A note whose text, once the number is out, equals another's (unique), and may not be NULL:
    the third replacement (empty) is taken; a tag that would clash becomes NULL. Then the same
    transaction goes on writing and commits."""
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE test_notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL UNIQUE, tag TEXT UNIQUE)")
        tx.write_many("INSERT INTO test_notes (id, body, tag) VALUES (?, ?, ?)",
                      [(1, f"call {PHONE}", PHONE), (2, "call ", "")])
        person = await _supporter(tx, clock)
        was = await privacy.erase(tx, person.id, clock.now())
        assert was["phone"] == PHONE
        tx.write("INSERT INTO test_notes (id, body) VALUES (3, 'written after the erasure')")
    async with db.transaction() as tx:
        assert [tuple(r) for r in await tx.query("SELECT id, body, tag FROM test_notes ORDER BY id")] == [
            (1, "", None), (2, "call ", ""), (3, "written after the erasure", None)]
        assert await tx.scalar("SELECT status FROM supporters WHERE id = ?", (person.id,)) == "erased"
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE phone IS NOT NULL") == 0


async def test_refused_scrubs_leave_the_erasure_whole_on_postgresql(db: Database, clock: FakeClock) -> None:
    await _erase_where_constraints_refuse_scrubs(db, clock)


async def test_refused_scrubs_leave_the_erasure_whole_on_sqlite(tmp_path: Path, clock: FakeClock) -> None:
    db = await open_database(tmp_path / "muster.db")
    try:
        await _erase_where_constraints_refuse_scrubs(db, clock)
    finally:
        await db.close()
