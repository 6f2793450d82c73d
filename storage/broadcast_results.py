"""What became of a broadcast: its delivery funnel in one pass, failures by code, deliveries, opt-outs,
replies, alert responses, and its recipients a page at a time."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.broadcasts import LIVE, RESPONSES, marks, table_exists
from storage.db import Tx, ts

# Provider receipts that mean the message will never arrive (Twilio's words).
RECEIPT_FAILED = ("failed", "undelivered", "canceled")
RECEIPT_DELIVERED = ("delivered", "read")
_JOIN = "LEFT JOIN deliveries d ON d.channel = o.channel AND d.provider_id = o.provider_id"


@dataclass(frozen=True)
class Tally:
    """One group of a broadcast's messages: how many share a channel, an outbox status, a
    provider receipt status (None: no receipt) and an error code."""
    channel: str
    status: str
    receipt: str | None
    code: str | None
    count: int


async def tallies(tx: Tx, broadcast_id: int, receipts_from: tuple[str, ...] = ("sms",)) -> list[Tally]:
    """Every message of a broadcast counted by (channel, outbox status, receipt, error code): the funnel,
    the failures table and the channel split all come from it. From the index outbox_broadcast
    (broadcast, status, channel, provider id) alone, but for the error codes of the few that failed or
    are unknown, and the receipts of messages sent on the channels that send them (`receipts_from`)."""
    channels = marks(receipts_from)
    counted = await tx.query(
        "SELECT channel, status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY 1, 2", (broadcast_id,),
    )
    coded = await tx.query(
        "SELECT channel, status, error_code, COUNT(*) FROM outbox WHERE broadcast_id = ? "
        "AND status IN ('failed', 'unknown') GROUP BY 1, 2, 3",
        (broadcast_id,),
    )
    receipts = await tx.query(
        "SELECT o.channel, d.status, d.error_code, COUNT(*) "
        f"FROM outbox o {_JOIN} WHERE o.broadcast_id = ? AND o.status = 'sent' AND o.channel IN ({channels}) "
        "GROUP BY 1, 2, 3",
        (broadcast_id, *receipts_from),
    )
    found = [Tally(channel, status, None, None, n) for channel, status, n in counted
             if status not in ("failed", "unknown") and not (status == "sent" and channel in receipts_from)]
    return (found + [Tally(r[0], r[1], None, r[2], r[3]) for r in coded]
            + [Tally(r[0], "sent", r[1], r[2], r[3]) for r in receipts])


async def pending(tx: Tx, broadcast_id: int) -> bool:
    """Is any message of this broadcast still queued or being sent? (An index probe, not a count.)"""
    return bool(await tx.scalar(
        "SELECT 1 FROM outbox WHERE broadcast_id = ? AND status IN ('queued', 'sending') LIMIT 1", (broadcast_id,)
    ))


async def unreported(tx: Tx, since: datetime, key_prefix: str, key_suffix: str) -> list[int]:
    """Broadcasts settled (status sent) since `since` that have an organiser chat to tell and whose
    final report is not queued yet: the outbox holds no row with the key prefix || id || suffix."""
    rows = await tx.query(
        "SELECT b.id FROM broadcasts b WHERE b.status = 'sent' AND b.finished_at >= ? "
        "AND b.notify_channel IS NOT NULL AND b.notify_address IS NOT NULL "
        "AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.dedupe_key = ? || b.id || ?) ORDER BY b.id",
        (ts(since), key_prefix, key_suffix),
    )
    return [r[0] for r in rows]


@dataclass(frozen=True)
class Recipient:
    """One message of a broadcast as the report lists it (the address is masked by whoever shows it)."""
    id: int
    channel: str
    address: str
    first_name: str | None
    status: str            # the outbox's: queued, sending, sent, failed, unknown, cancelled
    receipt: str | None    # the provider's last receipt, where one came
    code: str | None
    response: str | None   # alerts: done / cant


# Which messages each filter of the recipients list keeps (SQL on o = outbox, d = deliveries).
_FAILED_RECEIPT = f"d.status IN ({', '.join(repr(s) for s in RECEIPT_FAILED)})"
_DELIVERED_RECEIPT = f"d.status IN ({', '.join(repr(s) for s in RECEIPT_DELIVERED)})"
RECIPIENT_FILTERS: dict[str, str] = {
    "all": "",
    "waiting": "AND o.status IN ('queued', 'sending')",
    "sent": f"AND o.status = 'sent' AND (d.status IS NULL OR NOT ({_FAILED_RECEIPT} OR {_DELIVERED_RECEIPT}))",
    "delivered": f"AND o.status = 'sent' AND {_DELIVERED_RECEIPT}",
    "failed": f"AND (o.status = 'failed' OR (o.status = 'sent' AND {_FAILED_RECEIPT}))",
    "unknown": "AND o.status = 'unknown'",
    "cancelled": "AND o.status = 'cancelled'",
}


async def recipients(tx: Tx, broadcast_id: int, which: str = "all", after: int = 0,
                     limit: int = 100) -> list[Recipient]:
    """Up to `limit` messages of a broadcast after outbox id `after`, in id order (keyset: page
    2,000 costs what page 1 does), kept by one of RECIPIENT_FILTERS."""
    condition = RECIPIENT_FILTERS[which]
    params: list[Any] = [broadcast_id, after, limit]
    rows = await tx.query(
        "SELECT o.id, o.channel, o.address, s.first_name, o.status, d.status, "
        "COALESCE(d.error_code, o.error_code), x.response "
        f"FROM outbox o {_JOIN} "
        "LEFT JOIN supporters s ON s.id = o.supporter_id "
        "LEFT JOIN alert_responses x ON x.broadcast_id = o.broadcast_id AND x.supporter_id = o.supporter_id "
        f"WHERE o.broadcast_id = ? AND o.id > ? {condition} ORDER BY o.id LIMIT ?",
        params,
    )
    return [Recipient(*r) for r in rows]


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
    # From the day's opt-outs (few, by consent_log_at) to their messages, not from every message:
    # CROSS JOIN keeps SQLite to that order. Its join condition is in WHERE: PostgreSQL's CROSS JOIN
    # takes no ON (and its planner chooses the order itself).
    value: int = await tx.scalar(
        "SELECT COUNT(DISTINCT o.supporter_id) FROM consent_log c CROSS JOIN outbox o "
        "WHERE o.supporter_id = c.supporter_id AND o.channel = c.channel "
        "AND c.at >= ? AND c.at < ? AND c.action = 'opt_out' "
        "AND o.broadcast_id = ? AND +o.status IN ('sent', 'unknown')",
        (ts(since), ts(until), broadcast_id),
    )
    return value


async def replies(tx: Tx, broadcast_id: int) -> int:
    """Recipients who have written to us since their copy went out."""
    # In outbox order (+o.status keeps SQLite off the status index): rows and supporters are then
    # read in the order they are stored, not jumping about.
    value: int = await tx.scalar(
        "SELECT COUNT(DISTINCT o.supporter_id) FROM outbox o JOIN supporters s ON s.id = o.supporter_id "
        "WHERE o.broadcast_id = ? AND +o.status = 'sent' AND s.last_seen_at > o.updated_at",
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


async def count_groups(tx: Tx, broadcast_id: int) -> None:
    """Count an alert's recipients by local group, once, when it starts (later calls change nothing):
    the people it was queued for, by the group each was in then."""
    if await tx.scalar("SELECT 1 FROM broadcast_groups WHERE broadcast_id = ? LIMIT 1", (broadcast_id,)):
        return
    await tx.execute(
        "INSERT INTO broadcast_groups (broadcast_id, group_id, recipients) "
        "SELECT ?, COALESCE(s.group_id, 0), COUNT(DISTINCT o.supporter_id) FROM outbox o "
        "JOIN supporters s ON s.id = o.supporter_id WHERE o.broadcast_id = ? GROUP BY 2",
        (broadcast_id, broadcast_id),
    )


async def completion_by_group(tx: Tx, broadcast_id: int) -> list[tuple[str, int, int, int]]:
    """(group name, recipients, done, can't) per local group, for an alert. Its recipients are the
    people it was queued for (as the report's own count of recipients), as counted when it started
    (count_groups), or counted now for an alert started before that was kept; the answers are counted
    from the answers themselves."""
    people = await tx.query(
        "SELECT NULLIF(group_id, 0), recipients FROM broadcast_groups WHERE broadcast_id = ?", (broadcast_id,))
    if not people:
        people = await tx.query(
            "SELECT s.group_id, COUNT(DISTINCT o.supporter_id) FROM outbox o "
            "JOIN supporters s ON s.id = o.supporter_id WHERE o.broadcast_id = ? GROUP BY 1",
            (broadcast_id,),
        )
    answers = await tx.query(
        "SELECT s.group_id, x.response, COUNT(*) FROM alert_responses x JOIN supporters s ON s.id = x.supporter_id "
        "WHERE x.broadcast_id = ? GROUP BY 1, 2",
        (broadcast_id,),
    )
    names = {r[0]: r[1] for r in await tx.query("SELECT id, name FROM local_groups")}
    by_group: dict[int | None, list[int]] = {g: [n, 0, 0] for g, n in people}
    for group_id, response, n in answers:
        counts = by_group.setdefault(group_id, [0, 0, 0])
        counts[1 if response == "done" else 2] += n
    found: list[tuple[str, int, int, int]] = [
        (names.get(g, "(no group)") if g is not None else "(no group)", n, done, cant)
        for g, (n, done, cant) in by_group.items()]
    return sorted(found)
