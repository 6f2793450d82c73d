"""PostgreSQL through asyncpg: the same Database and Tx as SQLite, for several workers on one database.

Storage modules write one SQL, SQLite's. What PostgreSQL spells differently is translated here, in one
visible place, and nowhere else:

- placeholders: `?` and `:name` become `$1, $2, …` (outside quoted text);
- `INSERT OR IGNORE` becomes `INSERT … ON CONFLICT DO NOTHING`; `INSERT OR REPLACE` an upsert on
  the table's primary key; `LIKE` is `ILIKE` (SQLite's LIKE ignores case);
- `PRAGMA table_info(t)` and `PRAGMA foreign_key_list(t)` read the catalogue, and a view
  `sqlite_master` lists the tables, for the few modules that look at the schema;
- SQLite's loose typing: text parameters take numbers, integer ones take text and booleans, SUM
  of a comparison counts it (an aggregate `sum(boolean)`), `group_concat` is `string_agg`, a `?`
  only tested with `IS NULL` is typed as text;
- migrations: one set of files, each translated (`INTEGER` is BIGINT, `INTEGER PRIMARY KEY` an
  identity column, `WITHOUT ROWID` dropped); a migration that cannot be translated has its own
  PostgreSQL text beside it in `storage/migrations/postgres/NNNN_name.sql`.

Why asyncpg: the fastest PostgreSQL driver for asyncio, with a pool, pipelined executemany (what a
buffered Tx flush needs) and the server's own advisory locks reached as plain SQL (each keyed by
the schema and the lock's name, lock_key, so deployments in two schemas of one database never meet).

A transaction is READ COMMITTED on one pooled connection; several transactions of one process run
at once (SQLite's take turns). Failed constraints raise ConstraintFailed, as on SQLite.
"""
from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from storage import migrations
from storage.db import (
    ConstraintFailed,
    Database,
    DatabaseBusy,
    DatabaseUnusable,
    Params,
    Row,
    Tx,
    cascades,
    close,
    ts,
)

log = logging.getLogger(__name__)

SCHEMES = ("postgresql://", "postgres://")


def is_url(target: str) -> bool:
    return target.startswith(SCHEMES)


def session_settings(url: str) -> dict[str, str]:
    """What each connection tells the server: which worker it is (`muster:pid@host` in
    pg_stat_activity's application_name), unless the URL names one itself."""
    if "application_name=" in urlsplit(url).query:
        return {}
    return {"application_name": f"muster:{os.getpid()}@{socket.gethostname()}"[:63]}


def in_schema(url: str, schema: str) -> str:
    """The URL with the schema first on its search path (asyncpg passes unknown query keys as settings):
    one deployment, a test or a benchmark in a schema of its own."""
    parts = urlsplit(url)
    query = "&".join(q for q in parts.query.split("&") if q and not q.startswith("search_path="))
    query = f"{query}&search_path={schema}" if query else f"search_path={schema}"
    return urlunsplit(parts._replace(query=query))


@asynccontextmanager
async def own_schema(url: str, prefix: str = "muster") -> AsyncIterator[str]:
    """A new, empty schema on this server, as a URL (in_schema) for the time of the block; dropped
    with everything in it at the end: a test or a benchmark run that meets no other."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        yield in_schema(url, schema)
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":…@")
    return parts._replace(netloc=netloc).geturl()


# -- SQL translation -------------------------------------------------------------------
_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|::|\?(?P<null>\s+IS\s+(?:NOT\s+)?NULL\b)?"
                     r"|:(?P<name>[A-Za-z_]\w*)|\bLIKE\b"
                     r"|\bgroup_concat\s*\("
                     # SQLite's unary + on a column (`AND +s.phone IS NOT NULL`) keeps its planner off an
                     # index; PostgreSQL has no unary + for text, and its planner needs no such hint.
                     r"|(?P<unary>\b(?:AND|OR|WHERE|ON|NOT|BY|SELECT|WHEN|THEN|ELSE)\s+|[(,]\s*)\+(?=[A-Za-z_\"])",
                     re.IGNORECASE)
_OR_IGNORE = re.compile(r"^(\s*)INSERT\s+OR\s+IGNORE\s+INTO\b", re.IGNORECASE)
_OR_REPLACE = re.compile(r"^(\s*)(?:INSERT\s+OR\s+REPLACE|REPLACE)\s+INTO\s+(\w+)\s*\(([^)]*)\)", re.IGNORECASE)
_CREATE = re.compile(r"^\s*CREATE\s", re.IGNORECASE)
_RETURNING = re.compile(r"\sRETURNING\s", re.IGNORECASE)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(table_info|foreign_key_list)\s*\(\s*\"?(\w+)\"?\s*\)\s*$", re.IGNORECASE)

_TABLE_INFO = (
    "SELECT c.ordinal_position - 1 AS cid, c.column_name::text AS name, upper(c.data_type)::text AS type, "
    "CASE WHEN c.is_nullable = 'NO' THEN 1 ELSE 0 END AS notnull, c.column_default::text AS dflt_value, "
    "COALESCE((SELECT k.ordinal_position FROM information_schema.key_column_usage k "
    "JOIN information_schema.table_constraints t ON t.constraint_name = k.constraint_name "
    "AND t.table_schema = k.table_schema WHERE t.constraint_type = 'PRIMARY KEY' "
    "AND k.table_schema = c.table_schema AND k.table_name = c.table_name AND k.column_name = c.column_name), 0) AS pk "
    "FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = $1 "
    "ORDER BY c.ordinal_position"
)
_FOREIGN_KEYS = (
    "SELECT 0 AS id, 0 AS seq, p.relname::text AS \"table\", a.attname::text AS \"from\", "
    "b.attname::text AS \"to\", 'NO ACTION' AS on_update, "
    "CASE k.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT' "
    "WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END AS on_delete, 'NONE' AS match "
    "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
    "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1] "
    "JOIN pg_attribute b ON b.attrelid = k.confrelid AND b.attnum = k.confkey[1] "
    "WHERE k.contype = 'f' AND c.relname = $1 AND c.relnamespace = current_schema()::regnamespace"
)


def placeholders(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """`?` → `$n` (names None) or `:name` → `$n` (the names in order of their numbers), outside quoted
    text and comments; LIKE becomes ILIKE and group_concat string_agg."""
    names: list[str] = []
    count = 0
    positional = False

    def swap(m: re.Match[str]) -> str:
        nonlocal count, positional
        token = m.group(0)
        if token[0] == "?":
            positional = True
            count += 1
            # `? IS NULL` (an optional filter) gives PostgreSQL nothing to infer the parameter's type
            # from: it is taken as text, which any value passes as (NULL stays NULL).
            return f"${count}::text{m.group('null')}" if m.group("null") else f"${count}"
        if m.group("name"):
            name = m.group("name")
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"
        if m.group("unary") is not None:
            return m.group("unary")
        upper = token.upper()
        if upper == "LIKE":
            return "ILIKE"
        if upper.startswith("GROUP_CONCAT"):
            return "string_agg("
        return token

    out = _TOKENS.sub(swap, sql)
    if positional and names:
        raise ValueError("a statement mixes ? and :name parameters")
    return out, (tuple(names) if names else None)


def dml(sql: str, keys: dict[str, tuple[str, ...]]) -> tuple[str, tuple[str, ...] | None]:
    """One statement of a storage module in PostgreSQL's words (see the module's notes)."""
    pragma = _PRAGMA.match(sql)
    if pragma:
        return (_TABLE_INFO if pragma.group(1).lower() == "table_info" else _FOREIGN_KEYS), ("", pragma.group(2))
    if _CREATE.match(sql):  # a table made at run time (an import's scratch table) is typed as a migration's
        sql = ddl(sql)
    conflict = None
    if (m := _OR_IGNORE.match(sql)) is not None:
        sql = f"{m.group(1)}INSERT INTO{sql[m.end():]}"
        conflict = " ON CONFLICT DO NOTHING"
    elif (m := _OR_REPLACE.match(sql)) is not None:
        table, columns = m.group(2).lower(), [c.strip().strip('"') for c in m.group(3).split(",")]
        key = keys.get(table)
        if not key:
            raise ValueError(f"INSERT OR REPLACE INTO {table}: no primary key known to upsert on")
        rest = [c for c in columns if c.lower() not in key]
        update = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in rest) if rest else None
        conflict = f" ON CONFLICT ({', '.join(key)}) " + (f"DO UPDATE SET {update}" if update else "DO NOTHING")
        sql = f"{m.group(1)}INSERT INTO {m.group(2)} ({m.group(3)}){sql[m.end():]}"
    if conflict:
        at = _RETURNING.search(sql)
        body = sql.rstrip().rstrip(";")
        sql = body + conflict if at is None else body[:at.start()] + conflict + body[at.start():]
    return placeholders(sql)


_DDL_KEY = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b(\s+AUTOINCREMENT)?", re.IGNORECASE)
_DDL_TYPES = ((re.compile(r"\bINTEGER\b", re.IGNORECASE), "BIGINT"),
              (re.compile(r"\bREAL\b", re.IGNORECASE), "DOUBLE PRECISION"),
              (re.compile(r"\bBLOB\b", re.IGNORECASE), "BYTEA"),
              (re.compile(r"\)\s*WITHOUT\s+ROWID", re.IGNORECASE), ")"))


def ddl(statement: str) -> str:
    """A migration's statement in PostgreSQL's words: SQLite's integer key (the rowid) becomes an
    identity column, INTEGER is 64-bit (Telegram ids do not fit 32), WITHOUT ROWID has no meaning."""
    out = _DDL_KEY.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement)
    for pattern, replacement in _DDL_TYPES:
        out = pattern.sub(replacement, out)
    return out


# What SQLite has that PostgreSQL does not, made once per schema (every statement is idempotent).
COMPAT = [
    # SUM(a = b) counts the rows where it holds, as in SQLite.
    "CREATE OR REPLACE FUNCTION muster_count_true(n bigint, b boolean) RETURNS bigint "
    "LANGUAGE sql IMMUTABLE AS 'SELECT n + CASE WHEN b THEN 1 ELSE 0 END'",
    "CREATE OR REPLACE AGGREGATE sum(boolean) (SFUNC = muster_count_true, STYPE = bigint)",
    # SQLite's JSON functions as storage uses them: json_object of a text (and a JSON value), json()
    # of a JSON text, and json_each over an array of integers (ids, group ids), at a path or not.
    "CREATE OR REPLACE FUNCTION json(doc text) RETURNS jsonb LANGUAGE sql IMMUTABLE AS 'SELECT doc::jsonb'",
    "CREATE OR REPLACE FUNCTION json_object(k text, v text) RETURNS text LANGUAGE sql IMMUTABLE "
    "AS 'SELECT jsonb_build_object(k, v)::text'",
    "CREATE OR REPLACE FUNCTION json_object(k text, v text, k2 text, v2 jsonb) RETURNS text LANGUAGE sql "
    "IMMUTABLE AS 'SELECT jsonb_build_object(k, v, k2, v2)::text'",
    "CREATE OR REPLACE FUNCTION json_each(doc text, path text DEFAULT '$') RETURNS TABLE (key bigint, value bigint) "
    "LANGUAGE sql IMMUTABLE AS $$ SELECT (n - 1), e::bigint FROM jsonb_array_elements_text(doc::jsonb "
    "#> string_to_array(regexp_replace(path, '^[$][.]?', ''), '.')) WITH ORDINALITY AS t(e, n) $$",
    # The tables, where a module asks SQLite's catalogue whether one exists.
    "CREATE OR REPLACE VIEW sqlite_master AS SELECT 'table'::text AS type, tablename::text AS name, "
    "tablename::text AS tbl_name FROM pg_tables WHERE schemaname = current_schema()",
    # Which instances are alive (storage.instances): a heartbeat row per worker.
    "CREATE TABLE IF NOT EXISTS muster_instances (id TEXT PRIMARY KEY, host TEXT NOT NULL, "
    "started_at TEXT NOT NULL, seen_at TEXT NOT NULL)",
]
_NOT_TABLES = ("sqlite_master", "muster_instances", "schema_migrations")  # not part of a deployment's data


_LOCK_NAME = re.compile(r"[a-z][a-z0-9_-]*")


def lock_key(name: str) -> str:
    """The key of the advisory lock called `name`, as SQL: a 64-bit hash of the current schema and the
    name. Advisory locks belong to the whole database, so two deployments in schemas of one database
    would otherwise take each other's due-work lease, Telegram polling lock and migrations lock. Every
    advisory lock of the project takes its key from here."""
    if not _LOCK_NAME.fullmatch(name):
        raise ValueError(f"not a lock name: {name!r}")
    return f"hashtextextended(COALESCE(current_schema(), '') || ':muster:{name}', 0)"


def pg_variant(name: str) -> str | None:
    """The PostgreSQL text of a migration that cannot be translated, when there is one."""
    entry = resources.files("storage.migrations").joinpath("postgres", name)
    return entry.read_text(encoding="utf-8") if entry.is_file() else None


def _integer(value: Any) -> str:
    if isinstance(value, str) and not value.lstrip("-").isdigit():
        raise ValueError(f"not an integer: {value!r}")
    return str(int(value))


def _numeric(text: str) -> int | float:
    """SUM and AVG give numeric: an int when whole (as SQLite's SUM of integers), a float otherwise."""
    value = Decimal(text)
    return int(value) if value == value.to_integral_value() and "." not in text else float(value)


async def _init_connection(conn: asyncpg.Connection) -> None:
    """SQLite's loose typing at the boundary: what a module passes is taken as the column's type."""
    for name in ("int2", "int4", "int8"):
        await conn.set_type_codec(name, schema="pg_catalog", encoder=_integer, decoder=int, format="text")
    await conn.set_type_codec("text", schema="pg_catalog", encoder=str, decoder=str, format="text")
    await conn.set_type_codec("numeric", schema="pg_catalog", encoder=str, decoder=_numeric, format="text")


def _count(status: str) -> int:
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class PgTx(Tx):
    """One PostgreSQL transaction: the same buffered writes as SQLite's Tx, flushed with asyncpg's
    pipelined executemany."""

    dialect = "postgresql"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: asyncpg.Connection, database: PostgresDatabase) -> None:
        self._pg = conn
        self._database = database
        self._begin(database._cascades)

    def _args(self, sql: str, params: Params) -> tuple[str, Sequence[Any]]:
        text, names = self._database.translate(sql)
        if names is None:
            return text, list(params) if not isinstance(params, dict) else []
        if names[0] == "":  # a PRAGMA read from the catalogue: its table is the one parameter
            return text, [names[1]]
        if not isinstance(params, dict):
            raise ValueError(f"named parameters need a dict: {sql[:60]}")
        return text, [params[n] for n in names]

    async def flush(self) -> None:
        pending, self._pending, self._tables = self._pending, {}, set()
        for sql, rows in pending.items():
            with _constraints():
                if len(rows) == 1:
                    text, args = self._args(sql, rows[0])
                    await self._pg.execute(text, *args)
                elif rows:
                    texts = [self._args(sql, r) for r in rows]
                    await self._pg.executemany(texts[0][0], [a for _, a in texts])

    async def together(self, *reads: Awaitable[Any]) -> list[Any]:
        """One after another: a connection runs one statement at a time (asyncpg refuses two)."""
        results: list[Any] = []
        for n, read in enumerate(reads):
            try:
                results.append(await read)
            except BaseException:
                close(reads[n + 1:])  # never to run
                raise
        return results

    async def _fetch(self, sql: str, params: Params) -> list[Row]:
        text, args = self._args(sql, params)
        with _constraints():
            return cast(list[Row], await self._pg.fetch(text, *args))

    async def execute(self, sql: str, params: Params = ()) -> int:
        if self._pending:
            await self.flush()
        if self._kept:
            self._forget(self._reached(sql))
        text, args = self._args(sql, params)
        with _constraints():
            return _count(await self._pg.execute(text, *args))


class _constraints:
    """asyncpg's constraint errors as SQLite's (what callers catch): ConstraintFailed."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
            raise ConstraintFailed(str(exc)) from exc


class PostgresDatabase(Database):
    """A pool of asyncpg connections to one PostgreSQL database (and schema, from the URL's
    `search_path` option), shared by every worker."""

    dialect = "postgresql"
    shared = True  # several workers may use it at once: no exclusive lock, leases and heartbeats instead

    def __init__(self, url: str, *, min_size: int = 2, max_size: int = 10) -> None:
        super().__init__(redacted(url))
        self.url = url
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        self._keys: dict[str, tuple[str, ...]] = {}
        self._leaders: dict[str, asyncpg.Connection] = {}
        self._leading = asyncio.Lock()
        self.translate = lru_cache(maxsize=4096)(lambda sql: dml(sql, self._keys))

    async def connect(self) -> PostgresDatabase:
        try:
            self._pool = await asyncpg.create_pool(self.url, min_size=self.min_size, max_size=self.max_size,
                                                   init=_init_connection, server_settings=session_settings(self.url))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnusable(f"{self.path} cannot be reached: {exc}") from None
        return self

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        return self._pool

    async def check(self) -> None:
        try:
            async with self.pool.acquire() as conn:
                if await conn.fetchval("SELECT pg_is_in_recovery()"):
                    raise DatabaseUnusable(f"{self.path} is a read-only standby")
        except (OSError, asyncpg.PostgresError) as exc:
            raise DatabaseUnusable(f"{self.path} cannot be used: {exc}") from None

    async def learn_schema(self) -> None:
        """Tables a delete can reach (for the buffered reads, as on SQLite) and each table's primary
        key (for INSERT OR REPLACE)."""
        async with self.pool.acquire() as conn:
            names = [r[0] for r in await conn.fetch(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")]
            edges = await conn.fetch(
                "SELECT c.relname::text, p.relname::text FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                "JOIN pg_class p ON p.oid = k.confrelid WHERE k.contype = 'f' AND k.confdeltype IN ('c', 'n', 'd') "
                "AND c.relnamespace = current_schema()::regnamespace")
            keys = await conn.fetch(
                "SELECT c.relname::text, array_agg(a.attname::text ORDER BY array_position(k.conkey, a.attnum)) "
                "FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
                "JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = ANY(k.conkey) "
                "WHERE k.contype = 'p' AND c.relnamespace = current_schema()::regnamespace GROUP BY c.relname")
        self._cascades = cascades(names, [(child, parent) for child, parent in edges])
        self._keys.clear()
        self._keys.update({t.lower(): tuple(k) for t, k in keys})
        self.translate.cache_clear()

    async def close(self) -> None:
        for conn in self._leaders.values():
            try:
                await conn.close()
            except Exception:  # already cut off: its locks went with it
                log.debug("leader connection already closed")
        self._leaders.clear()
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """BEGIN … COMMIT on a pooled connection; any exception rolls everything back and re-raises."""
        try:
            conn = await self.pool.acquire(timeout=self.busy_timeout_ms / 1000)
        except TimeoutError:
            raise DatabaseBusy(f"database busy: no free connection in {self.busy_timeout_ms} ms") from None
        try:
            tr = conn.transaction()
            await tr.start()
            tx = PgTx(conn, self)
            try:
                yield tx
                await tx.flush()
            except BaseException:
                if not conn.is_closed():
                    try:
                        await tr.rollback()
                    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                        log.warning("rollback after a failed transaction could not reach the database")
                raise
            with _constraints():
                await tr.commit()
        finally:
            await self.pool.release(conn)

    async def truncate_wal(self) -> bool:
        return True  # PostgreSQL's own WAL is recycled by the server; nothing of ours lingers there

    async def ping(self) -> bool:
        try:
            async with self.pool.acquire(timeout=5) as conn:
                await conn.fetchval("SELECT 1")
            return True
        except Exception:
            log.exception("database ping failed")
            return False

    async def leader(self, name: str) -> bool:
        """Whether this process holds `name`'s lease: a session advisory lock on a connection of its
        own, kept for as long as the process (and that connection) lives. Tried again on each call,
        so when the holder dies or is cut off another worker takes it at its next call."""
        async with self._leading:  # two sweeps of this process at once must not race each other for it
            return await self._lead(name)

    async def _lead(self, name: str) -> bool:
        conn = self._leaders.get(name)
        if conn is not None:
            try:
                if not conn.is_closed():
                    await conn.fetchval("SELECT 1")  # still ours only while the session lives
                    return True
            except Exception as exc:  # cut off (terminated, network): the lock went with the session
                log.warning("lost the %s lease: %s", name, exc)
            self._leaders.pop(name, None)
            conn.terminate()
        conn = await asyncpg.connect(self.url, server_settings=session_settings(self.url))
        try:
            if await conn.fetchval(f"SELECT pg_try_advisory_lock({lock_key(name)})"):
                self._leaders[name] = conn
                return True
        except BaseException:
            conn.terminate()
            raise
        await conn.close()
        return False

    async def step_down(self, name: str) -> None:
        """Give `name`'s lease up (a clean stop), so another worker takes it at once."""
        conn = self._leaders.pop(name, None)
        if conn is not None:
            await conn.close()


async def upgrade(db: PostgresDatabase) -> list[str]:
    """Apply the migrations not yet recorded, each in its own transaction under an advisory lock, so
    that several workers starting at once take turns and the later ones find nothing left to do."""
    applied = []
    async with db.pool.acquire() as conn:
        async with conn.transaction():
            await conn.execute(f"SELECT pg_advisory_xact_lock({lock_key('migrations')})")
            for statement in COMPAT:
                await conn.execute(statement)
            await conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations "
                               "(number BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)")
        for number, name, sql in migrations.available():
            async with conn.transaction():
                await conn.execute(f"SELECT pg_advisory_xact_lock({lock_key('migrations')})")
                if await conn.fetchval("SELECT 1 FROM schema_migrations WHERE number = $1", number):
                    continue
                variant = pg_variant(name)
                for statement in migrations.statements(variant if variant is not None else sql):
                    text = statement if variant is not None else ddl(statement)
                    if text.strip().strip(";").strip() and not _only_comments(text):
                        await conn.execute(text)
                await conn.execute("INSERT INTO schema_migrations (number, name, applied_at) VALUES ($1, $2, $3)",
                                   number, name, ts(datetime.now(UTC)))
            log.info("applied migration %s", name)
            applied.append(name)
        if applied:  # a migration that rebuilt a table copied its rows with their ids
            await reset_sequences(conn)
    await db.learn_schema()
    return applied


def _only_comments(text: str) -> bool:
    return all(not line.strip() or line.strip().startswith("--") for line in text.strip().strip(";").splitlines())


async def reset_sequences(conn: asyncpg.Connection) -> None:
    """Every identity column's next value past the largest id in its table (rows copied with their
    ids, by a migration that rebuilds a table or by `muster db copy-to`, do not move it)."""
    for table, column in await conn.fetch(
            "SELECT table_name::text, column_name::text FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'"):
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'), "
            f"COALESCE((SELECT MAX(\"{column}\") FROM \"{table}\"), 0) + 1, false)")


async def tables(db: PostgresDatabase) -> list[str]:
    """The deployment's tables (not the schema's bookkeeping)."""
    async with db.pool.acquire() as conn:
        rows = await conn.fetch("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() "
                                "ORDER BY tablename")
    return [r[0] for r in rows if r[0] not in _NOT_TABLES]


async def open_postgres(url: str, *, check: bool = False) -> PostgresDatabase:
    db = await PostgresDatabase(url).connect()
    try:
        if check:
            await db.check()
        await upgrade(db)
    except (asyncpg.PostgresError, sqlite3.Error) as exc:
        await db.close()
        raise DatabaseUnusable(f"{db.path}: {exc}") from None
    except BaseException:
        await db.close()
        raise
    return db


__all__ = ["PgTx", "PostgresDatabase", "is_url", "lock_key", "open_postgres", "upgrade"]
