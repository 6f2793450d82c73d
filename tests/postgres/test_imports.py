"""Imports on PostgreSQL: the CSV import tests, written for SQLite, run again here against the `db` of
tests/postgres/conftest.py (a fresh PostgreSQL schema each); then what only PostgreSQL can get wrong:
batches on other connections (or other workers), ids shared with sign-ups in other workers, and
scratch rows left behind by an import whose process was killed."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from itertools import cycle
from pathlib import Path

import pytest

from flows.organiser import imports
from storage import imports as store
from storage import open_database, supporters
from storage.db import Database, Tx
from tests.flows.test_imports import *  # noqa: F403
from tests.flows.test_imports import CLI, NOW, SETTINGS, _one, _run


@pytest.fixture
async def other(pg_url: str) -> AsyncIterator[Database]:
    """A second pool on the same schema: another worker's sessions."""
    database = await open_database(pg_url)
    yield database
    await database.close()


async def test_a_dry_run_finds_duplicates_across_batches_on_other_sessions(db: Database, other: Database,
                                                                          tmp_path: Path) -> None:
    """Each transaction of the run on another session (alternating two pools): the rows seen so far are
    still found, which a session's own temporary table would not give."""
    rows = imports.BATCH * 2 + 10
    body = "phone\n" + "".join(f"07400 {i:06d}\n" for i in range(rows)) + "07400 000003\n"
    path = tmp_path / "list.csv"
    path.write_text(body)
    sessions = cycle([db, other])
    opened: list[int] = []

    def transaction() -> AbstractAsyncContextManager[Tx]:
        database = next(sessions)
        opened.append(id(database))
        return database.transaction()

    seen: dict[int, imports.Outcome] = {}
    summary = await imports.run(transaction, CLI, path, "list.csv", imports.Options(), SETTINGS, NOW, dry_run=True,
                                on_outcome=lambda o: seen.__setitem__(o.line, o))
    assert len(set(opened)) == 2 and len(opened) >= 4, "the batches ran on both pools"
    assert summary.counts["new"] == rows and summary.counts["refused"] == 1
    assert "the same phone number as line 5" in seen[rows + 2].reason
    assert await _one(db, "SELECT COUNT(*) FROM import_seen") == [(0,)], "the run's scratch rows are gone at its end"
    assert await _one(db, "SELECT COUNT(*) FROM supporters") == [(0,)]


async def test_imported_ids_never_clash_with_a_sign_up(db: Database, tmp_path: Path) -> None:
    """Ids come from the identity sequence a sign-up in any worker also takes from."""
    async with db.transaction() as tx:  # someone signed up before the import
        first = (await supporters.find_or_create_many(tx, "sms", ["+447400900001"], NOW))["+447400900001"].id
    summary, _ = await _run(db, tmp_path, "phone\n07400 300001\n07400 300002\n07400 300001\n")
    assert summary.counts["new"] == 2
    async with db.transaction() as tx:  # and someone after it, the ordinary way (no id given)
        later = (await supporters.find_or_create_many(tx, "telegram", ["6071829354"], NOW))["6071829354"].id
    ids = await _one(db, "SELECT id FROM supporters ORDER BY id")
    assert len(ids) == 4 and ids[0] == (first,) and ids[-1] == (later,)


async def test_a_sign_up_during_an_import_batch_takes_another_id(db: Database, other: Database) -> None:
    async with db.transaction() as tx:
        reserved = await store.supporter_ids(tx, 3)
        async with other.transaction() as elsewhere:  # another worker, while the batch is open
            signed_up = (await supporters.find_or_create_many(elsewhere, "sms", ["+447400900002"], NOW))
        assert signed_up["+447400900002"].id not in reserved
        assert reserved == sorted(reserved) and len(set(reserved)) == 3


async def test_scratch_rows_of_a_killed_import_are_cleared_by_a_later_one(db: Database, tmp_path: Path) -> None:
    await _run(db, tmp_path, "phone\n07400 300001\n", dry_run=True)  # the scratch table exists from now on
    killed = store.run_key(NOW - timedelta(days=2))
    recent = store.run_key(NOW - timedelta(hours=1))  # perhaps still running in another worker
    async with db.transaction() as tx:
        store.remember(tx, killed, [("p:+447400300001", 2), ("p:+447400300002", 3)])
        store.remember(tx, recent, [("p:+447400300003", 2)])
    await _run(db, tmp_path, "phone\n07400 300009\n", name="later.csv")
    assert await _one(db, "SELECT run, COUNT(*) FROM import_seen GROUP BY run") == [(recent, 1)]


def test_run_keys_are_ordered_by_their_start_and_unique() -> None:
    keys = [store.run_key(NOW + timedelta(seconds=s)) for s in (0, 0, 1, 3600)]
    assert len(set(keys)) == 4 and keys[2] > max(keys[:2]) and keys[3] > keys[2]
    assert all(0 < k < 2**63 for k in keys)
