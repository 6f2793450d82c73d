"""The topics each supporter asked to hear about."""
from __future__ import annotations

from storage.db import Tx


def replace(tx: Tx, supporter_id: int, interests: list[str]) -> None:
    """Set a supporter's interests to exactly these (buffered: the delete runs before the inserts)."""
    tx.write("DELETE FROM supporter_interests WHERE supporter_id = ?", (supporter_id,))
    tx.write_many(
        "INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)",
        [(supporter_id, i) for i in dict.fromkeys(interests)],
    )


async def of(tx: Tx, supporter_id: int) -> list[str]:
    rows = await tx.query(
        "SELECT interest FROM supporter_interests WHERE supporter_id = ? ORDER BY interest", (supporter_id,)
    )
    return [r[0] for r in rows]


async def add(tx: Tx, supporter_id: int, interest: str) -> bool:
    """Give a supporter one more interest; False when they had it already."""
    return await tx.execute(
        "INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?) ON CONFLICT DO NOTHING",
        (supporter_id, interest),
    ) > 0


async def remove(tx: Tx, supporter_id: int, interest: str) -> bool:
    """Take one interest away; False when they did not have it."""
    return await tx.execute(
        "DELETE FROM supporter_interests WHERE supporter_id = ? AND interest = ?", (supporter_id, interest)
    ) > 0
