"""One service per SQLite database: an OS file lock beside the database, held for the life of the process.

The lock file (`<database>.lock`) names its holder (pid, host, since when), so a second service
can say who has the database. The operating system releases the lock when the holder dies, however
it dies, so a lock that is free proves that no earlier holder is still sending: its claims on the
outbox can be recovered.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path


class DatabaseInUse(Exception):
    """Another process holds the database: the message names it."""


class DatabaseLock:
    def __init__(self, db_path: str | Path, role: str = "muster run") -> None:
        self.path = Path(f"{db_path}.lock")
        self.role = role
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DatabaseLock:
        """Take the lock or raise DatabaseInUse naming the holder; OSError when the file cannot be made."""
        if self._fd is not None:
            return self
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise DatabaseInUse(f"{self.path.name[:-5]} is in use by {holder}") from None
        except BaseException:
            os.close(fd)
            raise
        record = {"role": self.role, "pid": os.getpid(), "host": socket.gethostname(),
                  "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(record).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # closing the last descriptor releases the lock


def holder(db_path: str | Path) -> str | None:
    """Who holds this database's lock now (a running service), or None when nobody does.
    A brief shared lock tells; it is let go at once."""
    path = Path(f"{db_path}.lock")
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read(fd)
    finally:
        os.close(fd)
    return None


def _read(fd: int) -> str:
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        holder = {}
    if not holder:
        return "another process (starting up)"
    role = holder.get("role", "a process")
    return f"{role} (pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')})"
