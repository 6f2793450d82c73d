"""The `muster` command: run the service, chat in the terminal, manage the database."""
from __future__ import annotations

import logging
import re
import sys

import typer

from bot import event_loop
from bot.cli import admin, api_tokens, db_copy, referrals, transfers
from bot.cli import broadcasts as broadcast_cli
from bot.cli import console as console_cli
from bot.cli import events as event_cli
from bot.cli.base import console, err, fail, run_async, settings, shown

app = typer.Typer(help="Muster: supporter engagement over SMS and Telegram.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr,
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # it logs every sweep at INFO
    logging.getLogger("httpx").setLevel(logging.WARNING)  # request URLs carry the bot token
    logging.getLogger("twilio").setLevel(logging.WARNING)  # about eight lines per message sent
    logging.getLogger("uvicorn.access").addFilter(_hide_console_secrets)


_SIGN_IN_LINK = re.compile(r"/console/login/[A-Za-z0-9_-]{8,}")
_CONSOLE_QUERY = re.compile(r"(/console/[^?\s\"]*)\?\S*")


def _hide_console_secrets(record: logging.LogRecord) -> bool:
    """Access log lines keep a console path, never a sign-in link's secret or a query string (a
    supporter search carries the phone number, email or name typed into it)."""
    if isinstance(record.args, tuple) and any(isinstance(a, str) and "/console/" in a for a in record.args):
        record.args = tuple(_CONSOLE_QUERY.sub(r"\1?…", _SIGN_IN_LINK.sub("/console/login/…", a))
                            if isinstance(a, str) else a for a in record.args)
    return True


@app.command()
def run() -> None:
    """Start the service (sandbox mode when no credentials are set)."""
    from bot import serve  # here, not at the top: the web server and both SDKs would slow every other command

    cfg = settings()
    setup_logging(cfg.log_level)
    try:
        code = event_loop.run(serve.serve(cfg, on_listening=lambda url: console.print(f"Simulator: {url}")
                                       if cfg.simulator_enabled else None))
    except serve.CannotStart as exc:
        err.print(f"[red]Cannot start:[/red] {shown(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command()
def chat(
    as_phone: str | None = typer.Option(None, "--as", help="Chat as this phone number (an SMS supporter)."),
    telegram_id: int | None = typer.Option(None, "--telegram-id", help="Chat as this Telegram user id."),
) -> None:
    """Chat with the bot in the terminal, as an SMS supporter or a Telegram user (sandbox only)."""
    from bot import serve  # here, not at the top: start-up time of the other commands, as in run()
    from bot.terminal import chat as run_chat

    if (as_phone is None) == (telegram_id is None):
        fail("give exactly one of --as PHONE or --telegram-id N")
    cfg = settings()
    if not cfg.sandbox:
        # It speaks as anyone and delivers to the terminal: on a live database it would act on a
        # real supporter and swallow their real messages.
        fail("muster chat runs in sandbox mode only: Telegram or Twilio credentials are set, so this "
             "database holds real supporters. Unset them and point MUSTER_DB_PATH at a sandbox database.")
    if cfg.shared_database:
        # It holds the database alone while it runs (delivering to the terminal): workers share PostgreSQL.
        fail("muster chat runs on a SQLite sandbox database, not on PostgreSQL, which workers share: unset "
             "MUSTER_DATABASE_URL (MUSTER_DB_PATH names the sandbox file), or chat in a worker's simulator.")
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


admin.db_app.command("copy-to")(db_copy.copy_to)
app.add_typer(admin.db_app, name="db")
admin.organiser_app.command("login-link")(console_cli.login_link)
app.add_typer(admin.organiser_app, name="organiser")
app.add_typer(admin.group_app, name="group")
app.add_typer(event_cli.event_app, name="event")
app.command("referrals")(referrals.referrals)
app.add_typer(broadcast_cli.broadcast_app, name="broadcast")
app.add_typer(transfers.import_app, name="import")
app.add_typer(transfers.export_app, name="export")
app.add_typer(api_tokens.api_token_app, name="api-token")


def main() -> None:
    app()
