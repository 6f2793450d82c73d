"""The console's overview figures: supporters and consent per channel, and sign-ups by day."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from storage.db import Tx, ts


def _in_groups(groups: Sequence[int] | None) -> tuple[str, list[Any]]:
    if groups is None:
        return "", []
    return f" AND group_id IN ({', '.join('?' for _ in groups) or 'NULL'})", list(groups)


async def supporter_counts(tx: Tx, groups: Sequence[int] | None) -> dict[str, int]:
    """total, and per channel: opted_in, opted_out, none (never asked or not on it); erased excluded."""
    where, params = _in_groups(groups)
    row = await tx.one(
        "SELECT COUNT(*), "
        "SUM(sms_consent = 'opted_in' AND phone IS NOT NULL), SUM(sms_consent = 'opted_out'), "
        "SUM(phone IS NOT NULL AND sms_consent = 'none'), "
        "SUM(telegram_consent = 'opted_in' AND telegram_id IS NOT NULL), SUM(telegram_consent = 'opted_out'), "
        "SUM(telegram_id IS NOT NULL AND telegram_consent = 'none') "
        f"FROM supporters WHERE status <> 'erased'{where}", params)
    assert row is not None  # an aggregate always gives one row
    names = ("total", "sms_opted_in", "sms_opted_out", "sms_not_asked",
             "telegram_opted_in", "telegram_opted_out", "telegram_not_asked")
    return {n: int(v or 0) for n, v in zip(names, row, strict=True)}


async def signups_by_day(tx: Tx, groups: Sequence[int] | None, since: datetime) -> dict[str, int]:
    """{'YYYY-MM-DD': supporters who joined that day (UTC)} from `since` on; days with none are left out."""
    where, params = _in_groups(groups)
    rows = await tx.query(
        "SELECT substr(created_at, 1, 10) AS day, COUNT(*) FROM supporters "
        f"WHERE created_at >= ? AND status <> 'erased'{where} GROUP BY day", [ts(since), *params])
    return {r[0]: r[1] for r in rows}
