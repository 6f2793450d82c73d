"""Organiser roles: admin (everything) or organiser (optionally scoped to one local group)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, ts

ROLES = ("admin", "organiser")


@dataclass(frozen=True)
class Role:
    id: int
    phone: str | None
    telegram_id: int | None
    role: str
    group_id: int | None
    group_name: str | None = None


_SELECT = (
    "SELECT o.id, o.phone, o.telegram_id, o.role, o.group_id, g.name AS group_name "
    "FROM organisers o LEFT JOIN local_groups g ON g.id = o.group_id"
)


def _role(r: Row) -> Role:
    return Role(r["id"], r["phone"], r["telegram_id"], r["role"], r["group_id"], r["group_name"])


async def add(
    tx: Tx, role: str, now: datetime, phone: str | None = None,
    telegram_id: int | None = None, group_id: int | None = None,
) -> Role:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if phone is None and telegram_id is None:
        raise ValueError("an organiser needs a phone number or a Telegram id")
    existing = [
        r for r in await roles_for(tx, phone, telegram_id)
        if r.role == role and r.group_id == group_id and r.phone == phone and r.telegram_id == telegram_id
    ]
    if existing:
        return existing[0]
    new_id = await tx.scalar(
        "INSERT INTO organisers (phone, telegram_id, role, group_id, created_at) VALUES (?, ?, ?, ?, ?) "
        "RETURNING id",
        (phone, telegram_id, role, group_id, ts(now)),
    )
    return next(r for r in await list_all(tx) if r.id == new_id)


async def remove(tx: Tx, phone: str | None = None, telegram_id: int | None = None) -> int:
    """Remove every role held by this phone number or Telegram id; returns how many."""
    return await tx.execute(
        "DELETE FROM organisers WHERE (phone IS NOT NULL AND phone = ?) "
        "OR (telegram_id IS NOT NULL AND telegram_id = ?)",
        (phone, telegram_id),
    )


async def list_all(tx: Tx) -> list[Role]:
    return [_role(r) for r in await tx.query(f"{_SELECT} ORDER BY o.role, g.name, o.id")]


async def roles_for(tx: Tx, phone: str | None, telegram_id: int | None) -> list[Role]:
    """Every role held by whoever has this phone number or Telegram id."""
    if phone is None and telegram_id is None:
        return []
    rows = await tx.query(
        f"{_SELECT} WHERE (o.phone IS NOT NULL AND o.phone = ?) "
        "OR (o.telegram_id IS NOT NULL AND o.telegram_id = ?)",
        (phone, telegram_id),
    )
    return [_role(r) for r in rows]
