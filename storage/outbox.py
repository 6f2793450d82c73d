"""The outbox: every message we mean to send, and what became of it.

queued → sending → sent | failed; rows caught in `sending` by a crash become `unknown`
and are never resent automatically (at-most-once). A row in `sending` belongs to the instance
that claimed it (`claimed_by`) until its lease (`lease_until`) ends: only that instance records
its fate, and recovery touches only the claims of instances known to be gone.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Tx, ts

INTERACTIVE = 0  # replies to a supporter's own message go first
NOTICE = 5       # reminders, waitlist promotions, change notices
BULK = 10        # broadcasts


@dataclass(frozen=True)
class OutboxRow:
    id: int
    channel: str
    address: str
    supporter_id: int | None
    payload: str
    priority: int
    attempts: int
    broadcast_id: int | None


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row: sent, failed, or queued again for later."""
    id: int
    status: str
    provider_id: str | None = None
    error_code: str | None = None
    error: str | None = None
    retry_at: datetime | None = None


_INSERT = (
    "INSERT INTO outbox (channel, address, supporter_id, payload, priority, not_before, dedupe_key, "
    "broadcast_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (dedupe_key) DO NOTHING"
)


def enqueue(
    tx: Tx, channel: str, address: str, payload: str, now: datetime, *,
    supporter_id: int | None = None, priority: int = INTERACTIVE, not_before: datetime | None = None,
    dedupe_key: str | None = None, broadcast_id: int | None = None,
) -> None:
    """Queue one message (buffered). A dedupe_key already used makes this a no-op."""
    stamp = ts(now)
    tx.write(_INSERT, (
        channel, address, supporter_id, payload, priority, ts(not_before or now), dedupe_key,
        broadcast_id, stamp, stamp,
    ))


async def claim(
    tx: Tx, channel: str, now: datetime, limit: int, address: str | None = None, *,
    owner: str, lease_until: datetime,
) -> list[OutboxRow]:
    """Mark up to `limit` due rows of one channel `sending`, owned by `owner` until `lease_until`,
    and return them, most urgent first. On PostgreSQL the rows are chosen FOR UPDATE SKIP LOCKED:
    workers claiming at once each take different rows, none waits for another's."""
    where = "channel = ? AND status = 'queued' AND not_before <= ?"
    params: list[Any] = [channel, ts(now)]
    if address is not None:
        where += " AND address = ?"
        params.append(address)
    rows = await tx.query(
        "UPDATE outbox SET status = 'sending', handed_at = NULL, attempts = attempts + 1, updated_at = ?, "
        "claimed_by = ?, lease_until = ? "
        f"WHERE id IN (SELECT id FROM outbox WHERE {where} ORDER BY priority, id LIMIT ?{tx.skip_locked}) "
        "RETURNING id, channel, address, supporter_id, payload, priority, attempts, broadcast_id",
        [ts(now), owner, ts(lease_until), *params, limit],
    )
    claimed = [OutboxRow(*r) for r in rows]
    claimed.sort(key=lambda r: (r.priority, r.id))
    return claimed


_MINE = "status = 'sending' AND claimed_by = ?"


def finish(tx: Tx, outcomes: list[Outcome], now: datetime, owner: str) -> None:
    """Record outcomes of rows `owner` claimed (buffered, one executemany per kind, in id order)."""
    stamp = ts(now)
    outcomes = sorted(outcomes, key=lambda o: o.id)  # rows locked in one order by every writer
    done = [(o.status, o.provider_id, o.error_code, o.error, stamp, o.id, owner)
            for o in outcomes if o.retry_at is None]
    again = [(ts(o.retry_at), o.error_code, o.error, stamp, o.id, owner)
             for o in outcomes if o.retry_at is not None]
    tx.write_many(
        "UPDATE outbox SET status = ?, provider_id = ?, error_code = ?, error = ?, updated_at = ?, "
        f"claimed_by = NULL, lease_until = NULL WHERE id = ? AND {_MINE}",
        done,
    )
    tx.write_many(
        "UPDATE outbox SET status = 'queued', not_before = ?, error_code = ?, error = ?, updated_at = ?, "
        f"claimed_by = NULL, lease_until = NULL WHERE id = ? AND {_MINE}",
        again,
    )


def cancel_bulk(tx: Tx, supporter_id: int, channel: str, now: datetime) -> None:
    """An opt-out: drop broadcasts, alerts and notices still waiting for this supporter on this channel.

    Replies to their own messages (INTERACTIVE) stay, so the opt-out confirmation still goes.
    """
    tx.write(
        "UPDATE outbox SET status = 'cancelled', error_code = 'opted_out', updated_at = ? "
        "WHERE supporter_id = ? AND channel = ? AND status = 'queued' AND priority > ?",
        (ts(now), supporter_id, channel, INTERACTIVE),
    )


def hand(tx: Tx, ids: list[int], now: datetime, owner: str) -> None:
    """These rows `owner` claimed are about to reach the provider: from now on they may have gone out."""
    tx.write_many(f"UPDATE outbox SET handed_at = ? WHERE id = ? AND {_MINE}",
                  [(ts(now), row_id, owner) for row_id in sorted(ids)])


async def owned(tx: Tx, ids: list[int], owner: str) -> set[int]:
    """Which of these rows `owner` still holds (a claim whose lease ran out may have been recovered)."""
    if not ids:
        return set()
    rows = await tx.query(f"SELECT id FROM outbox WHERE id IN ({', '.join('?' for _ in ids)}) AND {_MINE}",
                          (*ids, owner))
    return {r[0] for r in rows}


def renew(tx: Tx, owner: str, lease_until: datetime) -> None:
    """`owner` is alive: its claims hold until `lease_until`. On PostgreSQL a row the owner is
    recording at this moment (locked by its own hand-over or outcome) is skipped, not waited for:
    waiting could deadlock against that statement, and the next renewal, a third of a lease on,
    takes it if it is still claimed."""
    tx.write(f"UPDATE outbox SET lease_until = ? WHERE id IN (SELECT id FROM outbox WHERE {_MINE}{tx.skip_locked})",
             (ts(lease_until), owner))


async def _settle(tx: Tx, now: datetime, whose: str, params: tuple[Any, ...]) -> tuple[int, int]:
    """Rows in `sending` chosen by `whose`: never handed over → queued again; handed → `unknown`."""
    stamp = ts(now)
    free = "claimed_by = NULL, lease_until = NULL, updated_at = ?"
    requeued = await tx.execute(
        f"UPDATE outbox SET status = 'queued', attempts = attempts - 1, {free} "
        f"WHERE status = 'sending' AND handed_at IS NULL AND {whose}", (stamp, *params)
    )
    unknown = await tx.execute(f"UPDATE outbox SET status = 'unknown', {free} WHERE status = 'sending' AND {whose}",
                               (stamp, *params))
    return requeued, unknown


async def recover(tx: Tx, now: datetime, owner: str, *, others_gone: bool,
                  alive: Sequence[str] = ()) -> tuple[int, int]:
    """The claims of instances that are gone: rows never handed to the provider go back to the queue;
    rows that were may or may not have gone out, so they become `unknown`. `others_gone`: every
    other instance is known to be gone (the SQLite lock proves it); otherwise only expired leases
    count, and never those of the instances in `alive` (their heartbeats say they still live).
    Returns (requeued, unknown)."""
    whose = "(claimed_by IS NULL OR claimed_by <> ?)"
    params: tuple[Any, ...] = (owner,)
    if not others_gone:
        whose += " AND (lease_until IS NULL OR lease_until < ?)"
        params += (ts(now),)
        others = [a for a in alive if a != owner]
        if others:
            whose += f" AND (claimed_by IS NULL OR claimed_by NOT IN ({', '.join('?' for _ in others)}))"
            params += tuple(others)
    return await _settle(tx, now, whose, params)


async def release(tx: Tx, now: datetime, owner: str) -> tuple[int, int]:
    """A clean stop: `owner`'s claims still unanswered are settled now, as recovery would."""
    return await _settle(tx, now, "claimed_by = ?", (owner,))


async def next_due(tx: Tx, channel: str) -> str | None:
    value: str | None = await tx.scalar(
        "SELECT MIN(not_before) FROM outbox WHERE channel = ? AND status = 'queued'", (channel,)
    )
    return value


async def depth(tx: Tx) -> dict[tuple[str, str], int]:
    rows = await tx.query("SELECT channel, status, COUNT(*) FROM outbox GROUP BY channel, status")
    return {(r[0], r[1]): r[2] for r in rows}


async def for_address(tx: Tx, channel: str, address: str, after_id: int = 0) -> list[tuple[int, str, str]]:
    """(id, status, payload) of messages to one address, oldest first."""
    rows = await tx.query(
        "SELECT id, status, payload FROM outbox WHERE channel = ? AND address = ? AND id > ? ORDER BY id",
        (channel, address, after_id),
    )
    return [(r[0], r[1], r[2]) for r in rows]
