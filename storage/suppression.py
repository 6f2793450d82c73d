"""The suppression list: salted hashes of erased supporters' phone numbers and Telegram ids.

An erased supporter keeps no phone number or Telegram id with us; only an HMAC-SHA256
of each under a secret salt, so that an import or an organiser cannot re-add them while
nobody can read the numbers back. Phones are hashed in E.164, Telegram ids as decimals.
Self-initiated contact is never blocked here: a person who texts JOIN again gets a new
supporter record, and their hash is lifted (`lift`) only when they opt in again themselves.
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from storage.db import Tx, ts


class Suppressed(Exception):
    """An import or organiser action tried to add someone who asked to be erased."""


def digest(salt: str, kind: str, value: str | int) -> str:
    if kind not in ("phone", "telegram"):
        raise ValueError(f"unknown suppression kind {kind!r}")
    return hmac.new(salt.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _digests(salt: str, phone: str | None, telegram_id: int | None) -> list[tuple[str, str]]:
    found = []
    if phone:
        found.append((digest(salt, "phone", phone), "phone"))
    if telegram_id is not None:
        found.append((digest(salt, "telegram", int(telegram_id)), "telegram"))
    return found


def add(tx: Tx, salt: str, now: datetime, phone: str | None = None, telegram_id: int | None = None) -> None:
    """Put these identities on the list (buffered; already listed is fine)."""
    for hashed, kind in _digests(salt, phone, telegram_id):
        tx.write(
            "INSERT INTO suppression (hash, kind, created_at) VALUES (?, ?, ?) ON CONFLICT (hash) DO NOTHING",
            (hashed, kind, ts(now)),
        )


def lift(tx: Tx, salt: str, phone: str | None = None, telegram_id: int | None = None) -> None:
    """Take identities off the list: only when the person has opted in again by their own choice."""
    for hashed, _ in _digests(salt, phone, telegram_id):
        tx.write("DELETE FROM suppression WHERE hash = ?", (hashed,))


async def is_suppressed(tx: Tx, salt: str, phone: str | None = None, telegram_id: int | None = None) -> bool:
    """True when either identity belongs to someone who asked to be erased."""
    hashes = [h for h, _ in _digests(salt, phone, telegram_id)]
    if not hashes:
        return False
    marks = ", ".join("?" for _ in hashes)
    return await tx.scalar(f"SELECT 1 FROM suppression WHERE hash IN ({marks}) LIMIT 1", hashes) is not None


async def suppressed_phones(tx: Tx, salt: str, phones: list[str]) -> set[str]:
    """Which of these E.164 numbers are suppressed (for an import of many rows at once)."""
    by_hash = {digest(salt, "phone", p): p for p in phones}
    found: set[str] = set()
    keys = list(by_hash)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join("?" for _ in chunk)
        rows = await tx.query(f"SELECT hash FROM suppression WHERE hash IN ({marks})", chunk)
        found.update(by_hash[r[0]] for r in rows)
    return found


async def add_supporter(
    tx: Tx, salt: str, now: datetime, *, phone: str | None = None, telegram_id: int | None = None,
    first_name: str | None = None,
) -> int:
    """The guarded way for an import or an organiser to add a supporter: raises Suppressed.

    Returns the new supporter's id; an identity that already has a supporter raises ValueError.
    """
    if phone is None and telegram_id is None:
        raise ValueError("a supporter needs a phone number or a Telegram id")
    if await is_suppressed(tx, salt, phone, telegram_id):
        raise Suppressed("this person asked for their data to be erased and cannot be re-added")
    existing = await tx.scalar(
        "SELECT id FROM supporters WHERE phone = ? OR telegram_id = ?", (phone, telegram_id)
    )
    if existing is not None:
        raise ValueError(f"already a supporter (#{existing})")
    value: int = await tx.scalar(
        "INSERT INTO supporters (phone, telegram_id, first_name, created_at) VALUES (?, ?, ?, ?) RETURNING id",
        (phone, telegram_id, first_name, ts(now)),
    )
    return value
