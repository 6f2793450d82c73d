"""Linking a supporter's channels: two records of one person become one."""
from __future__ import annotations

import logging

from storage import subjects
from storage.db import Tx

log = logging.getLogger(__name__)

# Tables this module moves by name; any other table referring to supporters is found by
# introspection (an `rsvps` table, and whatever comes later) and moved generically.
_KNOWN = frozenset({"supporters", "conversations", "supporter_interests", "outbox", "consent_log"})
_PROFILE = ("first_name", "email", "postcode", "area", "group_id", "referral_code", "referred_by")


async def references(tx: Tx) -> list[tuple[str, str, bool]]:
    """(table, column, not_null) for every column that refers to supporters(id)."""
    tables = [r[0] for r in await tx.query(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    )]
    found = []
    for table in tables:
        columns = {r["name"]: bool(r["notnull"]) for r in await tx.query(f'PRAGMA table_info("{table}")')}
        for fk in await tx.query(f'PRAGMA foreign_key_list("{table}")'):
            if fk["table"] == "supporters" and (fk["to"] in (None, "id")):
                found.append((table, fk["from"], columns.get(fk["from"], False)))
    return found


async def merge(tx: Tx, keep_id: int, drop_id: int) -> dict[str, int]:
    """Fold the record `drop_id` into `keep_id` and delete it; returns rows moved per table.

    Each channel keeps the identity and consent of the record that had it; profile fields
    keep the kept record's value where it has one. The caller checks there is no conflict
    (both records holding a different phone or Telegram id).
    """
    keep = await tx.one("SELECT * FROM supporters WHERE id = ?", (keep_id,))
    drop = await tx.one("SELECT * FROM supporters WHERE id = ?", (drop_id,))
    if keep is None or drop is None or keep_id == drop_id:
        raise ValueError("merge needs two different existing supporters")
    for column in ("phone", "telegram_id"):
        if keep[column] is not None and drop[column] is not None and keep[column] != drop[column]:
            raise ValueError(f"conflicting {column}: not merging")
    merged: dict[str, object] = {}
    for column, channel in (("phone", "sms"), ("telegram_id", "telegram")):
        owner = keep if keep[column] is not None else drop
        merged[column] = owner[column]
        merged[f"{channel}_consent"] = owner[f"{channel}_consent"]
        if channel == "sms":
            merged["sms_undeliverable"] = owner["sms_undeliverable"]
    for column in _PROFILE:
        merged[column] = keep[column] if keep[column] is not None else drop[column]
    if merged["referred_by"] in (keep_id, drop_id):
        merged["referred_by"] = None  # never credited for recruiting yourself
    merged["status"] = "active" if "active" in (keep["status"], drop["status"]) else keep["status"]
    seen = [s for s in (keep["last_seen_at"], drop["last_seen_at"]) if s]
    latest = max(seen) if seen else None
    merged["last_seen_at"] = latest
    merged["last_channel"] = drop["last_channel"] if latest and latest == drop["last_seen_at"] else keep["last_channel"]

    moved: dict[str, int] = {}
    # Free the unique identities before the kept record takes them.
    await tx.execute(
        "UPDATE supporters SET phone = NULL, telegram_id = NULL, referral_code = NULL WHERE id = ?", (drop_id,)
    )
    names = sorted(merged)
    await tx.execute(
        f"UPDATE supporters SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
        [merged[n] for n in names] + [keep_id],
    )
    moved["referrals"] = await tx.execute(
        "UPDATE supporters SET referred_by = ? WHERE referred_by = ? AND id <> ?", (keep_id, drop_id, keep_id)
    )
    moved["conversations"] = await tx.execute(
        "UPDATE conversations SET supporter_id = ? WHERE supporter_id = ? AND channel NOT IN "
        "(SELECT channel FROM conversations WHERE supporter_id = ?)",
        (keep_id, drop_id, keep_id),
    )
    moved["supporter_interests"] = await tx.execute(
        "INSERT INTO supporter_interests (supporter_id, interest) "
        "SELECT ?, interest FROM supporter_interests WHERE supporter_id = ? "
        "ON CONFLICT (supporter_id, interest) DO NOTHING",
        (keep_id, drop_id),
    )
    for table in ("outbox", "consent_log"):
        moved[table] = await tx.execute(
            f"UPDATE {table} SET supporter_id = ? WHERE supporter_id = ?", (keep_id, drop_id)
        )
    moved["outbox_about"] = await subjects.move(tx, keep_id, drop_id)
    for table, column, _ in await references(tx):
        if table in _KNOWN:
            continue
        # Rows that would collide with the kept record's own (one RSVP per event) stay
        # behind and go with the dropped record: the older record's answer wins.
        moved[table] = await tx.execute(
            f'UPDATE OR IGNORE "{table}" SET "{column}" = ? WHERE "{column}" = ?', (keep_id, drop_id)
        )
        left = await tx.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = ?', (drop_id,))
        if left:
            log.warning("merge: %d %s row(s) of supporter %s clashed with %s's and were dropped",
                        left, table, drop_id, keep_id)
            await tx.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (drop_id,))
    await tx.execute("DELETE FROM supporters WHERE id = ?", (drop_id,))
    return moved
