"""Room to write: SQLite's "database or disk is full", and the free space beside the database file.

A write inside a transaction that is rolled back proves nothing about space: SQLite keeps the
change in memory and only asks the filesystem for room when it commits (the write-ahead log
grows) or checkpoints (the database file grows). So a full disk is known either from a write
that was refused (`is_full`) or from the filesystem itself (`free_bytes`).
"""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# Below this, the next commit that needs the write-ahead log to grow may be refused.
MIN_FREE_BYTES = 1 << 20
FULL = "database or disk is full"


def is_full(exc: BaseException | None) -> bool:
    """Whether this error, or one it was raised from or while handling, is SQLITE_FULL."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, sqlite3.OperationalError):
            code = getattr(exc, "sqlite_errorcode", None)
            if (code is not None and code & 0xFF == sqlite3.SQLITE_FULL) or FULL in str(exc):
                return True
        exc = exc.__cause__ or exc.__context__
    return False


def free_bytes(path: str | Path) -> int | None:
    """Bytes this process may still write on the filesystem holding the database file at `path`
    (None when that cannot be told: an in-memory database, a missing folder)."""
    text = str(path)
    if not text or text == ":memory:" or text.startswith("file:"):
        return None
    try:
        stat = os.statvfs(Path(text).resolve().parent)
    except (OSError, AttributeError):  # AttributeError: no statvfs on this platform
        return None
    # Blocks reserved for root are there to be used by a service running as root.
    blocks = stat.f_bfree if hasattr(os, "geteuid") and os.geteuid() == 0 else stat.f_bavail
    return blocks * stat.f_frsize


def shortage(path: str | Path) -> str | None:
    """A short description of a full (or nearly full) disk under the database; None if there is room."""
    free = free_bytes(path)
    if free is None or free >= MIN_FREE_BYTES:
        return None
    return f"disk nearly full: {free // 1024} KiB free beside the database"
