"""The audit log: every organiser action from any front (CLI, chat, web) and every API call, append-only."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, ts

FRONTS = ("cli", "chat", "web", "api")


@dataclass(frozen=True)
class Entry:
    id: int
    at: str
    actor: str
    front: str
    action: str
    target: str | None
    detail: str | None
    origin: str | None


def record(tx: Tx, now: datetime, actor: str, front: str, action: str, *, target: str | None = None,
           detail: str | None = None, origin: str | None = None) -> None:
    if front not in FRONTS:
        raise ValueError(f"front must be one of {', '.join(FRONTS)}, not {front!r}")
    tx.write("INSERT INTO audit_log (at, actor, front, action, target, detail, origin) VALUES (?, ?, ?, ?, ?, ?, ?)",
             (ts(now), actor, front, action, target, detail, origin))


async def recent(tx: Tx, before_id: int | None = None, limit: int = 50) -> list[Entry]:
    """Newest first; `before_id` pages back (keyset)."""
    rows = await tx.query(
        "SELECT id, at, actor, front, action, target, detail, origin FROM audit_log "
        "WHERE (? IS NULL OR id < ?) ORDER BY id DESC LIMIT ?", (before_id, before_id, limit))
    return [Entry(*r) for r in rows]
