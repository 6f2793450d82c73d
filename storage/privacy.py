"""Data rights: everything we hold about one supporter, and erasing it.

Erasure keeps the supporter row (status 'erased', no identity, no profile) so that
aggregate counts stay right: supporters per group, recruits per recruiter, RSVPs to
past events, messages sent (RSVPs to events still to come are removed: no reminders).
The consent log keeps its rows with supporter_id set to NULL: how many opted in and
out, when and how, survives; who did not (nor an organiser's reason for an opt-out).
Message bodies in the outbox are blanked, both the supporter's own and those about them
sent to others (a group welcome, a preview that showed them: see storage/subjects.py);
addresses too, once each message is final. Their
messages in the organisers' inbox (and the answers to them) are deleted. Rows in
other tables that refer to the supporter keep pointing at the anonymous row. Then every
column of every table, whatever its declared type, is read for the erased phone number,
email and Telegram id, and any value holding one loses it (a number column holding one
becomes NULL). Names and postcodes are not hunted by value (a first name is also an
ordinary word): they are only in the supporter's own rows and in messages about them.
"""
from __future__ import annotations

import json
import logging
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import inbox, subjects
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
        "last_name": row["last_name"],
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
        "SELECT channel, action, source, method, wording_version, reason, at FROM consent_log "
        "WHERE supporter_id = ? ORDER BY id",
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
        "UPDATE supporters SET phone = NULL, telegram_id = NULL, first_name = NULL, last_name = NULL, email = NULL, "
        "postcode = NULL, area = NULL, referral_code = NULL, sms_undeliverable = 0, status = 'erased' "
        "WHERE id = ?",
        (supporter_id,),
    )
    # An organiser's words about why they opted out may name them: the reason goes with the link, and
    # so does the method an imported file stated for their consent.
    await tx.execute("UPDATE consent_log SET supporter_id = NULL, reason = NULL, method = NULL WHERE supporter_id = ?",
                     (supporter_id,))
    await tx.execute("DELETE FROM supporter_interests WHERE supporter_id = ?", (supporter_id,))
    await tx.execute("DELETE FROM conversations WHERE supporter_id = ?", (supporter_id,))
    await inbox.delete_for(tx, supporter_id)  # the row stays, so ON DELETE CASCADE never fires
    # What a web form asked for on their behalf, and the event notices it allowed.
    await tx.execute("DELETE FROM event_permissions WHERE supporter_id = ?", (supporter_id,))
    await tx.execute("DELETE FROM signup_requests WHERE supporter_id = ?", (supporter_id,))
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
    await _erase_mentions(tx, supporter_id, now)
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


async def erased_messages(tx: Tx, outbox_ids: list[int]) -> set[int]:
    """Which of these outbox rows were blanked by an erasure."""
    if not outbox_ids:
        return set()
    rows = await tx.query("SELECT id FROM outbox WHERE id IN (SELECT value FROM json_each(?)) AND payload = ?",
                          (json.dumps(outbox_ids), ERASED_PAYLOAD))
    return {r[0] for r in rows}


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


async def _erase_mentions(tx: Tx, supporter_id: int, now: datetime) -> None:
    """Messages to others that name or show them: not sent if still waiting, blanked, key and all."""
    ids = await subjects.messages_about(tx, supporter_id)
    tx.write_many("UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE id = ? AND status = 'queued'",
                  [(ts(now), row_id) for row_id in ids])
    tx.write_many("UPDATE outbox SET payload = ?, dedupe_key = NULL, error = NULL WHERE id = ?",
                  [(ERASED_PAYLOAD, row_id) for row_id in ids])


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


# A Telegram id is hunted inside texts and in number columns only when it is this long: shorter
# digit runs are everywhere (counts, ids, the microseconds of a timestamp). Telegram user ids are
# longer but for a few of Telegram's own first accounts; a shorter one is blanked only where it is
# a whole text value, and goes with the supporter and organiser rows.
_HUNTED_DIGITS = 7


@dataclass(frozen=True)
class _Identity:
    """One erased identity, and how to recognise it in a stored value."""
    like: str                    # narrows the search (LIKE '%…%' on the value as text)
    pattern: re.Pattern[str]     # what is taken out of a text
    number: int | None = None    # a number equal to this is theirs (in a column that is not a key)


def _identities(was: dict[str, Any]) -> list[_Identity]:
    """The erased phone number (with or without its '+'), email (any case) and Telegram id.

    Numbers are taken out only whole: 'telegram:6071829354' loses the id, 96071829354 keeps it.
    """
    found = []
    if was.get("phone"):
        digits = str(was["phone"]).lstrip("+")
        found.append(_Identity(digits, re.compile(rf"(?<!\d)\+?{re.escape(digits)}(?!\d)"),
                               int(digits) if digits.isdigit() else None))
    if was.get("email"):
        email = str(was["email"])
        found.append(_Identity(email, re.compile(re.escape(email), re.IGNORECASE)))
    if was.get("telegram_id") is not None:
        tg = str(was["telegram_id"])
        if len(tg.lstrip("-")) >= _HUNTED_DIGITS:
            found.append(_Identity(tg, re.compile(rf"(?<!\d){re.escape(tg)}(?!\d)"), int(tg)))
        else:
            found.append(_Identity(tg, re.compile(rf"^{re.escape(tg)}$")))
    return found


async def _columns(tx: Tx) -> list[tuple[str, str, bool]]:
    """(table, column, is_key) for every column of every table but the migration record, whatever
    its declared type; is_key when it is (part of) the primary key or refers to another row."""
    found = []
    for (table,) in await tx.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'schema_migrations' ORDER BY name"
    ):
        refs = {r["from"] for r in await tx.query(f'PRAGMA foreign_key_list("{table}")')}
        found += [(table, c["name"], bool(c["pk"]) or c["name"] in refs)
                  for c in await tx.query(f'PRAGMA table_info("{table}")')]
    return found


def _replacements(value: Any, identities: list[_Identity], is_key: bool) -> list[Any]:
    """What may replace a value holding an erased identity, best first; [] when it holds none.

    A text loses the identity (or becomes NULL when what is left clashes with a unique one);
    a number that is one becomes NULL (0 where NULL is refused). Row ids and references are
    never identities: the supporter's own row is kept, anonymous, for the counts.
    """
    if isinstance(value, str):
        cleaned = value
        for identity in identities:
            cleaned = identity.pattern.sub("", cleaned)
        return [] if cleaned == value else [cleaned, None, ""]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        ours = not is_key and any(i.number is not None and value == i.number for i in identities)
        return [None, 0] if ours else []
    if isinstance(value, bytes):
        text = value.decode(errors="replace")
        return [None, b""] if any(i.pattern.search(text) for i in identities) else []
    return []


async def _scrub_values(tx: Tx, was: dict[str, Any]) -> None:
    """Take the erased identities out of every value that holds one, in any table and column."""
    identities = _identities(was)
    if not identities:
        return
    await tx.flush()  # a constraint refusing a scrub below is then the scrub's, never an earlier write's
    for table, column, is_key in await _columns(tx):
        where = " OR ".join(f'LOWER(CAST("{column}" AS TEXT)) LIKE ?' for _ in identities)
        rows = await tx.query(f'SELECT DISTINCT "{column}" FROM "{table}" WHERE {where}',
                              [f"%{i.like.lower()}%" for i in identities])
        for (value,) in rows:
            replacements = _replacements(value, identities, is_key)
            if not replacements:
                continue  # matched only loosely ('_' in an email, a longer number, a row id): not theirs
            for replacement in replacements:
                if await _try(tx, f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?',
                              (replacement, value), f"{table}.{column}"):
                    break
            else:
                log.error("erasure: a value in %s could not be scrubbed: every replacement was refused",
                          f"{table}.{column}")


async def _try(tx: Tx, sql: str, params: tuple[Any, ...], where: str) -> bool:
    """Run one scrub; False when a constraint refused it. A savepoint keeps the rest of the erasure:
    PostgreSQL aborts the whole transaction at a failed statement (SQLite undoes only the statement)."""
    await tx.execute("SAVEPOINT erasure_scrub")
    try:
        changed = await tx.execute(sql, params)
    except sqlite3.IntegrityError:  # storage.db.ConstraintFailed on PostgreSQL is one too
        await tx.execute("ROLLBACK TO SAVEPOINT erasure_scrub")
        await tx.execute("RELEASE SAVEPOINT erasure_scrub")
        log.info("erasure: %s refused one replacement; trying the next", where)
        return False
    await tx.execute("RELEASE SAVEPOINT erasure_scrub")
    if changed:
        log.info("erasure: scrubbed %d value(s) in %s", changed, where)
    return True
