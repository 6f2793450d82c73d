"""The `muster` command: run the service, chat in the terminal, manage the database."""
from __future__ import annotations

import asyncio
import logging
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from typing import Any, Optional, TypeVar

import typer
from rich.console import Console

from bot import config

T = TypeVar("T")

app = typer.Typer(help="Muster: supporter engagement over SMS and Telegram.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True)


def settings() -> config.Settings:
    try:
        return config.load()
    except config.ConfigError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def shown(text: str) -> str:
    """Someone else's text, made safe for the organiser's terminal: rich markup is escaped and
    control characters (terminal escape sequences among them) are replaced, not obeyed."""
    from rich.markup import escape

    return escape("".join(c if c in "\n\t" or unicodedata.category(c) != "Cc" else "\ufffd" for c in text))


def run_async(make: Callable[[], Awaitable[T]]) -> T:
    return asyncio.run(make())


def in_transaction(work: Callable[[Any], Awaitable[T]], errors: tuple[type[Exception], ...] = (ValueError,)) -> T:
    """Run `work(tx)` in one transaction on the configured database; `errors`, an unusable database
    and a disk with no room left end the command with one line."""
    import sqlite3

    from storage import DatabaseUnusable, open_database, space

    path = str(settings().db_path)

    async def go() -> T:
        db = await open_database(path, check=True)
        try:
            async with db.transaction() as tx:
                return await work(tx)
        finally:
            await db.close()

    try:
        return run_async(go)
    except errors as exc:
        fail(shown(str(exc)))
    except DatabaseUnusable as exc:
        fail(shown(str(exc)))
    except sqlite3.OperationalError as exc:
        if not space.is_full(exc):
            raise
        fail(f"cannot write to the database {shown(path)}: {space.FULL}. "
             "Nothing was changed; free some space and run the command again.")
    raise AssertionError("unreachable: fail() exits")


async def group_id(tx: Any, name: Optional[str]) -> Optional[int]:
    """The local group a --group option names (None when not given); an unknown name is a ValueError."""
    from storage import groups

    if not name:
        return None
    found = await groups.by_name(tx, name)
    if found is None:
        raise ValueError(f"--group: no local group called {name!r} (see `muster group list`)")
    return found.id


def phone_option(phone: Optional[str]) -> Optional[str]:
    """A --phone value in E.164 (None when not given); anything else ends the command."""
    from flows.values import phones

    if phone is None:
        return None
    number = phones.normalise(phone)
    if number is None:
        fail(f"--phone: {phone!r} is not a phone number (e.g. +447400123456)")
    return number


def fail(message: str) -> None:
    err.print(f"[red]Error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every sweep at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the bot token
    logging.getLogger("twilio").setLevel(logging.WARNING)  # about eight lines per message sent


@app.command()
def run() -> None:
    """Start the service (sandbox mode when no credentials are set)."""
    from bot import serve

    cfg = settings()
    setup_logging(cfg.log_level)
    try:
        code = asyncio.run(serve.serve(cfg, on_listening=lambda url: console.print(f"Simulator: {url}")
                                       if cfg.simulator_enabled else None))
    except serve.CannotStart as exc:
        err.print(f"[red]Cannot start:[/red] {shown(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def chat(
    as_phone: Optional[str] = typer.Option(None, "--as", help="Chat as this phone number (an SMS supporter)."),
    telegram_id: Optional[int] = typer.Option(None, "--telegram-id", help="Chat as this Telegram user id."),
) -> None:
    """Chat with the bot in the terminal, as an SMS supporter or a Telegram user (sandbox only)."""
    from bot import serve
    from bot.terminal import chat as run_chat

    if (as_phone is None) == (telegram_id is None):
        fail("give exactly one of --as PHONE or --telegram-id N")
    cfg = settings()
    if not cfg.sandbox:
        # It speaks as anyone and delivers to the terminal: on a live database it would act on a
        # real supporter and swallow their real messages.
        fail("muster chat runs in sandbox mode only: Telegram or Twilio credentials are set, so this "
             "database holds real supporters. Unset them and point MUSTER_DB_PATH at a sandbox database.")
    setup_logging("WARNING")
    channel, raw = ("sms", as_phone) if as_phone else ("telegram", str(telegram_id))
    try:
        lock = serve.hold(cfg, "muster chat")
    except serve.CannotStart as exc:
        fail(f"{shown(str(exc))}: chat in the service's simulator at http://{cfg.host}:{cfg.port}/ instead, or stop it")
    try:
        run_async(lambda: run_chat(cfg, channel, raw))
    finally:
        lock.release()


def _register() -> None:
    from bot.cli import admin

    app.add_typer(admin.db_app, name="db")
    app.add_typer(admin.organiser_app, name="organiser")
    app.add_typer(admin.group_app, name="group")
    from bot.cli import events as event_cli

    app.add_typer(event_cli.event_app, name="event")
    from bot.cli import referrals

    app.command("referrals")(referrals.referrals)
    from bot.cli import broadcasts as broadcast_cli

    app.add_typer(broadcast_cli.broadcast_app, name="broadcast")


_register()


def main() -> None:
    app()
