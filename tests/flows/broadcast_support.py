"""Seeding helpers for the broadcast tests: supporters, groups, organisers, straight into the database."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime

from storage import groups, organisers
from storage.db import Tx, ts

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)
_numbers = itertools.count(100)


def phone() -> str:
    return f"+4474001{next(_numbers):05d}"


async def person(
    tx: Tx, *, sms: str | None = "opted_in", telegram: str | None = None, name: str | None = "Sam",
    group: int | None = None, status: str = "active", last: str | None = None, undeliverable: int = 0,
    interests: tuple[str, ...] = (), phone_number: str | None = None, telegram_id: int | None = None,
) -> int:
    """A supporter; `sms`/`telegram` give the consent on that channel (None: no such identity)."""
    number = (phone_number or phone()) if sms is not None else None
    tg = (telegram_id or 9_000_000 + next(_numbers)) if telegram is not None else None
    sid = await tx.scalar(
        "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
        "last_channel, sms_undeliverable, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (number, tg, name, group, status, sms or "none", telegram or "none",
         last or ("sms" if sms else "telegram"), undeliverable, ts(NOW)),
    )
    for interest in interests:
        tx.write("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)", (sid, interest))
    return sid


async def group(tx: Tx, name: str) -> int:
    return (await groups.add(tx, name, [], NOW)).id


async def chat(tx: Tx, chat_id: int, group_id: int, active: int = 1) -> None:
    tx.write(
        "INSERT INTO telegram_groups (chat_id, group_id, title, linked_at, active) VALUES (?, ?, ?, ?, ?)",
        (chat_id, group_id, f"chat {chat_id}", ts(NOW), active),
    )


async def organiser(tx: Tx, role: str, *, phone_number: str | None = None, telegram_id: int | None = None,
                    group_id: int | None = None) -> organisers.Role:
    return await organisers.add(tx, role, NOW, phone=phone_number, telegram_id=telegram_id, group_id=group_id)


async def has_table(tx: Tx, name: str) -> bool:
    return bool(await tx.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))


async def wales(tx: Tx, organiser_telegram_id: int) -> None:
    """A deployment in Wales: an admin on Telegram, Aisha (English) and Siôn (Welsh) on SMS."""
    await organiser(tx, "admin", telegram_id=organiser_telegram_id)
    for name, lang, phone_number in (("Aisha", "en", "+447400100001"), ("Siôn", "cy", "+447400100002")):
        sid = await person(tx, phone_number=phone_number, name=name)
        await tx.execute("UPDATE supporters SET language = ? WHERE id = ?", (lang, sid))
