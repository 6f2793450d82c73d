"""The SQLite connection, its settings, and the unit of work every caller goes through."""
from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Coroutine, Iterable, Sequence, Set
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import aiosqlite
import orjson

log = logging.getLogger(__name__)

Row = sqlite3.Row
Params = Sequence[Any] | dict[str, Any]

# The table a buffered write names. A delete (or a REPLACE, which deletes) also reaches every
# table whose foreign keys cascade from it, as the schema says (Database.learn_schema).
_WRITE_TARGET = re.compile(
    r"^\s*(?:(?P<delete>DELETE\s+FROM|REPLACE\s+INTO|INSERT\s+OR\s+REPLACE\s+INTO)"
    r"|INSERT(?:\s+OR\s+\w+)?\s+INTO|UPDATE(?:\s+OR\s+\w+)?)\s+(?P<table>\w+)",
    re.IGNORECASE,
)


class ConstraintFailed(sqlite3.IntegrityError):
    """Buffered writes broke a constraint when the transaction was committed; nothing was written."""


class DatabaseBusy(sqlite3.OperationalError):
    """Another connection held the write lock for longer than the busy timeout: try again later."""


class DatabaseUnusable(Exception):
    """The database cannot be used at all (missing folder, not a database, damaged, read-only, locked)."""


def unusable(path: str, exc: BaseException) -> DatabaseUnusable:
    """One line an operator can act on, for an error that opening or checking the database raised."""
    text = str(exc)
    if "unable to open" in text:
        reason = "cannot be opened (does its folder exist, and may this user write there?)"
    elif "not a database" in text:
        reason = "is not a SQLite database"
    elif "malformed" in text or "corrupt" in text:
        reason = "is damaged; restore it from a backup"
    elif "readonly" in text or "read-only" in text:
        reason = "is read-only (file permissions, or a read-only filesystem)"
    elif "locked" in text or "busy" in text:
        reason = "is locked by another program (no write lock within the busy timeout)"
    elif "disk is full" in text or "disk I/O" in text:
        reason = f"cannot be written: {text}"
    else:
        reason = f"cannot be used: {text}"
    return DatabaseUnusable(f"{path} {reason}")


@lru_cache(maxsize=1024)
def _target(sql: str) -> tuple[str, bool] | None:
    """The table a write names, and whether it deletes there; None when it cannot be told."""
    target = _WRITE_TARGET.match(sql)
    return None if target is None else (target.group("table").lower(), bool(target.group("delete")))


@lru_cache(maxsize=1024)
def _words(sql: str) -> frozenset[str]:
    """The words of a statement (its tables among them), lower case; a statement's text is fixed."""
    return frozenset(re.findall(r"\w+", sql.lower()))


def _key(sql: str, params: Params) -> tuple[str, tuple[Any, ...]] | None:
    """A read's statement and parameters as a key for what it returned; None when a parameter
    cannot be one (a list, on PostgreSQL)."""
    key = (sql, tuple(params.items()) if isinstance(params, dict) else tuple(params))
    try:
        hash(key)
    except TypeError:
        return None
    return key


def close(reads: Iterable[Awaitable[Any]]) -> None:
    """Close reads that will never be awaited (so none is left to warn that it was not)."""
    for read in reads:
        if isinstance(read, Coroutine):
            read.close()


def ts(moment: datetime) -> str:
    """A UTC timestamp in the one fixed-width text form stored everywhere (sorts as text):
    2026-12-02T18:53:57.899639Z. One message writes the same moment many times: remembered."""
    global _last
    last = _last
    if moment is last[0]:  # the same moment again: a message stamps its rows with one
        return last[1]
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry a timezone")
    _last = (moment, _utc_text(moment))
    return _last[1]


_last: tuple[datetime | None, str] = (None, "")


@lru_cache(maxsize=4096)
def _utc_text(moment: datetime) -> str:  # equal instants in any zone hash alike and give one text
    return moment.astimezone(UTC).isoformat(timespec="microseconds")[:26] + "Z"


def parse_ts(text: str) -> datetime:
    """The moment a ts() text names (fromisoformat: about 70 times faster than strptime)."""
    if len(text) != 27 or text[-1] != "Z":
        raise ValueError(f"not a stored timestamp: {text!r}")
    return datetime.fromisoformat(text)


def json_text(value: Any) -> str:
    """The JSON text stored for a value: compact, UTF-8 as it is, keys that are not strings written
    as strings (as the standard library does). orjson: a tenth of json's time for a payload."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def parse_json(text: str | bytes) -> Any:
    """The value a stored JSON text holds."""
    return orjson.loads(text)


def cascades(tables: Iterable[str], edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Each table with every table a delete from it reaches through ON DELETE actions (itself
    included), from (child, parent) foreign-key edges. Names are compared in lower case."""
    children: dict[str, set[str]] = {}
    for child, parent in edges:
        children.setdefault(parent.lower(), set()).add(child.lower())
    reached_from = {}
    for table in (t.lower() for t in tables):
        reached, todo = {table}, [table]
        while todo:
            for child in children.get(todo.pop(), ()):
                if child not in reached:
                    reached.add(child)
                    todo.append(child)
        reached_from[table] = reached
    return reached_from


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

    dialect = "sqlite"  # storage.postgres.PgTx says "postgresql"
    skip_locked = ""  # what a claim's SELECT adds so that concurrent claimers skip each other's rows

    def __init__(self, conn: aiosqlite.Connection, cascades: dict[str, set[str]] | None = None) -> None:
        self._conn = conn
        self._begin(cascades)

    def _begin(self, cascades: dict[str, set[str]] | None) -> None:
        self._cascades = cascades  # table → the tables a delete there can change; None: not known
        self._pending: dict[str, list[Params]] = {}
        self._tables: set[str] | None = set()  # tables with pending writes; None: unknown, flush always
        # What the reads run by read_ahead() returned, by statement and parameters, with the words
        # (tables) each names, none for a read made with own_writes=False; an entry goes when a
        # write names one of them.
        self._kept: dict[tuple[str, tuple[Any, ...]], tuple[list[Row], frozenset[str]]] = {}
        self._kept_words: frozenset[str] = frozenset()  # every word the kept reads name
        self._keeping = False

    def write(self, sql: str, params: Params = ()) -> None:
        self._pending.setdefault(sql, []).append(params)
        self._note(sql)

    def write_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._pending.setdefault(sql, []).extend(rows)
        self._note(sql)

    def _note(self, sql: str) -> None:
        if self._tables is None and not self._kept:
            return
        reached = self._reached(sql)
        if self._kept:
            self._forget(reached)
        if self._tables is None:
            return
        if reached is None:
            self._tables = None
        else:
            self._tables |= reached

    def _reached(self, sql: str) -> Set[str] | None:
        """The tables a write can change (a delete's cascades included); None when not known."""
        target = _target(sql)
        if target is None:
            return None
        table, delete = target
        if not delete:
            return frozenset((table,))
        if self._cascades is not None and table in self._cascades:
            return self._cascades[table]
        return None

    def _forget(self, tables: Set[str] | None) -> None:
        """Drop the kept reads that name any of these tables (all of them when not known), but for
        those made with own_writes=False, which did not look for this transaction's writes anyway."""
        if tables is not None and tables.isdisjoint(self._kept_words):
            return  # the usual case: a write to a table no kept read names
        self._kept = {k: v for k, v in self._kept.items()
                      if not v[1] or (tables is not None and tables.isdisjoint(v[1]))}
        self._kept_words = frozenset().union(*(v[1] for v in self._kept.values()))

    @staticmethod
    def _is_read(sql: str) -> bool:
        return sql.lstrip()[:6].upper() == "SELECT"

    def _must_flush(self, sql: str) -> bool:
        if not self._pending:
            return False
        if self._tables is None or not self._is_read(sql):
            return True  # a write keeps its place in the order of writes
        return not self._tables.isdisjoint(_words(sql))

    async def flush(self) -> None:
        pending, self._pending, self._tables = self._pending, {}, set()
        for sql, rows in pending.items():
            if len(rows) == 1:
                await self._conn.execute(sql, rows[0])
            elif rows:
                await self._conn.executemany(sql, rows)

    async def together(self, *reads: Awaitable[Any]) -> list[Any]:
        """Await these at once: their statements are queued together on the database's thread, one
        round trip for all instead of one each. Each must be a read, except that the first may be a
        write: should it fail, what runs behind it only reads."""
        results = await asyncio.gather(*reads, return_exceptions=True)
        for result in results:  # every one has finished: the first failure is the one raised
            if isinstance(result, BaseException):
                raise result
        return results

    async def read_ahead(self, reads: Iterable[Awaitable[Any]]) -> None:
        """Run reads a batch's steps are about to ask for, together (`together()`), keeping what
        each SELECT returned: the same SELECT with the same parameters asked again in this
        transaction is answered from what was kept, until a write names one of its tables."""
        made: list[Awaitable[Any]] = []
        try:
            made.extend(reads)
        except BaseException:
            close(made)
            raise
        if not made:
            return
        if self._pending:
            await self.flush()  # the reads queue together: none may flush while another waits
        self._keeping = True
        try:
            await self.together(*made)
        finally:
            self._keeping = False

    async def query(self, sql: str, params: Params = (), *, own_writes: bool = True) -> list[Row]:
        """Run a statement now (after pending writes to the tables it names); RETURNING gives ids.

        own_writes=False skips the flush, so the read misses this transaction's buffered writes:
        for a check that a unique index backs anyway, where a clash with a buffered write then
        fails when it is flushed (at commit: ConstraintFailed) instead.
        """
        read = self._is_read(sql)
        key = _key(sql, params) if read and (self._kept or self._keeping) else None
        if key is not None and (kept := self._kept.get(key)) is not None:
            return list(kept[0])
        if own_writes and self._must_flush(sql):
            await self.flush()
        if not read and self._kept:
            self._forget(self._reached(sql))
        rows = await self._fetch(sql, params)
        if key is not None and self._keeping:
            words = _words(sql) if own_writes else frozenset()
            self._kept[key] = (rows, words)
            self._kept_words |= words
        return list(rows)

    async def _fetch(self, sql: str, params: Params) -> list[Row]:
        return list(await self._conn.execute_fetchall(sql, params))

    async def one(self, sql: str, params: Params = (), *, own_writes: bool = True) -> Row | None:
        rows = await self.query(sql, params, own_writes=own_writes)
        return rows[0] if rows else None

    async def scalar(self, sql: str, params: Params = (), *, own_writes: bool = True) -> Any:
        row = await self.one(sql, params, own_writes=own_writes)
        return None if row is None else row[0]

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a write now and return the number of rows it changed."""
        if self._pending:
            await self.flush()
        if self._kept:
            self._forget(self._reached(sql))
        cursor = await self._conn.execute(sql, params)
        try:
            return cursor.rowcount
        finally:
            await cursor.close()


class Database:
    """One aiosqlite connection per process; transactions take turns on it."""

    dialect = "sqlite"
    shared = False  # one service holds a SQLite database (storage.lock); PostgreSQL is shared by workers

    def __init__(self, path: str | Path, busy_timeout_ms: int = 5000) -> None:
        self.path = str(path)
        self.busy_timeout_ms = busy_timeout_ms
        self._conn: aiosqlite.Connection | None = None
        # Transactions on one connection must not interleave: an await inside one
        # would otherwise let another's statements run inside it.
        self._lock = asyncio.Lock()
        self._cascades: dict[str, set[str]] | None = None

    async def connect(self) -> Database:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            conn.row_factory = sqlite3.Row
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            # Erased data must not linger in free pages of the file.
            await conn.execute("PRAGMA secure_delete = ON")
        except BaseException:
            # Its worker thread would otherwise keep the process alive after a failed start.
            await conn.close()
            raise
        self._conn = conn
        return self

    async def check(self) -> None:
        """Refuse a database that is damaged, read-only or held by another program (DatabaseUnusable)."""
        try:
            problems = [r[0] for r in await self.conn.execute_fetchall("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise DatabaseUnusable(f"{self.path} is damaged ({problems[0]}); restore it from a backup")
            await self.conn.execute("BEGIN IMMEDIATE")
            await self.conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            raise unusable(self.path, exc) from None

    async def learn_schema(self) -> None:
        """Read which tables a delete can reach through ON DELETE actions, so a buffered delete
        makes only reads of those tables flush. Call after migrations, and again after any change."""
        names = [r[0] for r in await self.conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        edges = []
        for table in names:
            for fk in await self.conn.execute_fetchall(f'PRAGMA foreign_key_list("{table}")'):
                if fk["on_delete"].upper() != "NO ACTION" and fk["on_delete"].upper() != "RESTRICT":
                    edges.append((table, fk["table"]))
        self._cascades = cascades(names, edges)

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
            tx = Tx(conn, self._cascades)
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
                try:
                    await tx.flush()
                except sqlite3.IntegrityError as exc:
                    raise ConstraintFailed(str(exc)) from exc
                await conn.execute("COMMIT")
            except BaseException as exc:
                if not began:
                    raise
                if isinstance(exc, sqlite3.Error) and not conn.in_transaction:
                    raise  # SQLite ended it itself: a full disk (SQLITE_FULL) rolls the whole transaction back
                # A COMMIT cancelled mid-flight may still complete in the worker thread: the
                # ROLLBACK then fails, and must not hide the cancellation.
                try:
                    await conn.execute("ROLLBACK")
                except sqlite3.OperationalError:
                    log.warning("rollback after an interrupted transaction found nothing to undo")
                raise

    async def truncate_wal(self) -> bool:
        """Copy the write-ahead log into the database file and empty it, so that no old page it
        held (an erased supporter's rows, say) stays on disk. True when it could be emptied."""
        async with self._lock:
            rows = list(await self.conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
        return bool(rows[0][0] == 0)

    async def leader(self, name: str) -> bool:
        """Whether this process runs `name`'s due work: on SQLite the one service always does."""
        return True

    async def step_down(self, name: str) -> None:
        """Give up `name`'s lease (nothing to give up on SQLite)."""

    async def ping(self) -> bool:
        try:
            async with self._lock:
                await self.conn.execute_fetchall("SELECT 1")
            return True
        except Exception:
            log.exception("database ping failed")
            return False
