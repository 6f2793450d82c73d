"""Referral codes and who recruited whom."""
from __future__ import annotations

from dataclasses import dataclass

from storage.db import Tx


@dataclass(frozen=True)
class Recruiter:
    supporter_id: int
    first_name: str | None
    phone: str | None
    telegram_id: int | None
    group_name: str | None
    recruits: int


async def code_taken(tx: Tx, code: str) -> bool:
    """Whether a committed supporter has this code. The unique index catches the rare clash with
    a code given out earlier in the same transaction, so this read need not flush the batch."""
    return await tx.scalar("SELECT 1 FROM supporters WHERE referral_code = ?", (code,), own_writes=False) is not None


async def owner_of(tx: Tx, code: str) -> tuple[int, int | None, str] | None:
    """(id, referred_by, status) of the supporter holding this code, or None."""
    row = await tx.one("SELECT id, referred_by, status FROM supporters WHERE referral_code = ?", (code,))
    return (row[0], row[1], row[2]) if row else None


async def count_for(tx: Tx, supporter_id: int) -> int:
    value: int = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE referred_by = ?", (supporter_id,))
    return value


async def top(tx: Tx, limit: int = 20, group_id: int | None = None) -> list[Recruiter]:
    """Supporters with the most recruits (optionally those in one local group), most first."""
    where, params = "", []
    if group_id is not None:
        where, params = "WHERE r.group_id = ?", [group_id]
    rows = await tx.query(
        "SELECT r.id, r.first_name, r.phone, r.telegram_id, g.name, COUNT(s.id) AS recruits "
        "FROM supporters r JOIN supporters s ON s.referred_by = r.id "
        f"LEFT JOIN local_groups g ON g.id = r.group_id {where} "
        "GROUP BY r.id, r.first_name, r.phone, r.telegram_id, g.name "
        "ORDER BY recruits DESC, r.id LIMIT ?",
        [*params, limit],
    )
    return [Recruiter(*r) for r in rows]
