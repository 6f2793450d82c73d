"""Lease renewals on PostgreSQL never wait for the owner's own recording: a worker's heartbeat and its
hand-overs or outcomes, on two connections, once deadlocked over the same rows taken in two orders."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from flows.core.types import Reply
from storage import outbox


async def _claim(db, clock, n, owner="w"):
    async with db.transaction() as tx:
        for i in range(n):
            outbox.enqueue(tx, "sms", f"+4474009876{i:02d}", Reply(f"m{i}").to_payload(), clock.now())
    async with db.transaction() as tx:
        return await outbox.claim(tx, "sms", clock.now(), n, owner=owner, lease_until=clock.now())


@asynccontextmanager
async def _recording(db, clock, row_id: int) -> AsyncIterator[None]:
    """The owner's hand-over of one row, written but not committed until the block ends."""
    locked, release = asyncio.Event(), asyncio.Event()

    async def hand_over() -> None:
        async with db.transaction() as tx:
            outbox.hand(tx, [row_id], clock.now(), "w")
            await tx.flush()
            locked.set()
            await release.wait()

    task = asyncio.create_task(hand_over())
    await locked.wait()
    try:
        yield
    finally:
        release.set()
        await task


async def test_a_renewal_skips_a_row_being_recorded_instead_of_waiting_for_it(db, clock):
    rows = await _claim(db, clock, 3)
    later = clock.now() + timedelta(seconds=60)

    async def renew() -> None:
        async with db.transaction() as tx:
            outbox.renew(tx, "w", later)

    async with _recording(db, clock, rows[0].id):
        renewing = asyncio.create_task(renew())
        done, _ = await asyncio.wait({renewing}, timeout=5)
    await renewing
    assert renewing in done, "the renewal waited for the owner's uncommitted hand-over"
    async with db.transaction() as tx:
        leases = [tuple(r) for r in await tx.query("SELECT id, lease_until FROM outbox ORDER BY id")]
    assert [lease == outbox.ts(later) for _, lease in leases] == [False, True, True]


async def test_a_recovery_still_waits_for_and_respects_an_owners_recording(db, clock):
    """Only renewals skip: a hand-over being committed is seen by a recovery after it, so a row
    handed over becomes unknown, never queued again."""
    rows = await _claim(db, clock, 1)

    async def recover() -> tuple[int, int]:
        async with db.transaction() as tx:
            return await outbox.recover(tx, clock.now() + timedelta(seconds=1), "other", others_gone=False)

    async with _recording(db, clock, rows[0].id):
        recovering = asyncio.create_task(recover())
        await asyncio.sleep(0.3)
        assert not recovering.done()  # it waits for the hand-over
    assert await recovering == (0, 1)
