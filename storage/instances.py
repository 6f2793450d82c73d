"""Workers sharing one PostgreSQL database, each with a heartbeat: who is alive, who is gone.

Each worker registers at start, beats while it runs and is forgotten at a clean stop. A worker whose
last beat is older than the claims' lease is gone: its expired claims on the outbox may be recovered
by the others (storage.outbox.recover), and it no longer counts for a share of a channel's pace.
The table (`muster_instances`) exists on PostgreSQL only: on SQLite one service holds the database
and its file lock proves the others gone.
"""
from __future__ import annotations

from datetime import datetime

from storage.db import Tx, ts


def beat(tx: Tx, instance: str, host: str, now: datetime) -> None:
    """`instance` is alive now (registering it the first time)."""
    stamp = ts(now)
    tx.write("INSERT INTO muster_instances (id, host, started_at, seen_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at", (instance, host, stamp, stamp))


async def alive(tx: Tx, since: datetime) -> list[str]:
    """Instances that beat at or after `since`, oldest first."""
    rows = await tx.query("SELECT id FROM muster_instances WHERE seen_at >= ? ORDER BY started_at, id", (ts(since),))
    return [r[0] for r in rows]


async def seen(tx: Tx, since: datetime) -> dict[str, tuple[str, str]]:
    """Instances that beat at or after `since`, oldest first: id → (started_at, seen_at)."""
    rows = await tx.query("SELECT id, started_at, seen_at FROM muster_instances WHERE seen_at >= ? "
                          "ORDER BY started_at, id", (ts(since),))
    return {r[0]: (r[1], r[2]) for r in rows}


def forget(tx: Tx, instance: str) -> None:
    """A clean stop: `instance` is gone and says so."""
    tx.write("DELETE FROM muster_instances WHERE id = ?", (instance,))


async def forget_before(tx: Tx, cutoff: datetime) -> int:
    """Drop instances silent since before `cutoff` (long gone; their claims were settled)."""
    return await tx.execute("DELETE FROM muster_instances WHERE seen_at < ?", (ts(cutoff),))
