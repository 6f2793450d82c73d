"""SQLite storage: the connection, migrations and one repository module per aggregate."""
from __future__ import annotations

from storage.db import Database, Row, Tx, parse_ts, ts

__all__ = ["Database", "Row", "Tx", "open_database", "parse_ts", "ts"]


async def open_database(path: str, busy_timeout_ms: int = 5000) -> Database:
    """Connect and bring the schema up to date."""
    from storage import migrations

    db = await Database(path, busy_timeout_ms).connect()
    try:
        await migrations.upgrade(db)
        await db.learn_schema()
    except BaseException:
        await db.close()
        raise
    return db
