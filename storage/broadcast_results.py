"""What became of a broadcast: failures by code, deliveries, opt-outs, replies, and alert responses."""
from __future__ import annotations

from datetime import datetime

from storage.broadcasts import LIVE, RESPONSES, marks, table_exists
from storage.db import Tx, ts


async def failures(tx: Tx, broadcast_id: int) -> dict[str, int]:
    """Failed messages by error code: refused when sending, or reported undelivered later."""
    if await _has_deliveries(tx):
        rows = await tx.query(
            "SELECT COALESCE(d.error_code, o.error_code, 'none'), COUNT(*) FROM outbox o "
            "LEFT JOIN deliveries d ON d.channel = o.channel AND d.provider_id = o.provider_id "
            "WHERE o.broadcast_id = ? AND (o.status = 'failed' OR d.status IN ('failed', 'undelivered')) "
            "GROUP BY 1 ORDER BY 2 DESC, 1",
            (broadcast_id,),
        )
    else:
        rows = await tx.query(
            "SELECT COALESCE(error_code, 'none'), COUNT(*) FROM outbox WHERE broadcast_id = ? "
            "AND status = 'failed' GROUP BY 1 ORDER BY 2 DESC, 1",
            (broadcast_id,),
        )
    return {r[0]: r[1] for r in rows}


async def _has_deliveries(tx: Tx) -> bool:
    if not await table_exists(tx, "deliveries"):
        return False
    columns = {r[1] for r in await tx.query("PRAGMA table_info(deliveries)")}
    return {"channel", "provider_id", "status", "error_code"} <= columns


async def delivered(tx: Tx, broadcast_id: int) -> int | None:
    """Messages the provider confirmed delivered, where delivery receipts are kept (else None)."""
    if not await _has_deliveries(tx):
        return None
    value: int | None = await tx.scalar(
        "SELECT COUNT(*) FROM outbox o JOIN deliveries d ON d.channel = o.channel AND d.provider_id = o.provider_id "
        "WHERE o.broadcast_id = ? AND d.status IN ('delivered', 'read')",
        (broadcast_id,),
    )
    return value


async def opt_outs(tx: Tx, broadcast_id: int, since: datetime, until: datetime) -> int:
    """Recipients who opted out on the channel we used, between `since` and `until`."""
    value: int = await tx.scalar(
        "SELECT COUNT(DISTINCT o.supporter_id) FROM outbox o JOIN consent_log c "
        "ON c.supporter_id = o.supporter_id AND c.channel = o.channel "
        "WHERE o.broadcast_id = ? AND o.status IN ('sent', 'unknown') AND c.action = 'opt_out' "
        "AND c.at >= ? AND c.at < ?",
        (broadcast_id, ts(since), ts(until)),
    )
    return value


async def replies(tx: Tx, broadcast_id: int) -> int:
    """Recipients who have written to us since their copy went out."""
    value: int = await tx.scalar(
        "SELECT COUNT(DISTINCT o.supporter_id) FROM outbox o JOIN supporters s ON s.id = o.supporter_id "
        "WHERE o.broadcast_id = ? AND o.status = 'sent' AND s.last_seen_at > o.updated_at",
        (broadcast_id,),
    )
    return value


# -- action alert responses -------------------------------------------------------------
def respond(tx: Tx, broadcast_id: int, supporter_id: int, response: str, now: datetime) -> None:
    """Record DONE or CAN'T; a later answer replaces an earlier one."""
    if response not in RESPONSES:
        raise ValueError(f"response must be one of {RESPONSES}")
    tx.write(
        "INSERT INTO alert_responses (broadcast_id, supporter_id, response, at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (broadcast_id, supporter_id) DO UPDATE SET response = excluded.response, at = excluded.at",
        (broadcast_id, supporter_id, response, ts(now)),
    )


async def latest_alert_for(tx: Tx, supporter_id: int) -> int | None:
    """The most recent alert this supporter was sent (what a bare DONE answers)."""
    value: int | None = await tx.scalar(
        "SELECT o.broadcast_id FROM outbox o JOIN broadcasts b ON b.id = o.broadcast_id "
        f"WHERE o.supporter_id = ? AND b.kind = 'alert' AND o.status IN ({marks(LIVE)}) "
        "ORDER BY o.id DESC LIMIT 1",
        (supporter_id, *LIVE),
    )
    return value


async def was_sent(tx: Tx, broadcast_id: int, supporter_id: int) -> bool:
    return bool(await tx.scalar(
        f"SELECT 1 FROM outbox WHERE broadcast_id = ? AND supporter_id = ? AND status IN ({marks(LIVE)})",
        (broadcast_id, supporter_id, *LIVE),
    ))


async def responses(tx: Tx, broadcast_id: int) -> dict[str, int]:
    rows = await tx.query(
        "SELECT response, COUNT(*) FROM alert_responses WHERE broadcast_id = ? GROUP BY response", (broadcast_id,)
    )
    return {r[0]: r[1] for r in rows}


async def completion_by_group(tx: Tx, broadcast_id: int) -> list[tuple[str, int, int, int]]:
    """(group name, recipients, done, can't) per local group, for an alert."""
    rows = await tx.query(
        "SELECT COALESCE(g.name, '(no group)'), COUNT(DISTINCT o.supporter_id), "
        "COUNT(DISTINCT CASE WHEN x.response = 'done' THEN o.supporter_id END), "
        "COUNT(DISTINCT CASE WHEN x.response = 'cant' THEN o.supporter_id END) "
        "FROM outbox o JOIN supporters s ON s.id = o.supporter_id "
        "LEFT JOIN local_groups g ON g.id = s.group_id "
        "LEFT JOIN alert_responses x ON x.broadcast_id = o.broadcast_id AND x.supporter_id = o.supporter_id "
        f"WHERE o.broadcast_id = ? AND o.status IN ({marks(LIVE)}) GROUP BY 1 ORDER BY 1",
        (broadcast_id, *LIVE),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
