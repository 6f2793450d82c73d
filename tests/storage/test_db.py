from __future__ import annotations

import pytest


async def test_buffered_writes_are_visible_to_reads_in_the_same_transaction(db):
    async with db.transaction() as tx:
        tx.write("INSERT INTO local_groups (name, created_at) VALUES (?, 'x')", ("A",))
        tx.write("INSERT INTO local_groups (name, created_at) VALUES (?, 'x')", ("B",))
        assert await tx.scalar("SELECT COUNT(*) FROM local_groups") == 2


async def test_an_exception_rolls_back_buffered_and_flushed_writes(db):
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
            await tx.flush()
            tx.write("INSERT INTO local_groups (name, created_at) VALUES ('B', 'x')")
            raise RuntimeError("boom")
    async with db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM local_groups") == 0


async def test_a_failing_flush_rolls_back_everything(db):
    import sqlite3

    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
            tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
    async with db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM local_groups") == 0
