"""Delivery reports per provider message: the latest status (never going backwards) and totals."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from storage.db import Tx, ts


@dataclass(frozen=True)
class Delivery:
    channel: str
    provider_id: str
    status: str
    stage: int
    error_code: str | None
    updated_at: str


@dataclass(frozen=True)
class Totals:
    """Messages of one broadcast by latest known status and by provider error code."""
    statuses: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


async def record(
    tx: Tx, channel: str, provider_id: str, status: str, stage: int, error_code: str | None, now: datetime,
) -> bool:
    """Store a report unless one at the same or a later stage is already there; True if stored."""
    rows = await tx.query(
        "INSERT INTO deliveries (channel, provider_id, status, stage, error_code, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel, provider_id) DO UPDATE SET status = excluded.status, stage = excluded.stage, "
        "error_code = COALESCE(excluded.error_code, deliveries.error_code), updated_at = excluded.updated_at "
        "WHERE excluded.stage > deliveries.stage RETURNING provider_id",
        (channel, provider_id, status, stage, error_code, ts(now)),
    )
    return bool(rows)


async def get(tx: Tx, channel: str, provider_id: str) -> Delivery | None:
    row = await tx.one(
        "SELECT channel, provider_id, status, stage, error_code, updated_at FROM deliveries "
        "WHERE channel = ? AND provider_id = ?",
        (channel, provider_id),
    )
    return Delivery(*row) if row else None


async def supporter_of(tx: Tx, channel: str, provider_id: str) -> int | None:
    """The supporter an outbox message with this provider id went to, if it is known yet."""
    value: int | None = await tx.scalar(
        "SELECT supporter_id FROM outbox WHERE channel = ? AND provider_id = ? ORDER BY id LIMIT 1",
        (channel, provider_id),
    )
    return value


async def totals(tx: Tx, broadcast_id: int) -> Totals:
    """Per status and per error code for one broadcast: the delivery report where one arrived,
    else the outbox's own status (queued, failed, unknown, …) and error code."""
    rows = await tx.query(
        "SELECT COALESCE(d.status, o.status) AS status, COALESCE(d.error_code, o.error_code) AS code, "
        "COUNT(*) FROM outbox o LEFT JOIN deliveries d "
        "ON d.channel = o.channel AND d.provider_id = o.provider_id "
        "WHERE o.broadcast_id = ? GROUP BY COALESCE(d.status, o.status), COALESCE(d.error_code, o.error_code)",
        (broadcast_id,),
    )
    statuses: dict[str, int] = {}
    errors: dict[str, int] = {}
    for status, code, count in rows:
        statuses[status] = statuses.get(status, 0) + count
        if code:
            errors[code] = errors.get(code, 0) + count
    return Totals(statuses, errors)
