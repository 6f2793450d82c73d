"""Tx.together and Tx.read_ahead: reads queued at once, and what they returned kept until a write
names their tables. The statements SQLite ran are read from its trace callback."""
from __future__ import annotations

import sqlite3

import pytest

GROUPS = "SELECT COUNT(*) FROM local_groups"
AREAS = "SELECT COUNT(*) FROM group_areas"


@pytest.fixture
async def ran(db):
    statements: list[str] = []
    await db.conn.set_trace_callback(statements.append)
    yield statements
    await db.conn.set_trace_callback(None)


def count(ran: list[str], sql: str) -> int:
    return sum(1 for s in ran if s == sql)


async def test_a_read_made_ahead_is_answered_again_from_what_was_kept(db, ran):
    async with db.transaction() as tx:
        tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
        await tx.read_ahead([tx.scalar(GROUPS), tx.scalar(AREAS)])
        assert count(ran, GROUPS) == 1 and count(ran, AREAS) == 1  # the pending write went first
        assert await tx.scalar(GROUPS) == 1
        assert await tx.scalar(AREAS) == 0
        assert count(ran, GROUPS) == 1 and count(ran, AREAS) == 1
        assert await tx.scalar(f"{GROUPS} WHERE name = ?", ("A",)) == 1  # other parameters: asked
        assert count(ran, f"{GROUPS} WHERE name = 'A'") == 1


async def test_a_write_naming_its_table_drops_what_was_kept_and_another_table_does_not(db, ran):
    async with db.transaction() as tx:
        await tx.read_ahead([tx.scalar(GROUPS), tx.scalar(AREAS)])
        tx.write("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
        assert await tx.scalar(GROUPS) == 1  # asked again, after the write
        assert await tx.scalar(AREAS) == 0  # kept
        assert count(ran, GROUPS) == 2 and count(ran, AREAS) == 1


async def test_a_write_through_execute_or_query_drops_what_was_kept(db, ran):
    async with db.transaction() as tx:
        await tx.read_ahead([tx.scalar(GROUPS)])
        await tx.execute("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x')")
        assert await tx.scalar(GROUPS) == 1
        await tx.read_ahead([tx.scalar(GROUPS)])
        await tx.query("INSERT INTO local_groups (name, created_at) VALUES ('B', 'x') RETURNING id")
        assert await tx.scalar(GROUPS) == 2


async def test_a_delete_drops_the_kept_reads_of_every_table_it_cascades_to(db, ran):
    async with db.transaction() as tx:
        group = await tx.scalar("INSERT INTO local_groups (name, created_at) VALUES ('A', 'x') RETURNING id")
        tx.write("INSERT INTO group_areas (area, group_id) VALUES ('M1', ?)", (group,))
        await tx.read_ahead([tx.scalar(AREAS)])
        assert await tx.scalar(AREAS) == 1
        tx.write("DELETE FROM local_groups WHERE id = ?", (group,))  # its areas go with it
        assert await tx.scalar(AREAS) == 0
        assert count(ran, AREAS) == 2


async def test_a_read_that_does_not_look_for_its_own_writes_is_kept_across_them(db, ran):
    taken = "SELECT 1 FROM supporters WHERE referral_code = ?"
    async with db.transaction() as tx:
        await tx.read_ahead([tx.scalar(taken, ("K7MX4Q",), own_writes=False)])
        tx.write("INSERT INTO supporters (phone, created_at, referral_code) VALUES ('+447400000001', 'x', 'ABCDEF')")
        assert await tx.scalar(taken, ("K7MX4Q",), own_writes=False) is None
        assert sum(1 for s in ran if s.startswith("SELECT 1 FROM supporters")) == 1
        assert await tx.scalar(taken, ("ABCDEF",)) == 1  # looking for its own writes: asked


async def test_nothing_is_kept_after_the_transaction_nor_from_reads_not_made_ahead(db, ran):
    async with db.transaction() as tx:
        await tx.scalar(GROUPS)
        await tx.scalar(GROUPS)
        await tx.read_ahead([tx.scalar(AREAS)])
    async with db.transaction() as tx:
        await tx.scalar(AREAS)
    assert count(ran, GROUPS) == 2 and count(ran, AREAS) == 2


async def test_together_runs_the_reads_behind_a_failing_write_then_raises_its_error(db, ran):
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as tx:
            await tx.together(
                tx.query("INSERT INTO local_groups (name, created_at) VALUES (NULL, 'x') RETURNING id"),
                tx.scalar(GROUPS),
            )
    assert count(ran, GROUPS) == 1
    async with db.transaction() as tx:
        assert await tx.scalar(GROUPS) == 0
        assert await tx.together(tx.scalar(GROUPS), tx.scalar(AREAS)) == [0, 0]


def test_a_read_whose_parameters_cannot_be_a_key_is_not_kept() -> None:
    # sqlite3 takes no lists as parameters, but PostgreSQL does (id = ANY($1)): such a read is asked again
    from storage.db import _key

    assert _key(GROUPS, ([1, 2],)) is None
    assert _key(GROUPS, (1, "a")) == (GROUPS, (1, "a"))
    assert _key(GROUPS, {"n": 1}) == (GROUPS, (("n", 1),))
