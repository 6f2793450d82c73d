"""`muster db copy-to postgresql://…`: move a SQLite deployment into an empty PostgreSQL database."""
from __future__ import annotations

import sqlite3

import typer

from bot.cli.base import Table, console, err, fail, run_async, settings, shown
from storage import DatabaseUnusable, open_database
from storage.lock import holder


def copy_to(
    url: str = typer.Argument(..., help="The empty PostgreSQL database, e.g. postgresql://muster@db.example/muster"),
) -> None:
    """Copy this deployment's SQLite database (MUSTER_DB_PATH), every table and row with its id, into an
    empty PostgreSQL database, and check the row counts. Stop the service first; afterwards set
    MUSTER_DATABASE_URL to the URL and start the workers."""
    # Here, not at the top: asyncpg would slow every other command's start.
    from storage.postgres import PostgresDatabase, is_url, open_postgres, redacted
    from storage.postgres_copy import CopyRefused, copy

    if not is_url(url):
        fail(f"expected a postgresql:// URL, not {shown(url)!r}")
    path = settings().db_path
    if not path.exists():
        fail(f"no SQLite database at {shown(str(path))} (set MUSTER_DB_PATH)")
    running = holder(path)
    if running is not None:
        fail(f"{shown(str(path))} is in use by {shown(running)}: stop it first, so that no message is written "
             "after the copy")

    async def go() -> dict[str, int]:
        source = await open_database(str(path), check=True)
        try:
            target: PostgresDatabase = await open_postgres(url, check=True)
            try:
                return await copy(source, target, lambda table, n: err.print(f"  {table}: {n:,}", highlight=False))
            finally:
                await target.close()
        finally:
            await source.close()

    try:
        counts = run_async(go)
    except (CopyRefused, DatabaseUnusable) as exc:
        fail(shown(str(exc)))
    except sqlite3.Error as exc:
        fail(f"cannot read {shown(str(path))}: {shown(str(exc))}")
    table = Table("table", "rows")
    for name, n in counts.items():
        table.add_row(name, f"{n:,}")
    console.print(table)
    console.print(f"Copied {sum(counts.values()):,} rows in {len(counts)} tables to {shown(redacted(url))}; "
                  "the counts match. Set MUSTER_DATABASE_URL to it to run on PostgreSQL.", soft_wrap=True)
