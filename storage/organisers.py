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
    language: str | None = None  # the console's language they chose; None: their browser's


_SELECT = (
    "SELECT o.id, o.phone, o.telegram_id, o.role, o.group_id, g.name AS group_name, o.language "
    "FROM organisers o LEFT JOIN local_groups g ON g.id = o.group_id"
)


def _role(r: Row) -> Role:
    return Role(r["id"], r["phone"], r["telegram_id"], r["role"], r["group_id"], r["group_name"], r["language"])


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


async def get(tx: Tx, role_id: int) -> Role | None:
    row = await tx.one(f"{_SELECT} WHERE o.id = ?", (role_id,))
    return _role(row) if row else None


async def holds(tx: Tx, role: Role, new_role: str, group_id: int | None) -> bool:
    """Does the same person already hold this role and scope in another row?"""
    return bool(await tx.scalar(
        "SELECT 1 FROM organisers WHERE id <> ? AND COALESCE(phone, '') = COALESCE(?, '') "
        "AND COALESCE(telegram_id, 0) = COALESCE(?, 0) AND role = ? AND COALESCE(group_id, 0) = COALESCE(?, 0)",
        (role.id, role.phone, role.telegram_id, new_role, group_id),
    ))


def change(tx: Tx, role_id: int, role: str, group_id: int | None) -> None:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    tx.write("UPDATE organisers SET role = ?, group_id = ? WHERE id = ?", (role, group_id, role_id))


def remove_one(tx: Tx, role_id: int) -> None:
    tx.write("DELETE FROM organisers WHERE id = ?", (role_id,))


async def admin_count(tx: Tx) -> int:
    value: int = await tx.scalar("SELECT COUNT(*) FROM organisers WHERE role = 'admin'")
    return value


async def known_as(tx: Tx) -> dict[int, str]:
    """Role id → the first name of the supporter with the same phone number or Telegram id, where known."""
    rows = await tx.query(
        "SELECT o.id, s.first_name FROM organisers o JOIN supporters s "
        "ON (o.phone IS NOT NULL AND s.phone = o.phone) "
        "OR (o.telegram_id IS NOT NULL AND s.telegram_id = o.telegram_id) "
        "WHERE s.first_name IS NOT NULL AND s.status <> 'erased'"
    )
    return {r[0]: r[1] for r in rows}


def set_language(tx: Tx, phone: str | None, telegram_id: int | None, language: str) -> None:
    """The console's language for every role held by whoever has this phone number or Telegram id."""
    tx.write(
        "UPDATE organisers SET language = ? WHERE (phone IS NOT NULL AND phone = ?) "
        "OR (telegram_id IS NOT NULL AND telegram_id = ?)",
        (language, phone, telegram_id),
    )
