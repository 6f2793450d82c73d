"""Moving house: a SQLite deployment copied into an empty PostgreSQL database, every table, ids and
all (the consent log among them), in one PostgreSQL transaction, checked by counting the rows."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg

from storage.db import Database
from storage.postgres import PostgresDatabase, reset_sequences, tables

CHUNK = 5000


class CopyRefused(Exception):
    """The copy cannot be made (a target that is not empty, a table missing on one side): nothing was written."""


async def _source_tables(source: Database) -> dict[str, list[str]]:
    """Each table of the SQLite database and its columns, parents before the tables that refer to them."""
    names = [r[0] for r in await source.conn.execute_fetchall(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name <> 'schema_migrations' ORDER BY name")]
    parents: dict[str, set[str]] = {}
    columns: dict[str, list[str]] = {}
    for name in names:
        columns[name] = [r[1] for r in await source.conn.execute_fetchall(f'PRAGMA table_info("{name}")')]
        parents[name] = {r[2] for r in await source.conn.execute_fetchall(f'PRAGMA foreign_key_list("{name}")')
                         if r[2] != name}
    ordered: list[str] = []
    while len(ordered) < len(names):
        ready = [n for n in names if n not in ordered and parents[n] <= set(ordered)]
        if not ready:  # a cycle of references: take the rest as they come
            ready = [n for n in names if n not in ordered]
        ordered += ready
    return {n: columns[n] for n in ordered}


def _value(value: Any, kind: str) -> Any:
    """SQLite keeps what it was given; PostgreSQL's column says what it takes."""
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint"):
        return int(value)
    if kind == "text" and not isinstance(value, str):
        return str(value)
    if kind == "double precision":
        return float(value)
    return value


async def copy(source: Database, target: PostgresDatabase,
               progress: Callable[[str, int], None] | None = None) -> dict[str, int]:
    """Copy every row of `source` (SQLite, migrated) into `target` (PostgreSQL, migrated, empty); returns
    the rows per table, the same on both sides, or raises CopyRefused (nothing written)."""
    theirs = set(await tables(target))
    ours = await _source_tables(source)
    missing = sorted(set(ours) - theirs)
    if missing:
        raise CopyRefused(f"tables missing in PostgreSQL: {', '.join(missing)} (is it migrated to the same version?)")
    counts: dict[str, int] = {}
    conn: asyncpg.Connection = await asyncpg.connect(target.url)  # binary COPY, without the loose codecs
    try:
        async with conn.transaction():
            for table in sorted(theirs):
                if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{table}")'):
                    raise CopyRefused(f"the PostgreSQL database is not empty (table {table} has rows); "
                                      "copy into a new database")
            for table, columns in ours.items():
                kinds = {r[0]: r[1] for r in await conn.fetch(
                    "SELECT column_name::text, data_type::text FROM information_schema.columns "
                    "WHERE table_schema = current_schema() AND table_name = $1", table)}
                absent = [c for c in columns if c not in kinds]
                if absent:
                    raise CopyRefused(f"{table}: columns missing in PostgreSQL: {', '.join(absent)}")
                order = "rowid" if await _has_rowid(source, table) else "1"
                cursor = await source.conn.execute(f'SELECT {", ".join(f"{chr(34)}{c}{chr(34)}" for c in columns)} '
                                                   f'FROM "{table}" ORDER BY {order}')
                copied = 0
                try:
                    while rows := await cursor.fetchmany(CHUNK):
                        records = [tuple(_value(v, kinds[c]) for v, c in zip(r, columns, strict=True)) for r in rows]
                        await conn.copy_records_to_table(table, records=records, columns=columns)
                        copied += len(records)
                finally:
                    await cursor.close()
                counts[table] = copied
                if progress:
                    progress(table, copied)
            for table, expected in counts.items():
                found = await conn.fetchval(f'SELECT COUNT(*) FROM "{table}"')
                if found != expected:
                    raise CopyRefused(f"{table}: {found} rows in PostgreSQL, {expected} in SQLite; nothing was copied")
            await reset_sequences(conn)
    finally:
        await conn.close()
    return counts


async def _has_rowid(source: Database, table: str) -> bool:
    try:
        await source.conn.execute_fetchall(f'SELECT rowid FROM "{table}" LIMIT 1')
    except Exception:  # a WITHOUT ROWID table: its primary key orders it
        return False
    return True


async def counts(source: Database) -> dict[str, int]:
    """Rows per table of a SQLite database (what a copy is checked against)."""
    found = {}
    for table in await _source_tables(source):
        rows = list(await source.conn.execute_fetchall(f'SELECT COUNT(*) FROM "{table}"'))
        found[table] = rows[0][0]
    return found
