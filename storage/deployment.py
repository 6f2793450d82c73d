"""The settings the running service sends with, as it recorded them at start: one place the
command line reads them from, whatever its own shell's environment says."""
from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from storage.db import Tx, ts


async def record(tx: Tx, values: dict[str, str], now: datetime) -> None:
    """Replace the recorded settings with these (name → value as written in the environment)."""
    await tx.execute("DELETE FROM deployment")
    for key, value in sorted(values.items()):
        await tx.execute("INSERT INTO deployment (key, value, updated_at) VALUES (?, ?, ?)", (key, value, ts(now)))


def recorded(db_path: str | Path) -> dict[str, str]:
    """What the service last recorded in this database, a SQLite file or a postgresql:// URL ({} before
    it first ran, or with no database). Read-only and outside any transaction: a command reads this
    before it does anything else."""
    if str(db_path).startswith(("postgresql://", "postgres://")):
        # In a thread of its own: a caller may already be inside an event loop, or not.
        with ThreadPoolExecutor(max_workers=1) as thread:
            return thread.submit(asyncio.run, _recorded_in_postgres(str(db_path))).result()
    path = Path(db_path)
    if not path.exists():
        return {}
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return {}
    try:
        return {k: v for k, v in conn.execute("SELECT key, value FROM deployment")}
    except sqlite3.Error:  # not migrated yet, or not a database: the command's own check says so
        return {}
    finally:
        conn.close()


async def _recorded_in_postgres(url: str) -> dict[str, str]:
    import asyncpg  # only for deployments on PostgreSQL

    try:
        conn = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return {}  # unreachable: the command's own opening of the database says why
    try:
        return {r[0]: r[1] for r in await conn.fetch("SELECT key, value FROM deployment")}
    except asyncpg.PostgresError:  # not migrated yet: nothing recorded
        return {}
    finally:
        await conn.close()
