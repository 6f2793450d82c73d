"""The SQLite connection, its settings, and the unit of work every caller goes through."""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]

_TS_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
# The table a buffered INSERT/UPDATE writes. DELETE is left out on purpose: ON DELETE CASCADE
# reaches other tables, so a pending delete makes every read flush.
_WRITE_TARGET = re.compile(r"^\s*(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?)\s+(\w+)", re.IGNORECASE)


class DatabaseBusy(sqlite3.OperationalError):
    """Another connection held the write lock for longer than the busy timeout: try again later."""


def ts(moment: datetime) -> str:
    """A UTC timestamp in the one fixed-width text form stored everywhere (sorts as text)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone")
    return moment.astimezone(timezone.utc).strftime(_TS_FORMAT)


def parse_ts(text: str) -> datetime:
    return datetime.strptime(text, _TS_FORMAT).replace(tzinfo=timezone.utc)


class Tx:
    """One transaction. Writes are buffered and sent in as few round trips as possible.

    Each aiosqlite call is a hop to the database thread (about 0.1 ms here), so writes
    are queued with `write()` and sent by `flush()`, which groups them by statement
    into `executemany` calls, keeping the order of the statements' first appearance
    and, within one statement, the order written. `query()` flushes first when the read
    names a table with pending writes, so reads always see this transaction's own writes
    while reads of other tables skip the round trips. A unit of work that writes the same
    row with two different statements, where their order matters, calls `flush()` between.
    """

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._pending: dict[str, list[Params]] = {}
        self._tables: set[str] | None = set()  # tables with pending writes; None: unknown, flush always

    def write(self, sql: str, params: Params = ()) -> None:
        self._pending.setdefault(sql, []).append(params)
        self._note(sql)

    def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._pending.setdefault(sql, []).extend(rows)
        self._note(sql)

    def _note(self, sql: str) -> None:
        if self._tables is not None:
            target = _WRITE_TARGET.match(sql)
            if target:
                self._tables.add(target.group(1).lower())
            else:
                self._tables = None

    def _must_flush(self, sql: str) -> bool:
        if not self._pending:
            return False
        if self._tables is None or not sql.lstrip()[:6].upper() == "SELECT":
            return True  # a write keeps its place in the order of writes
        words = set(re.findall(r"\w+", sql.lower()))
        return not self._tables.isdisjoint(words)

    async def flush(self) -> None:
        pending, self._pending, self._tables = self._pending, {}, set()
        for sql, rows in pending.items():
            if len(rows) == 1:
                await self._conn.execute(sql, rows[0])
            elif rows:
                await self._conn.executemany(sql, rows)

    async def query(self, sql: str, params: Params = ()) -> list[Row]:
        """Run a statement now (after pending writes to the tables it names); RETURNING gives ids."""
        if self._must_flush(sql):
            await self.flush()
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        rows = await self.query(sql, params)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = ()) -> Any:
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a write now and return the number of rows it changed."""
        if self._pending:
            await self.flush()
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            await cursor.close()


class Database:
    """One aiosqlite connection per process; transactions take turns on it."""

    def __init__(self, path: str | Path, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        # Transactions on one connection must not interleave: an await inside one
        # would otherwise let another's statements run inside it.
        self._lock = asyncio.Lock()

    async def connect(self) -> Database:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute("PRAGMA synchronous = NORMAL")
        await conn.execute("PRAGMA foreign_keys = ON")
        # Erased data must not linger in free pages of the file.
        await conn.execute("PRAGMA secure_delete = ON")
        self._conn = conn
        return self

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def __aenter__(self) -> Database:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def conn(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """BEGIN IMMEDIATE … COMMIT; any exception rolls everything back and re-raises."""
        async with self._lock:
            conn = self.conn
            tx = Tx(conn)
            began = True
            try:
                # Inside the try: a BEGIN cancelled while queued still runs in the worker
                # thread, and the ROLLBACK queued behind it must undo it.
                try:
                    await conn.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    began = False  # refused outright: there is nothing to roll back
                    if "locked" in str(exc) or "busy" in str(exc):
                        raise DatabaseBusy(f"database busy: no write lock in {self.busy_timeout_ms} ms") from None
                    raise
                yield tx
                await tx.flush()
                await conn.execute("COMMIT")
            except BaseException:
                if not began:
                    raise
                # A COMMIT cancelled mid-flight may still complete in the worker thread: the
                # ROLLBACK then fails, and must not hide the cancellation.
                try:
                    await conn.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    log.warning("rollback after an interrupted transaction found nothing to undo")
                raise

    async def ping(self) -> bool:
        try:
            async with self._lock:
                await self.conn.execute_fetchall("SELECT 1")
            return True
        except Exception:
            log.exception("database ping failed")
            return False
