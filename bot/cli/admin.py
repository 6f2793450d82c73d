"""`muster db`, `muster organiser` and `muster group`."""
from __future__ import annotations

import sqlite3

import typer
from rich.table import Table

from bot.cli.base import console, fail, group_id, in_transaction, phone_option, run_async, settings, shown
from flows.core.clock import SystemClock
from flows.values import phones
from storage import Database, groups, migrations, organisers
from storage.db import Tx, unusable

db_app = typer.Typer(help="The database.", no_args_is_help=True)
organiser_app = typer.Typer(help="Organiser roles.", no_args_is_help=True)
group_app = typer.Typer(help="Local groups and the postcode areas they cover.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply any migrations not yet applied (also done at start-up)."""
    async def go() -> list[str]:
        db = await Database(str(settings().db_path)).connect()
        try:
            return await migrations.upgrade(db)
        finally:
            await db.close()

    try:
        applied = run_async(go)
    except sqlite3.Error as exc:
        fail(shown(str(unusable(str(settings().db_path), exc))))
    console.print(f"Applied: {', '.join(applied)}" if applied else "Database is up to date.")


def _identity(phone: str | None, telegram_id: int | None) -> tuple[str | None, int | None]:
    if phone is None and telegram_id is None:
        fail("give --phone or --telegram-id")
    return phone_option(phone), telegram_id


@organiser_app.command("add")
def organiser_add(
    role: str = typer.Option(..., "--role", help="admin or organiser"),
    phone: str | None = typer.Option(None, "--phone"),
    telegram_id: int | None = typer.Option(None, "--telegram-id"),
    group: str | None = typer.Option(None, "--group", help="Limit an organiser to this local group."),
) -> None:
    """Give someone an organiser role."""
    phone, telegram_id = _identity(phone, telegram_id)
    if role not in organisers.ROLES:
        fail(f"--role: expected one of {', '.join(organisers.ROLES)}, not {role!r}")

    async def add(tx: Tx) -> organisers.Role:
        return await organisers.add(tx, role, SystemClock().now(), phone, telegram_id, await group_id(tx, group))

    added = in_transaction(add)
    console.print(f"Added {added.role} #{added.id}" + (f" for {shown(added.group_name)}" if added.group_name else ""))


@organiser_app.command("remove")
def organiser_remove(
    phone: str | None = typer.Option(None, "--phone"),
    telegram_id: int | None = typer.Option(None, "--telegram-id"),
) -> None:
    """Remove every organiser role held by a phone number or Telegram id."""
    phone, telegram_id = _identity(phone, telegram_id)

    removed = in_transaction(lambda tx: organisers.remove(tx, phone, telegram_id))
    if not removed:
        fail("no organiser roles found for that identity")
    console.print(f"Removed {removed} role(s).")


@organiser_app.command("list")
def organiser_list() -> None:
    """List organisers and their roles."""
    table = Table("id", "role", "phone", "telegram id", "local group")
    for r in in_transaction(organisers.list_all):
        table.add_row(str(r.id), r.role, phones.masked(r.phone) if r.phone else "", str(r.telegram_id or ""),
                      shown(r.group_name or "(all)"))
    console.print(table)


@group_app.command("add")
def group_add(
    name: str = typer.Argument(..., help="The group's name, e.g. 'Leeds North'."),
    areas: str = typer.Option("", "--areas", help='Postcode areas or outward codes, e.g. "M1 M2 SW1A".'),
) -> None:
    """Create a local group covering some postcode areas."""
    area_list = areas.replace(",", " ").split()
    bad = [a for a in area_list if not a.isalnum() or len(a) > 4]
    if bad:
        fail(f"--areas: {', '.join(bad)} not postcode areas or outward codes (like M, M1, SW1A)")
    if not name.strip():
        fail("NAME: give the group a name")

    group = in_transaction(lambda tx: groups.add(tx, name.strip(), area_list, SystemClock().now()))
    covering = " ".join(group.areas) or "no areas yet"
    console.print(f"Created group #{group.id} {shown(repr(group.name))} covering {covering}.")


@group_app.command("list")
def group_list() -> None:
    """List local groups and their areas."""
    table = Table("id", "name", "areas")
    for g in in_transaction(groups.list_all):
        table.add_row(str(g.id), shown(g.name), " ".join(g.areas))
    console.print(table)
