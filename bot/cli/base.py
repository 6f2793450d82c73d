"""What every `muster` command module uses: settings, output, failing in one line, one transaction."""
from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import typer
from rich import table as rich_table
from rich.console import Console
from rich.markup import escape

from bot import config, event_loop
from flows.values import phones
from storage import DatabaseUnusable, deployment, groups, open_database, space

T = TypeVar("T")

console = Console()
err = Console(stderr=True)


class Table(rich_table.Table):
    """A rich table whose columns wrap a long cell (folding a word longer than its column) rather
    than cutting it short with an ellipsis, so every value is there in full at any terminal width."""

    def add_column(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("overflow", "fold")
        super().add_column(*args, **kwargs)


_noted: set[str] = set()


def settings() -> config.Settings:
    """This shell's settings, with the running service's recorded DEPLOYMENT settings (quiet hours,
    timezone, prices, rates…) in place of its own, saying once on stderr which differed."""
    try:
        own = config.load()
    except config.ConfigError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    deployed, notes = own.as_deployed(deployment.recorded(own.database))
    for note in notes:
        if note not in _noted:
            _noted.add(note)
            err.print(f"Using {escape(note)}.", highlight=False)
    return deployed


def shown(text: str) -> str:
    """Someone else's text, made safe for the organiser's terminal: rich markup is escaped and
    control characters (terminal escape sequences among them) are replaced, not obeyed."""
    return escape("".join(c if c in "\n\t" or unicodedata.category(c) != "Cc" else "\ufffd" for c in text))


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return event_loop.run(make())


def with_database(work: Callable[[Any], Awaitable[T]], errors: tuple[type[Exception], ...] = (ValueError,),
                  full: str = "Nothing was changed; free some space and run the command again.") -> T:
    """Run `work(db)` with the configured database open; `errors`, an unusable database and a disk
    with no room left (`full` says what became of the work) end the command with one line. The
    database is MUSTER_DATABASE_URL's PostgreSQL when it is set, as for the service, else the file."""
    path = settings().database

    async def go() -> T:
        db = await open_database(path, check=True)
        try:
            return await work(db)
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
        fail(f"cannot write to the database {shown(path)}: {space.FULL}. {full}")
    raise AssertionError("unreachable: fail() exits")


def in_transaction(work: Callable[[Any], Awaitable[T]], errors: tuple[type[Exception], ...] = (ValueError,)) -> T:
    """Run `work(tx)` in one transaction on the configured database (see with_database)."""
    async def one(db: Any) -> T:
        async with db.transaction() as tx:
            return await work(tx)

    return with_database(one, errors)


async def group_id(tx: Any, name: str | None) -> int | None:
    """The local group a --group option names (None when not given); an unknown name is a ValueError."""
    if not name:
        return None
    found = await groups.by_name(tx, name)
    if found is None:
        raise ValueError(f"--group: no local group called {name!r} (see `muster group list`)")
    return found.id


def phone_option(phone: str | None) -> str | None:
    """A --phone value in E.164 (None when not given); anything else ends the command."""
    if phone is None:
        return None
    number = phones.normalise(phone)
    if number is None:
        fail(f"--phone: {phone!r} is not a phone number (e.g. +447400123456)")
    return number


def fail(message: str) -> NoReturn:
    err.print(f"[red]Error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(1)
