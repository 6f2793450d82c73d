"""The organisers' inbox: supporters' messages the bot did not understand, and what was done with them.

A scope is None (every supporter) or a list of local group ids: a supporter is in it when their
group, read from `supporters` at each use, is one of those ids (a supporter with no group is in
the None scope only).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Row, Tx, parse_ts, ts

STATUSES = ("open", "answered", "done")


@dataclass(frozen=True)
class Item:
    id: int
    supporter_id: int
    channel: str
    text: str
    received_at: datetime
    status: str
    handled_by: str | None
    handled_at: datetime | None
    answer: str | None
    group_id: int | None        # the supporter's group now
    first_name: str | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"


_SELECT = (
    "SELECT i.id, i.supporter_id, i.channel, i.text, i.received_at, i.status, i.handled_by, "
    "i.handled_at, i.answer, s.group_id, s.first_name "
    "FROM inbox_items i JOIN supporters s ON s.id = i.supporter_id"
)


def _item(r: Row) -> Item:
    return Item(
        r["id"], r["supporter_id"], r["channel"], r["text"], parse_ts(r["received_at"]), r["status"],
        r["handled_by"], parse_ts(r["handled_at"]) if r["handled_at"] else None, r["answer"],
        r["group_id"], r["first_name"],
    )


def _in_scope(groups: Sequence[int] | None) -> tuple[str, list[Any]]:
    """The condition on `s.group_id` for a scope, and its parameters ('' for everyone)."""
    if groups is None:
        return "", []
    return f" AND s.group_id IN ({', '.join('?' for _ in groups)})", list(groups)


def add(tx: Tx, supporter_id: int, channel: str, text: str, now: datetime) -> None:
    """Keep one message as an open item (buffered, like the rest of the engine's writes)."""
    tx.write(
        "INSERT INTO inbox_items (supporter_id, channel, text, received_at) VALUES (?, ?, ?, ?)",
        (supporter_id, channel, text, ts(now)),
    )


async def list_open(
    tx: Tx, groups: Sequence[int] | None, *, limit: int = 50, offset: int = 0,
) -> list[Item]:
    """Open items of the scope, newest first."""
    if groups is not None and not groups:
        return []
    where, params = _in_scope(groups)
    rows = await tx.query(
        f"{_SELECT} WHERE i.status = 'open'{where} ORDER BY i.received_at DESC, i.id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return [_item(r) for r in rows]


async def list_handled(
    tx: Tx, groups: Sequence[int] | None, since: datetime, *, limit: int = 50,
) -> list[Item]:
    """Items of the scope answered or closed at or after `since`, the most recently handled first."""
    if groups is not None and not groups:
        return []
    where, params = _in_scope(groups)
    rows = await tx.query(
        f"{_SELECT} WHERE i.status <> 'open' AND i.handled_at >= ?{where} "
        "ORDER BY i.handled_at DESC, i.id DESC LIMIT ?",
        [ts(since), *params, limit],
    )
    return [_item(r) for r in rows]


async def count_open(tx: Tx, groups: Sequence[int] | None) -> int:
    if groups is not None and not groups:
        return 0
    where, params = _in_scope(groups)
    value: int = await tx.scalar(
        "SELECT COUNT(*) FROM inbox_items i JOIN supporters s ON s.id = i.supporter_id "
        f"WHERE i.status = 'open'{where}",
        params,
    )
    return value


async def get(tx: Tx, item_id: int) -> Item | None:
    row = await tx.one(f"{_SELECT} WHERE i.id = ?", (item_id,))
    return _item(row) if row else None


async def mark_answered(tx: Tx, item_id: int, by: str, answer: str, now: datetime) -> bool:
    """Record the answer to an open item; False when it is no longer open (someone else was first)."""
    changed = await tx.execute(
        "UPDATE inbox_items SET status = 'answered', handled_by = ?, handled_at = ?, answer = ? "
        "WHERE id = ? AND status = 'open'",
        (by, ts(now), answer, item_id),
    )
    return changed == 1


async def mark_done(tx: Tx, item_id: int, by: str, now: datetime) -> bool:
    """Close an open item without an answer; False when it is no longer open."""
    changed = await tx.execute(
        "UPDATE inbox_items SET status = 'done', handled_by = ?, handled_at = ? WHERE id = ? AND status = 'open'",
        (by, ts(now), item_id),
    )
    return changed == 1


async def delete_for(tx: Tx, supporter_id: int) -> int:
    """Every item of one supporter (erasure keeps their row, so the cascade does not fire)."""
    return await tx.execute("DELETE FROM inbox_items WHERE supporter_id = ?", (supporter_id,))
