"""`muster referrals`: who has recruited the most supporters."""
from __future__ import annotations

import typer

from bot.cli.base import Table, console, group_id, in_transaction, shown
from flows.values import phones
from storage import referrals as referral_store
from storage.db import Tx


def referrals(
    group: str | None = typer.Option(None, "--group", help="Only recruiters in this local group."),
    limit: int = typer.Option(20, "--limit", min=1, help="How many recruiters to list."),
) -> None:
    """List the top recruiters: supporters who joined with their referral code."""
    async def top(tx: Tx) -> list[referral_store.Recruiter]:
        return await referral_store.top(tx, limit, await group_id(tx, group))

    rows = in_transaction(top)
    if not rows:
        console.print("No referrals yet" + (f" in {group}." if group else "."))
        return
    table = Table("#", "first name", "phone", "telegram", "local group", "recruits", title="Top recruiters")
    for rank, r in enumerate(rows, 1):
        table.add_row(
            str(rank), shown(r.first_name or ("(erased)" if r.phone is None and r.telegram_id is None else "")),
            phones.masked(r.phone) if r.phone else "",
            _masked_id(r.telegram_id), shown(r.group_name or ""), str(r.recruits),
        )
    console.print(table)


def _masked_id(telegram_id: int | None) -> str:
    if telegram_id is None:
        return ""
    text = str(telegram_id)
    return f"…{text[-3:]}" if len(text) > 3 else "…"
