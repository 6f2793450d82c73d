"""`muster api-token create|list|revoke`: the API's tokens, for the movement's website and other tools."""
from __future__ import annotations

import typer

from bot.cli.admin import CLI
from bot.cli.base import Table, console, err, in_transaction, shown
from flows.core.clock import SystemClock
from flows.organiser import api_tokens
from flows.organiser.api_tokens import ApiTokenError, Made
from storage.api_tokens import Token
from storage.db import Tx

api_token_app = typer.Typer(help="API tokens (the OSDI API under /api/v1/).", no_args_is_help=True)


@api_token_app.command("create")
def create(
    name: str = typer.Option(..., "--name", help="What it is for, e.g. website (the audit log says api:website)."),
    scope: str = typer.Option(..., "--scope", help="signup (post sign-ups only) or read (read people, events, "
                                                   "attendances and tags only)."),
    per_minute: int | None = typer.Option(None, "--per-minute", help="Calls a minute before it is answered 429 "
                                          "(default: 60 for signup, 120 for read)."),
) -> None:
    """Make a token and print it, once: only its SHA-256 is kept, so copy it now."""
    async def work(tx: Tx) -> Made:
        return await api_tokens.create(tx, CLI, name, scope, SystemClock().now(), per_minute)

    made = in_transaction(work, (ApiTokenError,))
    t = made.token
    err.print(f"API token #{t.id} {shown(t.name)}, scope {t.scope}, {t.per_minute} calls a minute. "
              "It is shown this once: put it in the integration's settings now.", highlight=False, soft_wrap=True)
    console.print(made.secret, highlight=False, soft_wrap=True)


@api_token_app.command("list")
def listing(
    revoked: bool = typer.Option(False, "--revoked", help="Include revoked tokens."),
) -> None:
    """List tokens: name, scope, rate, who made them and when, when last used (never the token)."""
    async def work(tx: Tx) -> list[Token]:
        return await api_tokens.listing(tx, CLI, revoked)

    found = in_transaction(work, (ApiTokenError,))
    if not found:
        console.print("No API tokens yet: `muster api-token create --name website --scope signup`.")
        return
    table = Table("id", "name", "scope", "a minute", "made", "by", "last used", *(("revoked",) if revoked else ()))
    for t in found:
        table.add_row(str(t.id), shown(t.name), t.scope, str(t.per_minute), _when(t.created_at), shown(t.created_by),
                      _when(t.last_used_at) or "never", *((_when(t.revoked_at),) if revoked else ()))
    console.print(table)


@api_token_app.command("revoke")
def revoke(token_id: int = typer.Argument(..., help="The token's id (see `muster api-token list`).")) -> None:
    """Revoke a token at once: its next call is answered 401."""
    async def work(tx: Tx) -> Token:
        return await api_tokens.revoke(tx, CLI, token_id, SystemClock().now())

    gone = in_transaction(work, (ApiTokenError,))
    console.print(f"Revoked API token #{gone.id} ({shown(gone.name)}).", highlight=False)


def _when(stamp: str | None) -> str:
    """A stored UTC time to the minute ('2026-03-31 14:05 UTC'), '' for none."""
    return f"{stamp[:10]} {stamp[11:16]} UTC" if stamp else ""
