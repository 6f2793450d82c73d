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


async def _unique_keys(tx: Tx, table: str) -> list[tuple[str, ...]]:
    """The columns of each primary key and unique index of `table` (not partial ones, nor those on
    expressions: no table referring to supporters has one, and a clash on one fails the merge)."""
    if tx.dialect == "postgresql":
        rows = await tx.query(
            "SELECT array_agg(a.attname::text ORDER BY k.n) FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indrelid AND c.relnamespace = current_schema()::regnamespace "
            "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
            "WHERE c.relname = ? AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
            "GROUP BY i.indexrelid", (table,))
        return [tuple(r[0]) for r in rows]
    keys = [tuple(r["name"] for r in sorted(await tx.query(f'PRAGMA table_info("{table}")'), key=lambda r: r["pk"])
                  if r["pk"])]
    for index in await tx.query(f'PRAGMA index_list("{table}")'):
        if index["unique"] and not index["partial"]:
            columns = [r["name"] for r in await tx.query(f'PRAGMA index_info("{index["name"]}")')]
            if None not in columns:
                keys.append(tuple(columns))
    return list(dict.fromkeys(k for k in keys if k))  # a composite primary key is also listed as an index


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
        # behind and go with the dropped record: the older record's answer wins. (SQLite's
        # UPDATE OR IGNORE, said in SQL both backends speak: PostgreSQL has no OR IGNORE.)
        clashes = "".join(
            f' AND NOT EXISTS (SELECT 1 FROM "{table}" AS kept WHERE kept."{column}" = ?'
            + "".join(f' AND kept."{c}" = "{table}"."{c}"' for c in key if c != column) + ")"
            for key in await _unique_keys(tx, table) if column in key)
        moved[table] = await tx.execute(
            f'UPDATE "{table}" SET "{column}" = ? WHERE "{column}" = ?{clashes}',
            [keep_id, drop_id, *[keep_id] * clashes.count("NOT EXISTS")],
        )
        left = await tx.scalar(f'SELECT COUNT(*) FROM "{table}" WHERE "{column}" = ?', (drop_id,))
        if left:
            log.warning("merge: %d %s row(s) of supporter %s clashed with %s's and were dropped",
                        left, table, drop_id, keep_id)
            await tx.execute(f'DELETE FROM "{table}" WHERE "{column}" = ?', (drop_id,))
    await tx.execute("DELETE FROM supporters WHERE id = ?", (drop_id,))
    return moved
