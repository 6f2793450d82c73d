"""SQLite storage: the connection, migrations and one repository module per aggregate."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from storage import migrations
from storage.db import Database, DatabaseUnusable, Row, Tx, parse_ts, ts, unusable

__all__ = ["Database", "DatabaseUnusable", "Row", "Tx", "open_database", "parse_ts", "ts"]


async def open_database(path: str | Path, busy_timeout_ms: int = 5000, *, check: bool = False) -> Database:
    """Connect and bring the schema up to date; with `check`, first refuse an unusable file
    (DatabaseUnusable, one line saying why) instead of failing later with a traceback.
    A postgresql:// URL opens PostgreSQL instead (storage.postgres)."""
    if str(path).startswith(("postgresql://", "postgres://")):
        from storage.postgres import open_postgres  # asyncpg only for deployments that use it

        return await open_postgres(str(path), check=check)
    try:
        db = await Database(path, busy_timeout_ms).connect()
    except sqlite3.Error as exc:
        if not check:
            raise
        raise unusable(str(path), exc) from None
    try:
        if check:
            await db.check()
        await migrations.upgrade(db)
        await db.learn_schema()
    except sqlite3.Error as exc:
        await db.close()
        if not check:
            raise
        raise unusable(str(path), exc) from None
    except BaseException:
        await db.close()
        raise
    return db
