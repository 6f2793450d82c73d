"""Provider ids of inbound messages already processed, so a retried webhook is not run twice."""
from __future__ import annotations

from datetime import datetime

from storage.db import Tx, ts


async def claim_new(tx: Tx, provider_ids: list[str], now: datetime) -> set[str]:
    """Record these ids and return those never seen before (one statement)."""
    if not provider_ids:
        return set()
    stamp = ts(now)
    rows = ", ".join("(?, ?)" for _ in provider_ids)
    params = [p for pid in provider_ids for p in (pid, stamp)]
    found = await tx.query(
        f"INSERT INTO inbound_seen (provider_id, received_at) VALUES {rows} "
        "ON CONFLICT (provider_id) DO NOTHING RETURNING provider_id",
        params,
    )
    return {r[0] for r in found}


async def seen(tx: Tx, provider_id: str) -> bool:
    return await tx.scalar("SELECT 1 FROM inbound_seen WHERE provider_id = ?", (provider_id,)) is not None


async def forget_before(tx: Tx, cutoff: datetime) -> int:
    """Drop ids older than any provider retries (Twilio and Telegram give up within a day)."""
    return await tx.execute("DELETE FROM inbound_seen WHERE received_at < ?", (ts(cutoff),))
