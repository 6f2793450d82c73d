"""Data rights: everything we hold about one supporter, and erasing it.

Erasure keeps the supporter row (status 'erased', no identity, no profile) so that
aggregate counts stay right: supporters per group, recruits per recruiter, RSVPs to
past events, messages sent (RSVPs to events still to come are removed: no reminders).
The consent log keeps its rows with supporter_id set to NULL: how many opted in and
out, when and how, survives; who did not. Message bodies in the outbox are blanked;
addresses too, once each message is final. Rows in other tables that refer to the
supporter keep pointing at the anonymous row; any text in any table equal to (or, for
the phone number and email, containing) an erased identity is blanked.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from storage.db import Database, Tx, ts
from storage.identities import references

log = logging.getLogger(__name__)

ERASED_PAYLOAD = '{"text":""}'
ERASED_ADDRESS = ""
# Handled by name below; other tables are read and scrubbed generically.
_OWN = frozenset({"supporters", "consent_log", "conversations", "supporter_interests", "outbox"})


async def _table_exists(tx: Tx, name: str) -> bool:
    return await tx.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)) is not None


# -- access ---------------------------------------------------------------------------
async def export(tx: Tx, supporter_id: int) -> dict[str, Any] | None:
    """What we hold about one supporter, as plain JSON-able data."""
    row = await tx.one(
        "SELECT s.*, g.name AS group_name FROM supporters s "
        "LEFT JOIN local_groups g ON g.id = s.group_id WHERE s.id = ?",
        (supporter_id,),
    )
    if row is None:
        return None
    data: dict[str, Any] = {
        "first_name": row["first_name"],
        "phone": row["phone"],
        "telegram_id": row["telegram_id"],
        "email": row["email"],
        "postcode": row["postcode"],
        "local_group": row["group_name"],
        "language": row["language"],
        "status": row["status"],
        "joined_at": row["created_at"],
        "last_seen_at": row["last_seen_at"],
        "referral_code": row["referral_code"],
        "was_referred": row["referred_by"] is not None,
        "sms_undeliverable": bool(row["sms_undeliverable"]),
    }
    data["interests"] = [r[0] for r in await tx.query(
        "SELECT interest FROM supporter_interests WHERE supporter_id = ? ORDER BY interest", (supporter_id,)
    )]
    data["recruited"] = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE referred_by = ?", (supporter_id,))
    history = [dict(r) for r in await tx.query(
        "SELECT channel, action, source, wording_version, at FROM consent_log WHERE supporter_id = ? ORDER BY id",
        (supporter_id,),
    )]
    data["consent"] = {
        channel: {
            "status": row[f"{channel}_consent"],
            "since": next((h["at"] for h in reversed(history) if h["channel"] == channel), None),
        }
        for channel in ("sms", "telegram")
    }
    data["consent_history"] = history
    data["messages_sent_to_you"] = {r[0]: r[1] for r in await tx.query(
        "SELECT channel, COUNT(*) FROM outbox WHERE supporter_id = ? GROUP BY channel", (supporter_id,)
    )}
    if await _table_exists(tx, "rsvps"):
        data["rsvps"] = await _rsvps(tx, supporter_id)
    for table, column, _ in await references(tx):
        if table in _OWN or table == "rsvps":
            continue
        rows = await tx.query(f'SELECT * FROM "{table}" WHERE "{column}" = ?', (supporter_id,))
        if rows:
            data[table] = [{k: r[k] for k in r.keys() if k != column} for r in rows]
    return data


async def _rsvps(tx: Tx, supporter_id: int) -> list[dict[str, Any]]:
    """RSVPs, with the event's title and start when an events table says them."""
    columns = {r["name"] for r in await tx.query('PRAGMA table_info("rsvps")')}
    if "supporter_id" not in columns:
        return []
    rows = [dict(r) for r in await tx.query("SELECT * FROM rsvps WHERE supporter_id = ?", (supporter_id,))]
    if rows and "event_id" in columns and await _table_exists(tx, "events"):
        event_columns = {r["name"] for r in await tx.query('PRAGMA table_info("events")')}
        wanted = [c for c in ("title", "starts_at") if c in event_columns]
        if wanted:
            for rsvp in rows:
                event = await tx.one(f"SELECT {', '.join(wanted)} FROM events WHERE id = ?", (rsvp["event_id"],))
                if event:
                    rsvp.update({f"event_{c}": event[c] for c in wanted})
    for rsvp in rows:
        rsvp.pop("supporter_id", None)
    return rows


# -- erasure --------------------------------------------------------------------------
async def erase(tx: Tx, supporter_id: int, now: datetime) -> dict[str, Any]:
    """Erase one supporter's personal data everywhere; returns what was erased (for the hashes).

    Returns {"phone", "telegram_id", "first_name", "email", "postcode"} as they were.
    """
    row = await tx.one(
        "SELECT phone, telegram_id, first_name, email, postcode FROM supporters WHERE id = ?", (supporter_id,)
    )
    if row is None:
        raise ValueError(f"no supporter #{supporter_id}")
    was = dict(row)
    phone, telegram_id = was["phone"], was["telegram_id"]
    tg = None if telegram_id is None else str(telegram_id)

    await tx.execute(
        "UPDATE supporters SET phone = NULL, telegram_id = NULL, first_name = NULL, email = NULL, "
        "postcode = NULL, area = NULL, referral_code = NULL, sms_undeliverable = 0, status = 'erased' "
        "WHERE id = ?",
        (supporter_id,),
    )
    await tx.execute("UPDATE consent_log SET supporter_id = NULL WHERE supporter_id = ?", (supporter_id,))
    await tx.execute("DELETE FROM supporter_interests WHERE supporter_id = ?", (supporter_id,))
    await tx.execute("DELETE FROM conversations WHERE supporter_id = ?", (supporter_id,))
    # Messages not yet sent never will be; bodies go now, addresses once a row is final.
    await tx.execute(
        "UPDATE outbox SET supporter_id = ? WHERE supporter_id IS NULL AND "
        "((channel = 'sms' AND address = ?) OR (channel = 'telegram' AND address = ?))",
        (supporter_id, phone, tg),
    )
    await tx.execute(
        "UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE supporter_id = ? AND status = 'queued'",
        (ts(now), supporter_id),
    )
    await tx.execute(
        "UPDATE outbox SET payload = ?, error = NULL WHERE supporter_id = ?", (ERASED_PAYLOAD, supporter_id)
    )
    await scrub_addresses(tx)
    if await _table_exists(tx, "rsvps") and await _table_exists(tx, "events"):
        # Past RSVPs stay (attendance counts); an upcoming one would only send reminders to nobody.
        await tx.execute(
            "DELETE FROM rsvps WHERE supporter_id = ? AND event_id IN (SELECT id FROM events WHERE ends_at > ?)",
            (supporter_id, ts(now)),
        )
    if phone is not None or telegram_id is not None:
        await tx.execute(
            "DELETE FROM organisers WHERE phone = ? OR telegram_id = ?", (phone, telegram_id)
        )
    await _scrub_values(tx, was)
    return was


async def sweep(db: Database, pending: bool = False) -> bool:
    """After erasures: blank the addresses of their finished messages, then empty the write-ahead
    log, which still holds the old pages, so nothing of them is left in any file. Returns True
    while the log could not be emptied yet: pass it back as `pending` next time."""
    async with db.transaction() as tx:
        scrubbed = await scrub_addresses(tx)
    if not (scrubbed or pending) or await db.truncate_wal():
        return False
    log.warning("write-ahead log busy; erased data stays in it until the next sweep empties it")
    return True


async def scrub_addresses(tx: Tx) -> int:
    """Blank the address of every finished outbox row of an erased supporter.

    A row still `sending` keeps it until the outcome is recorded (the confirmation of
    the erasure itself is sent to that address); the next sweep takes it away.
    """
    return await tx.execute(
        "UPDATE outbox SET address = ? WHERE address <> ? AND status NOT IN ('queued', 'sending') "
        "AND supporter_id IN (SELECT id FROM supporters WHERE status = 'erased')",
        (ERASED_ADDRESS, ERASED_ADDRESS),
    )


async def _text_columns(tx: Tx) -> list[tuple[str, str]]:
    found = []
    for (table,) in await tx.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'schema_migrations' ORDER BY name"
    ):
        for column in await tx.query(f'PRAGMA table_info("{table}")'):
            declared = (column["type"] or "").upper()
            if not declared or any(word in declared for word in ("TEXT", "CHAR", "CLOB")):
                found.append((table, column["name"]))
    return found


async def _scrub_values(tx: Tx, was: dict[str, Any]) -> None:
    """Blank the erased identities wherever else they were written, whatever the table."""
    contained = [v for v in (was["phone"], was["email"]) if v]
    exact = [str(v) for v in (was["telegram_id"],) if v is not None]
    if not contained and not exact:
        return
    for table, column in await _text_columns(tx):
        for value in contained:
            await _try(tx, f'UPDATE "{table}" SET "{column}" = REPLACE("{column}", ?, \'\') '
                           f'WHERE "{column}" LIKE ?', (value, f"%{value}%"))
        for value in exact:
            await _try(tx, f'UPDATE "{table}" SET "{column}" = \'\' WHERE "{column}" = ?', (value,))


async def _try(tx: Tx, sql: str, params: tuple) -> None:
    try:
        changed = await tx.execute(sql, params)
    except Exception:  # one statement failing (a constraint) leaves the transaction intact
        log.exception("erasure: could not scrub with %s", sql.split(" SET ")[0])
        return
    if changed:
        log.info("erasure: scrubbed %d value(s): %s", changed, sql.split(" SET ")[0])
