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


async def test_a_read_flushes_only_when_it_names_a_table_with_pending_writes(db):
    async with db.transaction() as tx:
        tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
        before = db.conn.total_changes
        await tx.query("SELECT COUNT(*) FROM supporters")
        assert db.conn.total_changes == before  # another table: the write is still buffered
        assert await tx.scalar("SELECT COUNT(*) FROM supporters s JOIN local_groups g ON 1 = 1") == 0
        assert db.conn.total_changes == before + 1  # named in a join: flushed first


async def test_a_pending_delete_flushes_reads_of_every_table_it_can_cascade_to(db):
    async with db.transaction() as tx:
        tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
        tx.write("INSERT INTO suppression (hash, kind, created_at) VALUES ('h', 'phone', 'x')")
        await tx.flush()
        tx.write("DELETE FROM suppression WHERE hash = 'h'")  # nothing references suppression
        before = db.conn.total_changes
        await tx.query("SELECT COUNT(*) FROM supporters")
        assert db.conn.total_changes == before  # still buffered
        await tx.flush()
        tx.write("DELETE FROM local_groups WHERE name = 'A'")  # supporters.group_id is SET NULL on delete
        before = db.conn.total_changes
        await tx.query("SELECT COUNT(*) FROM supporters")
        assert db.conn.total_changes == before + 1


async def test_a_write_through_query_always_flushes(db):
    async with db.transaction() as tx:
        before = db.conn.total_changes
        tx.write("INSERT INTO local_groups (name, created_at) VALUES ('B', 'x')")
        await tx.query("UPDATE supporters SET first_name = 'x' WHERE id = -1 RETURNING id")
        assert db.conn.total_changes == before + 1  # a write keeps its place in the order
