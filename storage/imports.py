"""Imports of supporters and opt-outs: the record of each import, the consent wordings files state,
the lookups an import needs for many rows at once, and its writes in bulk.

Rows already seen in the file being imported are remembered in a scratch table (keyed by the
import's run), not in memory, so that a file of any length is read in flat memory: each batch asks
which of its phone numbers, emails and Telegram ids came earlier. The two backends keep it
differently (see `_scratch`): on SQLite a temporary table of the process's one connection; on
PostgreSQL, where each batch's transaction may take another pooled connection (or another worker
runs another import), one unlogged table shared by every run, made on first use.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from storage.db import Tx, ts
from storage.supporters import Supporter

CHUNK = 500  # values per IN (…) list: well below SQLite's limit on bound parameters
_COLUMNS = ", ".join(f"s.{f.name}" for f in fields(Supporter))


@dataclass(frozen=True)
class Previous:
    """An import of the same file (same SHA-256) that ran to its end."""
    id: int
    file_name: str
    imported_by: str
    at: str
    counts: dict[str, int]


@dataclass
class Known:
    """An existing supporter as an import compares a row with them."""
    supporter: Supporter
    last_name: str | None
    interests: tuple[str, ...]


@dataclass(frozen=True)
class NewSupporter:
    id: int
    phone: str | None
    telegram_id: int | None
    first_name: str | None
    last_name: str | None
    email: str | None
    postcode: str | None
    area: str | None
    group_id: int | None
    language: str
    sms_consent: str
    telegram_consent: str
    joined_at: datetime | None = None  # when they joined, if the file says (else: now)


@dataclass(frozen=True)
class ConsentRow:
    supporter_id: int
    channel: str
    action: str
    source: str
    wording_version: str | None
    at: str  # as stored (storage.db.ts)
    import_id: int | None
    method: str | None


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start:start + CHUNK]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" for _ in values)


# -- the record of imports -------------------------------------------------------------------------
async def previous(tx: Tx, kind: str, sha256: str) -> Previous | None:
    row = await tx.one("SELECT id, file_name, imported_by, at, counts FROM imports WHERE kind = ? AND sha256 = ? "
                       "AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1", (kind, sha256))
    return None if row is None else Previous(row[0], row[1], row[2], row[3], json.loads(row[4]))


async def start(tx: Tx, kind: str, file_name: str, sha256: str, imported_by: str, now: datetime,
                evidence: dict[str, Any] | None) -> int:
    value: int = await tx.scalar(
        "INSERT INTO imports (kind, file_name, sha256, imported_by, at, evidence) VALUES (?, ?, ?, ?, ?, ?) "
        "RETURNING id",
        (kind, file_name, sha256, imported_by, ts(now), None if evidence is None else json.dumps(evidence)))
    return value


def finish(tx: Tx, import_id: int, counts: dict[str, int], now: datetime) -> None:
    tx.write("UPDATE imports SET counts = ?, finished_at = ? WHERE id = ?", (json.dumps(counts), ts(now), import_id))


@dataclass(frozen=True)
class Listed:
    id: int
    kind: str
    file_name: str
    imported_by: str
    at: str
    counts: dict[str, int]
    finished: bool


async def recent(tx: Tx, limit: int = 20) -> list[Listed]:
    rows = await tx.query("SELECT id, kind, file_name, imported_by, at, counts, finished_at FROM imports "
                          "ORDER BY id DESC LIMIT ?", (limit,))
    return [Listed(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6] is not None) for r in rows]


# -- wordings -------------------------------------------------------------------------------------
async def wording_versions(tx: Tx) -> set[str]:
    return {r[0] for r in await tx.query("SELECT version FROM consent_wordings")}


def add_wording(tx: Tx, version: str, text: str, source: str, now: datetime) -> None:
    tx.write("INSERT INTO consent_wordings (version, text, source, created_at) VALUES (?, ?, ?, ?) "
             "ON CONFLICT (version) DO NOTHING", (version, text, source, ts(now)))


# -- what a batch needs to know --------------------------------------------------------------------
async def groups_by_name(tx: Tx) -> dict[str, int]:
    return {r[0].lower(): r[1] for r in await tx.query("SELECT name, id FROM local_groups")}


async def area_groups(tx: Tx) -> dict[str, int]:
    return {r[0]: r[1] for r in await tx.query("SELECT area, group_id FROM group_areas")}


async def _known(tx: Tx, where: str, values: Sequence[Any]) -> list[Known]:
    found: list[Known] = []
    for chunk in _chunks(values):
        rows = await tx.query(
            f"SELECT {_COLUMNS}, s.last_name, (SELECT group_concat(i.interest, ',') FROM supporter_interests i "
            f"WHERE i.supporter_id = s.id) FROM supporters s WHERE s.status <> 'erased' AND {where} "
            f"IN ({_marks(chunk)}) ORDER BY s.id", list(chunk))
        width = len(fields(Supporter))
        for r in rows:
            person = Supporter(*r[:width])
            found.append(Known(person, r[width], tuple(sorted(r[width + 1].split(","))) if r[width + 1] else ()))
    return found


async def by_phone(tx: Tx, phones: Sequence[str]) -> dict[str, Known]:
    return {k.supporter.phone or "": k for k in await _known(tx, "s.phone", phones)}


async def by_telegram(tx: Tx, ids: Sequence[int]) -> dict[int, Known]:
    return {int(k.supporter.telegram_id or 0): k for k in await _known(tx, "s.telegram_id", ids)}


async def by_email(tx: Tx, emails: Sequence[str]) -> dict[str, Known]:
    """By email, case folded; the earliest supporter where several share one."""
    found: dict[str, Known] = {}
    for k in await _known(tx, "lower(s.email)", [e.lower() for e in emails]):
        found.setdefault((k.supporter.email or "").lower(), k)
    return found


async def suppressed(tx: Tx, hashes: Sequence[str]) -> dict[str, str]:
    """hash → reason ('erased' or 'opted_out') for those of these on the suppression list."""
    found: dict[str, str] = {}
    for chunk in _chunks(hashes):
        found.update({r[0]: r[1] for r in await tx.query(
            f"SELECT hash, reason FROM suppression WHERE hash IN ({_marks(chunk)})", list(chunk))})
    return found


# -- rows already seen in this file ----------------------------------------------------------------
_RUN_BITS = 30  # a run key is the second it started, then this many random bits
_STALE_SECONDS = 86_400  # a run's rows left this long (its process killed mid-import) are removed


def run_key(now: datetime) -> int:
    """A new run's key: unique, and ordered by when the run started (so that rows a killed import
    left behind can be found by their age)."""
    return (int(now.timestamp()) << _RUN_BITS) | secrets.randbits(_RUN_BITS)


def _scratch(tx: Tx) -> str:
    """The scratch table's name: SQLite's lives in the connection's temp schema."""
    return "import_seen" if tx.dialect == "postgresql" else "temp.import_seen"


async def begin_run(tx: Tx, run: int) -> None:
    if tx.dialect == "postgresql":
        # Unlogged: scratch rows need no crash safety, and skipping the WAL makes their writes cheap.
        # The advisory lock lets two workers starting their first import at once take turns to make it.
        from storage.postgres import lock_key  # asyncpg only for deployments that use it

        await tx.execute(f"SELECT pg_advisory_xact_lock({lock_key('import_seen')})")
        await tx.execute("CREATE UNLOGGED TABLE IF NOT EXISTS import_seen (run BIGINT NOT NULL, key BIGINT NOT NULL, "
                         "line BIGINT NOT NULL, PRIMARY KEY (run, key))")
    else:
        await tx.execute("PRAGMA temp.cache_size = -32000")
        await tx.execute("CREATE TEMP TABLE IF NOT EXISTS import_seen (run INTEGER NOT NULL, key INTEGER NOT NULL, "
                         "line INTEGER NOT NULL, PRIMARY KEY (run, key)) WITHOUT ROWID")
    await tx.execute(f"DELETE FROM {_scratch(tx)} WHERE run = ? OR run < ?",
                     (run, run - (_STALE_SECONDS << _RUN_BITS)))


def _key(text: str) -> int:
    """A key as 8 bytes (a smaller, faster index than the text; a clash is a 1 in 2^64 chance)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


async def seen(tx: Tx, run: int, keys: Sequence[str]) -> dict[str, int]:
    """Which of these keys an earlier row of the same run had, and on which line."""
    by_key = {_key(k): k for k in keys}
    found: dict[str, int] = {}
    for chunk in _chunks(list(by_key)):
        found.update({by_key[r[0]]: r[1] for r in await tx.query(
            f"SELECT key, line FROM {_scratch(tx)} WHERE run = ? AND key IN ({_marks(chunk)})", [run, *chunk])})
    return found


def remember(tx: Tx, run: int, keys: Iterable[tuple[str, int]]) -> None:
    tx.write_many(f"INSERT INTO {_scratch(tx)} (run, key, line) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                  [(run, _key(key), line) for key, line in keys])


async def end_run(tx: Tx, run: int) -> None:
    await tx.execute(f"DELETE FROM {_scratch(tx)} WHERE run = ?", (run,))


# -- writes ---------------------------------------------------------------------------------------
async def supporter_ids(tx: Tx, count: int) -> list[int]:
    """`count` ids for new supporters, ascending. SQLite's transaction holds the write lock (nobody
    else inserts), so they follow the largest id; on PostgreSQL other workers sign people up at the
    same time, so they come from the table's identity sequence, as a sign-up's id does (ids an import
    reserves but does not use are left as gaps)."""
    if count <= 0:
        return []
    if tx.dialect == "postgresql":
        rows = await tx.query("SELECT nextval(pg_get_serial_sequence('supporters', 'id')) FROM generate_series(1, ?)",
                              (count,))
        return sorted(int(r[0]) for r in rows)
    first: int = await tx.scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM supporters")
    return list(range(first, first + count))


def insert_supporters(tx: Tx, rows: Sequence[NewSupporter], now: datetime) -> None:
    stamp = ts(now)
    tx.write_many(
        "INSERT INTO supporters (id, phone, telegram_id, first_name, last_name, email, postcode, area, group_id, "
        "language, language_stated, status, sms_consent, telegram_consent, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?)",
        # A file's language column is read only when it has a cell; English may be its default.
        [(r.id, r.phone, r.telegram_id, r.first_name, r.last_name, r.email, r.postcode, r.area, r.group_id,
          r.language, int(r.language != "en"), r.sms_consent, r.telegram_consent,
          ts(r.joined_at) if r.joined_at else stamp) for r in rows])


# What an import may change on an existing supporter (identities only where they had none).
UPDATABLE = frozenset({"phone", "telegram_id", "first_name", "last_name", "email", "postcode", "area", "group_id",
                       "language"})


def update_supporter(tx: Tx, supporter_id: int, changes: dict[str, Any]) -> None:
    unknown = set(changes) - UPDATABLE
    if unknown:
        raise ValueError(f"not changed by an import: {sorted(unknown)}")
    if "language" in changes:  # the file states it
        changes = {**changes, "language_stated": 1}
    names = sorted(changes)
    tx.write(f"UPDATE supporters SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
             [changes[n] for n in names] + [supporter_id])


def insert_consents(tx: Tx, rows: Sequence[ConsentRow]) -> None:
    """Consent events of supporters this import creates (their current state is set as they are inserted)."""
    tx.write_many(
        "INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, reason, at, import_id, "
        "method) VALUES (?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        [(r.supporter_id, r.channel, r.action, r.source, r.wording_version, r.at, r.import_id, r.method)
         for r in rows])


def set_interests(tx: Tx, pairs: Sequence[tuple[int, str]], replace: Sequence[int] = ()) -> None:
    if replace:
        tx.write_many("DELETE FROM supporter_interests WHERE supporter_id = ?", [(i,) for i in replace])
    tx.write_many("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?) ON CONFLICT DO NOTHING",
                  pairs)


def suppress(tx: Tx, entries: Sequence[tuple[str, str]], import_id: int | None, now: datetime) -> None:
    """(hash, kind) of numbers opted out elsewhere and not known here: on the list as 'opted_out'."""
    tx.write_many("INSERT INTO suppression (hash, kind, created_at, reason, import_id) "
                  "VALUES (?, ?, ?, 'opted_out', ?) ON CONFLICT (hash) DO NOTHING",
                  [(h, kind, ts(now), import_id) for h, kind in entries])
