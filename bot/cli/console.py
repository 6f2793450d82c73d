"""`muster organiser login-link`: a sign-in link for the web console, printed for the operator."""
from __future__ import annotations

import typer

from bot.cli.base import console, fail, in_transaction, phone_option, settings
from flows.core.clock import SystemClock
from flows.organiser import signin
from storage.db import Tx


def login_link(
    phone: str | None = typer.Option(None, "--phone", help="The organiser's phone number."),
    telegram_id: int | None = typer.Option(None, "--telegram-id", help="The organiser's Telegram user id."),
) -> None:
    """Print a one-time sign-in link for an organiser (for the first admin, or an operator helping one)."""
    if (phone is None) == (telegram_id is None):
        fail("give exactly one of --phone or --telegram-id")
    number = phone_option(phone)
    identity = signin.Identity("sms", number) if number else signin.Identity("telegram", str(telegram_id))
    cfg = settings()
    base = cfg.public_url or f"http://{cfg.host}:{cfg.port}"

    async def work(tx: Tx) -> tuple[str, str]:
        if not await signin.roles_of(tx, identity):
            raise ValueError("no organiser has that phone number or Telegram id (see `muster organiser list`)")
        return await signin.issue_link(tx, identity, SystemClock().now(), base)

    url, code = in_transaction(work)
    minutes = int(signin.LINK_LIFETIME.total_seconds() // 60)
    console.print(f"{url}\n(or the code {code} on the sign-in page) — it works once, for {minutes} minutes.",
                  highlight=False, soft_wrap=True)
