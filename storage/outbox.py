"""The outbox: every message we mean to send, and what became of it.

queued → sending → sent | failed; rows caught in `sending` by a crash become `unknown`
and are never resent automatically (at-most-once).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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
    tx: Tx, channel: str, now: datetime, limit: int, address: str | None = None
) -> list[OutboxRow]:
    """Mark up to `limit` due rows of one channel `sending` and return them, most urgent first."""
    where = "channel = ? AND status = 'queued' AND not_before <= ?"
    params: list = [channel, ts(now)]
    if address is not None:
        where += " AND address = ?"
        params.append(address)
    rows = await tx.query(
        "UPDATE outbox SET status = 'sending', handed_at = NULL, attempts = attempts + 1, updated_at = ? "
        f"WHERE id IN (SELECT id FROM outbox WHERE {where} ORDER BY priority, id LIMIT ?) "
        "RETURNING id, channel, address, supporter_id, payload, priority, attempts, broadcast_id",
        [ts(now), *params, limit],
    )
    claimed = [OutboxRow(*r) for r in rows]
    claimed.sort(key=lambda r: (r.priority, r.id))
    return claimed


def finish(tx: Tx, outcomes: list[Outcome], now: datetime) -> None:
    """Record outcomes of claimed rows (buffered, one executemany per kind)."""
    stamp = ts(now)
    done = [(o.status, o.provider_id, o.error_code, o.error, stamp, o.id) for o in outcomes if o.retry_at is None]
    again = [(ts(o.retry_at), o.error_code, o.error, stamp, o.id) for o in outcomes if o.retry_at is not None]
    tx.write_many(
        "UPDATE outbox SET status = ?, provider_id = ?, error_code = ?, error = ?, updated_at = ? "
        "WHERE id = ? AND status = 'sending'",
        done,
    )
    tx.write_many(
        "UPDATE outbox SET status = 'queued', not_before = ?, error_code = ?, error = ?, updated_at = ? "
        "WHERE id = ? AND status = 'sending'",
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


def hand(tx: Tx, ids: list[int], now: datetime) -> None:
    """These claimed rows are about to reach the provider: from now on they may have gone out."""
    tx.write_many("UPDATE outbox SET handed_at = ? WHERE id = ? AND status = 'sending'",
                  [(ts(now), row_id) for row_id in ids])


async def recover(tx: Tx, now: datetime) -> tuple[int, int]:
    """After a crash: rows never handed to the provider go back to the queue; rows that were
    may or may not have gone out, so they become `unknown`. Returns (requeued, unknown)."""
    stamp = ts(now)
    requeued = await tx.execute(
        "UPDATE outbox SET status = 'queued', attempts = attempts - 1, updated_at = ? "
        "WHERE status = 'sending' AND handed_at IS NULL", (stamp,)
    )
    unknown = await tx.execute("UPDATE outbox SET status = 'unknown', updated_at = ? WHERE status = 'sending'", (stamp,))
    return requeued, unknown


async def next_due(tx: Tx, channel: str) -> str | None:
    return await tx.scalar(
        "SELECT MIN(not_before) FROM outbox WHERE channel = ? AND status = 'queued'", (channel,)
    )


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
