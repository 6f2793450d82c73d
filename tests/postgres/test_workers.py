"""Several workers on one PostgreSQL database: claims never overlap, a dead worker's claims are
recovered by the survivors (a live one's never), due work runs in one worker only."""
from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

import asyncpg
import pytest

from bot.channels.sandbox import SandboxChannel
from bot.dispatcher import LEASE_SECONDS, Dispatcher
from bot.scheduler import Scheduler
from flows.core.types import Reply
from storage import instances, open_database, outbox
from storage.db import Database


async def _no_sleep(seconds: float) -> None:
    return None


@pytest.fixture
async def workers(pg_url, db):
    """Three more connections to the test's database, as three other processes would have."""
    opened = [await open_database(pg_url) for _ in range(3)]
    yield opened
    for other in opened:
        await other.close()


async def _queue(db: Database, clock, n: int, channel: str = "telegram") -> None:
    async with db.transaction() as tx:
        for i in range(n):
            outbox.enqueue(tx, channel, str(1000 + i), Reply(f"m{i}").to_payload(), clock.now())


async def _statuses(db: Database) -> Counter[str]:
    async with db.transaction() as tx:
        return Counter(r[0] for r in await tx.query("SELECT status FROM outbox"))


def _dispatcher(db: Database, clock, owner: str, rate: float | None = None) -> Dispatcher:
    return Dispatcher(db, {"telegram": SandboxChannel("telegram", rate)}, clock, sleep=_no_sleep, owner=owner)


async def test_concurrent_claims_skip_each_others_rows_without_waiting(db, workers, clock):
    await _queue(db, clock, 20)
    lease = clock.now() + timedelta(seconds=60)
    async with db.transaction() as first:
        mine = await outbox.claim(first, "telegram", clock.now(), 10, owner="a", lease_until=lease)

        async def other() -> list[outbox.OutboxRow]:
            async with workers[0].transaction() as second:
                return await outbox.claim(second, "telegram", clock.now(), 10, owner="b", lease_until=lease)

        # The first claim is not committed: without SKIP LOCKED the second would wait for it.
        theirs = await asyncio.wait_for(other(), timeout=5)
    assert len(mine) == len(theirs) == 10
    assert not {r.id for r in mine} & {r.id for r in theirs}


async def test_two_workers_racing_over_one_outbox_send_each_message_once(db, workers, clock):
    await _queue(db, clock, 600)
    a, b = _dispatcher(workers[0], clock, "a"), _dispatcher(workers[1], clock, "b")

    async def drain(worker: Dispatcher) -> None:
        idle = 0
        while idle < 3:
            idle = idle + 1 if await worker.drain_once("telegram") == 0 else 0

    await asyncio.gather(drain(a), drain(b), drain(a), drain(b))
    sent = [m["outbox_id"] for w in (a, b) for msgs in w.channels["telegram"].delivered.values() for m in msgs]
    assert len(sent) == 600 and len(set(sent)) == 600  # every row once, none twice
    per_worker = [sum(len(v) for v in w.channels["telegram"].delivered.values()) for w in (a, b)]
    assert all(per_worker), per_worker  # both took part
    assert await _statuses(db) == {"sent": 600}


async def test_a_joining_worker_sends_nothing_until_the_others_count_it_in_their_share(db, workers, clock):
    """Until every other worker has beaten since it joined, their shares and its own would add up to
    more than the rate: it waits for them, then paces at the smaller share, as they do."""
    first, joining = _dispatcher(workers[0], clock, "first", rate=150), _dispatcher(workers[1], clock, "joining",
                                                                                   rate=150)
    assert await first.heartbeat() == 1
    assert first._room("telegram") > 0  # alone: it sends at once, at the whole rate
    clock.advance(seconds=1)
    assert await joining.heartbeat() == 2
    assert joining._room("telegram") == 0  # `first` still paces at 150 a second
    assert joining.channels["telegram"].pacer.rate == 75
    clock.advance(seconds=2)
    await joining.heartbeat()
    assert joining._room("telegram") == 0
    assert await first.heartbeat() == 2  # now `first` paces at 75 a second…
    assert first.channels["telegram"].pacer.rate == 75
    await joining.heartbeat()
    assert joining._room("telegram") > 0  # …and `joining` may send its 75
    # A worker that stopped beating (killed) is not waited for once its heartbeat is overdue.
    clock.advance(seconds=30)
    late = _dispatcher(workers[2], clock, "late", rate=150)
    await first.heartbeat()
    await late.heartbeat()
    assert late._room("telegram") == 0  # `first` beats, `joining` is silent for 30 s
    clock.advance(seconds=2)
    await first.heartbeat()  # `first` has counted `late`; `joining` (silent) is not waited for
    await late.heartbeat()
    assert late._room("telegram") > 0


async def test_a_dead_workers_claims_are_recovered_and_a_live_ones_are_not(db, workers, clock):
    await _queue(db, clock, 3)
    dead, live, survivor = (_dispatcher(w, clock, name) for w, name in zip(workers, ("dead", "live", "survivor"),
                                                                             strict=True))
    now = clock.now()
    for worker in (dead, live, survivor):
        await worker.heartbeat()
    async with db.transaction() as tx:
        handed = await outbox.claim(tx, "telegram", now, 1, owner="dead", lease_until=now + timedelta(seconds=60))
        await outbox.claim(tx, "telegram", now, 1, owner="dead", lease_until=now + timedelta(seconds=60))
        await outbox.claim(tx, "telegram", now, 1, owner="live", lease_until=now + timedelta(seconds=60))
        outbox.hand(tx, [handed[0].id], now, "dead")
    # Within the lease nothing is touched, whoever has stopped beating.
    clock.advance(seconds=30)
    assert await survivor.heartbeat() == 3
    assert await _statuses(db) == {"sending": 3}
    # Past the lease: `live` still beats (its claims' lease ran out, but it is alive); `dead` does not.
    clock.advance(seconds=LEASE_SECONDS)
    await live.heartbeat()
    assert await survivor.heartbeat() == 2  # its share of the pace follows
    async with db.transaction() as tx:
        rows = {r[0]: (r[1], r[2]) for r in await tx.query("SELECT id, status, claimed_by FROM outbox ORDER BY id")}
    assert sorted(rows.values()) == [("queued", None), ("sending", "live"), ("unknown", None)]
    assert rows[handed[0].id] == ("unknown", None)  # it may have gone out: never resent


async def test_a_claim_recovered_before_its_hand_over_is_not_sent(db, workers, clock):
    await _queue(db, clock, 2)
    gate = asyncio.Event()

    async def held(seconds: float) -> None:  # the second send waits for its pacing slot…
        await gate.wait()

    slow = Dispatcher(workers[0], {"telegram": SandboxChannel("telegram", 1.0)}, clock, sleep=held, owner="slow")
    await slow.heartbeat()
    await slow._claim("telegram", 2)
    await asyncio.sleep(0.2)
    # …for longer than its lease, without a heartbeat (cut off): another worker recovers its claim.
    clock.advance(seconds=LEASE_SECONDS + 1)
    survivor = _dispatcher(workers[1], clock, "survivor")
    await survivor.heartbeat()
    gate.set()
    while slow._sends["telegram"]:
        await asyncio.gather(*slow._sends["telegram"])
    assert sum(len(v) for v in slow.channels["telegram"].delivered.values()) == 1  # only the one handed over
    await survivor.drain_once("telegram")
    sent = [m["outbox_id"] for w in (slow, survivor) for msgs in w.channels["telegram"].delivered.values()
            for m in msgs]
    assert sorted(sent) == sorted(set(sent)) and len(sent) == 2  # each once: the survivor sent the other
    assert await _statuses(db) == {"sent": 2}


async def test_due_work_runs_in_one_worker_and_another_takes_over_when_it_dies(db, workers, pg_url, clock):
    runs: list[str] = []

    def scheduler(name: str, database: Database) -> Scheduler:
        s = Scheduler(clock, leader=lambda: database.leader("due"))

        async def due(now) -> None:
            runs.append(name)
            await asyncio.sleep(0.01)

        s.register("work", due)
        return s

    one, two = scheduler("one", workers[0]), scheduler("two", workers[1])
    for _ in range(5):
        await asyncio.gather(one.run_due(), two.run_due())
    assert len(runs) == 5 and len(set(runs)) == 1
    holder, other = (one, two) if runs[0] == "one" else (two, one)
    holder_db = workers[0] if holder is one else workers[1]
    # The holder is cut off from the database: its session, and with it the lock, is gone.
    admin = await asyncpg.connect(pg_url)
    try:
        for conn in holder_db._leaders.values():
            await admin.execute("SELECT pg_terminate_backend($1)", conn.get_server_pid())
    finally:
        await admin.close()
    runs.clear()
    assert await other.run_due() is True  # the other worker takes the lease at its next sweep…
    assert await holder.run_due() is False  # …and the one cut off, back again, finds it taken
    assert runs == ["two" if holder is one else "one"]


async def test_a_worker_stopping_cleanly_is_forgotten_at_once(db, workers, clock):
    worker = _dispatcher(workers[0], clock, "w")
    await worker.start(others_gone=False)
    async with db.transaction() as tx:
        assert await instances.alive(tx, clock.now()) == ["w"]
    await worker.stop()
    async with db.transaction() as tx:
        assert await instances.alive(tx, clock.now()) == []
