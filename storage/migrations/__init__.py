"""Numbered SQL migrations, applied in order and recorded in schema_migrations."""
from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from importlib import resources

import aiosqlite

from storage.db import Database, DatabaseBusy, ts

log = logging.getLogger(__name__)


def available() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every NNNN_name.sql file beside this module, in order."""
    found = []
    for entry in resources.files(__package__).iterdir():
        name = entry.name
        if name.endswith(".sql") and name[:4].isdigit():
            found.append((int(name[:4]), name, entry.read_text(encoding="utf-8")))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"two migrations share a number: {sorted(numbers)}")
    return sorted(found)


def statements(sql: str) -> list[str]:
    """The statements of a migration file, one each, split where SQLite itself says one ends."""
    found, buffer = [], ""
    for piece in sql.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            found.append(buffer)
            buffer = ""
    if buffer.rstrip(";").strip():
        found.append(buffer.rstrip(";"))  # a last statement without its ';' (or a trailing comment)
    return found


async def upgrade(db: Database) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied (empty when up to date).

    Each migration runs in its own BEGIN IMMEDIATE transaction that first re-reads whether it is
    already applied: two upgraders of one file (two `muster db upgrade`, or one beside start-up)
    then take turns on the write lock, and the later one finds nothing left to do. A deferred
    BEGIN would let both read "not applied" before either wrote, and the later one would fail
    with "table ... already exists".
    """
    conn = db.conn
    done = await _applied(conn)
    applied = []
    for number, name, sql in available():
        if number in done:
            continue  # read without the lock: only a migration seen as pending takes it
        if await _apply(db, number, name, sql):
            log.info("applied migration %s", name)
            applied.append(name)
    return applied


async def _applied(conn: aiosqlite.Connection) -> set[int]:
    exists = await conn.execute_fetchall(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    if not exists:
        return set()
    return {row[0] for row in await conn.execute_fetchall("SELECT number FROM schema_migrations")}


async def _apply(db: Database, number: int, name: str, sql: str) -> bool:
    """Apply one migration under the write lock; False when another upgrader got there first."""
    conn = db.conn
    try:
        await conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseBusy(f"database busy: no write lock in {db.busy_timeout_ms} ms") from None
        raise
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        if await conn.execute_fetchall("SELECT 1 FROM schema_migrations WHERE number = ?", (number,)):
            await conn.execute("ROLLBACK")
            return False
        # Statement by statement, not executescript, which would commit the transaction first.
        for statement in statements(sql):
            await conn.execute(statement)
        await conn.execute(
            "INSERT INTO schema_migrations (number, name, applied_at) VALUES (?, ?, ?)",
            (number, name, ts(datetime.now(UTC))),
        )
        await conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        raise
    return True
