"""Claims are owned: only the owner records a row's fate; recovery takes only claims of the gone."""
from __future__ import annotations

from datetime import timedelta

from flows.core.types import Reply
from storage import outbox


async def _queue(db, clock, n):
    async with db.transaction() as tx:
        for i in range(n):
            outbox.enqueue(tx, "sms", f"+4474001234{i:02d}", Reply(f"m{i}").to_payload(), clock.now())


async def _rows(db):
    async with db.transaction() as tx:
        return [tuple(r) for r in await tx.query("SELECT status, claimed_by FROM outbox ORDER BY id")]


async def test_only_the_owner_records_an_outcome(db, clock):
    await _queue(db, clock, 2)
    async with db.transaction() as tx:
        a = await outbox.claim(tx, "sms", clock.now(), 1, owner="a", lease_until=clock.now())
        b = await outbox.claim(tx, "sms", clock.now(), 1, owner="b", lease_until=clock.now())
    async with db.transaction() as tx:
        outbox.finish(tx, [outbox.Outcome(a[0].id, "sent"), outbox.Outcome(b[0].id, "sent")], clock.now(), "a")
    assert await _rows(db) == [("sent", None), ("sending", "b")]


async def test_with_other_workers_alive_only_expired_leases_are_recovered(db, clock):
    await _queue(db, clock, 3)
    now = clock.now()
    async with db.transaction() as tx:
        expired = await outbox.claim(tx, "sms", now, 1, owner="dead", lease_until=now - timedelta(seconds=1))
        await outbox.claim(tx, "sms", now, 1, owner="alive", lease_until=now + timedelta(seconds=60))
        mine = await outbox.claim(tx, "sms", now, 1, owner="me", lease_until=now - timedelta(seconds=1))
        outbox.hand(tx, [expired[0].id, mine[0].id], now, "dead")  # only the owner's hand-over counts
    async with db.transaction() as tx:
        assert await outbox.recover(tx, now, "me", others_gone=False) == (0, 1)
    assert await _rows(db) == [("unknown", None), ("sending", "alive"), ("sending", "me")]
    async with db.transaction() as tx:  # the SQLite lock proves every other instance gone
        assert await outbox.recover(tx, now, "me", others_gone=True) == (1, 0)
    assert await _rows(db) == [("unknown", None), ("queued", None), ("sending", "me")]


async def test_a_lease_is_renewed_while_the_owner_lives(db, clock):
    await _queue(db, clock, 1)
    now = clock.now()
    async with db.transaction() as tx:
        await outbox.claim(tx, "sms", now, 1, owner="a", lease_until=now)
        outbox.renew(tx, "a", now + timedelta(seconds=60))
    async with db.transaction() as tx:
        assert await outbox.recover(tx, now + timedelta(seconds=30), "b", others_gone=False) == (0, 0)
        assert await outbox.recover(tx, now + timedelta(seconds=61), "b", others_gone=False) == (1, 0)


async def test_a_clean_stop_settles_only_its_own_claims(db, clock):
    await _queue(db, clock, 3)
    now = clock.now()
    async with db.transaction() as tx:
        handed = await outbox.claim(tx, "sms", now, 1, owner="me", lease_until=now)
        await outbox.claim(tx, "sms", now, 1, owner="me", lease_until=now)
        await outbox.claim(tx, "sms", now, 1, owner="other", lease_until=now)
        outbox.hand(tx, [handed[0].id], now, "me")
    async with db.transaction() as tx:
        assert await outbox.release(tx, now, "me") == (1, 1)
    assert await _rows(db) == [("unknown", None), ("queued", None), ("sending", "other")]
