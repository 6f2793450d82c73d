"""Supporters: one person, with a phone number and/or a Telegram account."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from storage.db import Row, Tx, ts

CHANNELS = ("sms", "telegram")
# The column that identifies a supporter on each channel.
IDENTITY = {"sms": "phone", "telegram": "telegram_id"}
EDITABLE = frozenset({
    "first_name", "email", "postcode", "area", "group_id", "language", "status",
    "sms_undeliverable", "referral_code", "referred_by",
})


@dataclass(frozen=True)
class Reachable:
    """What it takes to tell a supporter something: their addresses, consent and language."""
    supporter_id: int
    phone: str | None
    telegram_id: int | None
    sms_consent: str
    telegram_consent: str
    sms_undeliverable: int
    language: str
    last_channel: str | None


@dataclass
class Supporter:
    id: int
    phone: str | None
    telegram_id: int | None
    first_name: str | None
    email: str | None
    postcode: str | None
    area: str | None
    group_id: int | None
    language: str
    status: str
    sms_consent: str
    telegram_consent: str
    last_channel: str | None
    created_at: str
    last_seen_at: str | None
    sms_undeliverable: int = 0
    referral_code: str | None = None
    referred_by: int | None = None
    language_stated: int = 0  # 1 once their language was stated, not English by default

    @classmethod
    def from_row(cls, row: Row) -> Supporter:
        """A row of `SELECT {_COLUMNS}` (or RETURNING it): the fields in their order."""
        return cls(*row)

    def consent(self, channel: str) -> str:
        """'none', 'opted_in' or 'opted_out' on that channel."""
        return getattr(self, f"{channel}_consent", "none")

    def address(self, channel: str) -> str | None:
        value = getattr(self, IDENTITY[channel])
        return None if value is None else str(value)


_COLUMNS = ", ".join(f.name for f in fields(Supporter))  # what from_row reads, in order


def _identity(channel: str, address: str) -> tuple[str, Any]:
    column = IDENTITY[channel]
    return column, int(address) if column == "telegram_id" else address


async def get(tx: Tx, supporter_id: int) -> Supporter | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM supporters WHERE id = ?", (supporter_id,))
    return Supporter.from_row(row) if row else None


async def find(tx: Tx, channel: str, address: str) -> Supporter | None:
    column, value = _identity(channel, address)
    row = await tx.one(f"SELECT {_COLUMNS} FROM supporters WHERE {column} = ?", (value,))
    return Supporter.from_row(row) if row else None


async def find_or_create_many(
    tx: Tx, channel: str, addresses: list[str], now: datetime
) -> dict[str, Supporter]:
    """The supporters behind these addresses on one channel, creating the missing ones (two queries)."""
    found = await find_many(tx, channel, addresses)
    found.update(await create_many(tx, channel, [a for a in addresses if a not in found], now))
    return found


async def find_many(tx: Tx, channel: str, addresses: list[str]) -> dict[str, Supporter]:
    """The supporters behind those of these addresses on one channel that have one, by address."""
    column, values = identities(channel, addresses)
    marks = ", ".join("?" for _ in values)
    return {
        str(row[column]): Supporter.from_row(row)
        for row in await tx.query(f"SELECT {_COLUMNS} FROM supporters WHERE {column} IN ({marks})", values)
    }


async def create_many(tx: Tx, channel: str, addresses: list[str], now: datetime) -> dict[str, Supporter]:
    """New supporters for these addresses on one channel (none of them known yet), by address."""
    column, missing = identities(channel, list(dict.fromkeys(addresses)))
    if not missing:
        return {}
    stamp = ts(now)
    rows = ", ".join("(?, ?)" for _ in missing)
    params = [p for v in missing for p in (v, stamp)]
    return {
        str(row[column]): Supporter.from_row(row)
        for row in await tx.query(
            f"INSERT INTO supporters ({column}, created_at) VALUES {rows} RETURNING {_COLUMNS}", params)
    }


def identities(channel: str, addresses: list[str]) -> tuple[str, list[Any]]:
    """The supporters column a channel's addresses are kept in, and these addresses as stored there."""
    column = IDENTITY[channel]
    return column, [int(a) for a in addresses] if column == "telegram_id" else list(addresses)


def update(tx: Tx, supporter: Supporter, **changes: Any) -> None:
    """Change profile fields, in memory and (buffered) in the database. Setting the language
    records that it was stated."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "language" in changes:
        changes["language_stated"] = 1
    for name, value in changes.items():
        setattr(supporter, name, value)
    names = sorted(changes)
    assignments = ", ".join(f"{n} = ?" for n in names)
    tx.write(f"UPDATE supporters SET {assignments} WHERE id = ?", [changes[n] for n in names] + [supporter.id])


def set_identity(tx: Tx, supporter: Supporter, channel: str, address: str | None) -> None:
    column, value = (IDENTITY[channel], None) if address is None else _identity(channel, address)
    setattr(supporter, column, value)
    tx.write(f"UPDATE supporters SET {column} = ? WHERE id = ?", (value, supporter.id))


def seen(tx: Tx, supporter: Supporter, channel: str, now: datetime) -> None:
    supporter.last_channel, supporter.last_seen_at = channel, ts(now)
    tx.write(
        "UPDATE supporters SET last_channel = ?, last_seen_at = ? WHERE id = ?",
        (channel, supporter.last_seen_at, supporter.id),
    )


async def count_by_status(tx: Tx) -> dict[str, int]:
    return {r[0]: r[1] for r in await tx.query("SELECT status, COUNT(*) FROM supporters GROUP BY status")}
