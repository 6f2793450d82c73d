"""Numbered SQL migrations, applied in order and recorded in schema_migrations."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from importlib import resources

from storage.db import Database, ts

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


async def upgrade(db: Database) -> list[str]:
    """Apply the migrations not yet recorded; return the names applied (empty when up to date)."""
    conn = db.conn
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in await conn.execute_fetchall("SELECT number FROM schema_migrations")}
    applied = []
    for number, name, sql in available():
        if number in done:
            continue
        # executescript commits first, so the file runs as its own script inside BEGIN…COMMIT.
        stamp = ts(datetime.now(timezone.utc))
        try:
            await conn.executescript(
                f"BEGIN;\n{sql}\n;INSERT INTO schema_migrations VALUES ({number}, '{name}', '{stamp}');\nCOMMIT;"
            )
        except Exception:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        log.info("applied migration %s", name)
        applied.append(name)
    return applied
