"""Telegram group chats linked to a local group: where group announcements and broadcasts can go."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, ts


@dataclass(frozen=True)
class TelegramGroup:
    chat_id: int
    group_id: int
    title: str | None
    linked_by: int | None
    linked_at: str
    active: bool


_SELECT = "SELECT chat_id, group_id, title, linked_by, linked_at, active FROM telegram_groups"


def _group(r: Row) -> TelegramGroup:
    return TelegramGroup(r["chat_id"], r["group_id"], r["title"], r["linked_by"], r["linked_at"], bool(r["active"]))


def link(tx: Tx, chat_id: int, group_id: int, title: str | None, linked_by: int | None, now: datetime) -> None:
    """Link a chat to a local group (again, if it was linked before: the new link wins)."""
    tx.write(
        "INSERT INTO telegram_groups (chat_id, group_id, title, linked_by, linked_at, active) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (chat_id) DO UPDATE SET group_id = excluded.group_id, "
        "title = excluded.title, linked_by = excluded.linked_by, linked_at = excluded.linked_at, active = 1",
        (chat_id, group_id, title, linked_by, ts(now)),
    )


def set_active(tx: Tx, chat_id: int, active: bool) -> None:
    """The bot was removed from (or added back to) the chat; the link itself is kept."""
    tx.write("UPDATE telegram_groups SET active = ? WHERE chat_id = ?", (int(active), chat_id))


def move(tx: Tx, old_chat_id: int, new_chat_id: int) -> None:
    """A group became a supergroup and got a new chat id: the link follows it."""
    tx.write("UPDATE telegram_groups SET chat_id = ? WHERE chat_id = ?", (new_chat_id, old_chat_id))


async def get(tx: Tx, chat_id: int) -> TelegramGroup | None:
    row = await tx.one(f"{_SELECT} WHERE chat_id = ?", (chat_id,))
    return _group(row) if row else None


async def for_group(tx: Tx, group_id: int) -> list[TelegramGroup]:
    """Active chats linked to a local group (announcement targets)."""
    return [_group(r) for r in await tx.query(f"{_SELECT} WHERE group_id = ? AND active = 1 ORDER BY chat_id",
                                              (group_id,))]


async def list_active(tx: Tx) -> list[TelegramGroup]:
    return [_group(r) for r in await tx.query(f"{_SELECT} WHERE active = 1 ORDER BY group_id, chat_id")]
