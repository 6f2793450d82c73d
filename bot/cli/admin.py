"""`muster db`, `muster organiser` and `muster group`."""
from __future__ import annotations

import sqlite3

import typer

from bot.cli.base import Table, console, fail, group_id, in_transaction, phone_option, run_async, settings, shown
from flows.core.clock import SystemClock
from flows.core.texts import plural
from flows.organiser import groups as group_ops
from flows.organiser import team
from flows.organiser.access import Actor
from flows.organiser.errors import GroupError
from storage import Database, DatabaseUnusable, groups, migrations, organisers
from storage.db import Tx, unusable

CLI = Actor(trusted=True, label="cli")  # whoever runs the command line administers the deployment

db_app = typer.Typer(help="The database.", no_args_is_help=True)
organiser_app = typer.Typer(help="Organiser roles.", no_args_is_help=True)
group_app = typer.Typer(help="Local groups and the postcode areas they cover.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply any migrations not yet applied (also done at start-up)."""
    target = settings().database

    async def go() -> list[str]:
        if target.startswith(("postgresql://", "postgres://")):  # MUSTER_DATABASE_URL: under an advisory lock
            import asyncpg  # here, not at the top: only deployments on PostgreSQL load it

            from storage import postgres

            pg = await postgres.PostgresDatabase(target).connect()
            try:
                return await postgres.upgrade(pg)
            except asyncpg.PostgresError as exc:
                raise DatabaseUnusable(f"{pg.path}: {exc}") from None
            finally:
                await pg.close()
        db = await Database(target).connect()
        try:
            return await migrations.upgrade(db)
        finally:
            await db.close()

    try:
        applied = run_async(go)
    except DatabaseUnusable as exc:
        fail(shown(str(exc)))
    except sqlite3.Error as exc:
        fail(shown(str(unusable(target, exc))))
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
    national: bool = typer.Option(False, "--national",
                                  help="An organiser with reach over every group (instead of --group)."),
) -> None:
    """Give someone an organiser role. An organiser needs --group NAME (one local group) or
    --national (every group); an admin reaches everything and takes neither."""
    phone, telegram_id = _identity(phone, telegram_id)
    if role not in organisers.ROLES:
        fail(f"--role: expected one of {', '.join(organisers.ROLES)}, not {role!r}")
    if role == "organiser" and not group and not national:
        fail("an organiser needs --group NAME (one local group) or --national (every group)")
    if group and national:
        fail("give --group NAME or --national, not both")
    if role == "admin" and national:
        fail("--national is for organisers: an admin reaches everything already")

    async def add(tx: Tx) -> organisers.Role:
        added, _ = await team.add(tx, CLI, SystemClock().now(), role, await group_id(tx, group),
                                  phone=phone, telegram_id=telegram_id)
        return added

    added = in_transaction(add)
    console.print(f"Added {added.role} #{added.id}" + (f" for {shown(added.group_name)}" if added.group_name else ""))


@organiser_app.command("remove")
def organiser_remove(
    phone: str | None = typer.Option(None, "--phone"),
    telegram_id: int | None = typer.Option(None, "--telegram-id"),
) -> None:
    """Remove every organiser role held by a phone number or Telegram id."""
    phone, telegram_id = _identity(phone, telegram_id)

    removed = in_transaction(lambda tx: team.remove_identity(tx, CLI, SystemClock().now(), phone, telegram_id))
    if not removed:
        fail("no organiser roles found for that identity")
    console.print(f"Removed {plural('role', removed)}.")


def _scope(role: organisers.Role) -> str:
    if role.role == "admin":
        return "everything"
    return shown(role.group_name) if role.group_name else "national"


@organiser_app.command("list")
def organiser_list() -> None:
    """List organisers: their role and its scope (everything, national or one local group), the
    first name they have as a supporter, and their phone number and Telegram id in full."""
    table = Table("id", "role", "scope", "name", "phone", "telegram id")
    for m in in_transaction(lambda tx: team.everyone(tx, CLI)):
        r = m.role
        table.add_row(str(r.id), r.role, _scope(r), shown(m.known_as or ""), r.phone or "", str(r.telegram_id or ""))
    console.print(table)


def _areas(areas: str) -> str:
    try:
        return " ".join(group_ops.parse_areas(areas))
    except GroupError as exc:
        fail(f"--areas: {shown(str(exc))}")


async def _named(tx: Tx, name: str) -> groups.Group:
    found = await groups.by_name(tx, name)
    if found is None:
        raise LookupError(f"no local group called {name!r} (see `muster group list`)")
    return found


def _placed(placed: int, told: int) -> str:
    if not placed:
        return ""
    return (f" {plural('supporter', placed)} with no group {'was' if placed == 1 else 'were'} placed in it; "
            f"{told:,} of them will be told on a channel they are opted in on.")


@group_app.command("add")
def group_add(
    name: str = typer.Argument(..., help="The group's name, e.g. 'Leeds North'."),
    areas: str = typer.Option("", "--areas", help='Postcode areas or outward codes, e.g. "M1 M2 SW1A".'),
) -> None:
    """Create a local group covering some postcode areas (supporters there with no group join it)."""
    area_list = _areas(areas)
    if not name.strip():
        fail("NAME: give the group a name")
    flow = settings().flow_settings()
    done = in_transaction(lambda tx: group_ops.create(tx, CLI, SystemClock().now(), name, area_list, flow))
    covering = " ".join(done.group.areas) or "no areas yet"
    console.print(f"Created group #{done.group.id} {shown(repr(done.group.name))} covering {covering}."
                  + _placed(done.placed, done.told))


@group_app.command("edit")
def group_edit(
    name: str = typer.Argument(..., help="The group's current name."),
    rename: str | None = typer.Option(None, "--rename", help="A new name for it."),
    areas: str | None = typer.Option(None, "--areas", help='The areas it covers from now on, e.g. "M1 M2".'),
) -> None:
    """Rename a local group or change the postcode areas it covers (supporters with no group in a
    new area join it)."""
    if rename is None and areas is None:
        fail("give --rename NEW or --areas \"M1 M2\" (or both)")
    area_list = None if areas is None else _areas(areas)
    flow = settings().flow_settings()

    async def edit(tx: Tx) -> group_ops.Change:
        found = await _named(tx, name)
        return await group_ops.edit(tx, CLI, SystemClock().now(), found.id, flow, name=rename, areas=area_list)

    done = in_transaction(edit, errors=(ValueError, LookupError))
    if not done.changed:
        console.print(f"Nothing to change: {shown(repr(done.group.name))} already looks like that.")
        return
    covering = " ".join(done.group.areas) or "no areas"
    console.print(f"Updated group #{done.group.id} {shown(repr(done.group.name))}, covering {covering}."
                  + _placed(done.placed, done.told))


@group_app.command("remove")
def group_remove(
    name: str = typer.Argument(..., help="The group's name."),
    force: bool = typer.Option(False, "--force", help="Remove it even though organisers or events belong to it."),
) -> None:
    """Remove a local group; its supporters are left with no group. Refused while organisers or
    events belong to it, unless --force (their roles go; its events become national)."""
    async def remove(tx: Tx) -> group_ops.Removed:
        found = await _named(tx, name)
        try:
            return await group_ops.remove(tx, CLI, SystemClock().now(), found.id, force=force)
        except GroupError as exc:
            raise GroupError(f"{exc} Or remove it anyway with --force.") from None

    done = in_transaction(remove, errors=(ValueError, LookupError))
    console.print(f"Removed group #{done.group.id} {shown(repr(done.group.name))}: "
                  f"{plural('supporter', done.supporters)} now in no group, {plural('role', done.roles)} removed, "
                  f"{plural('event', done.events)} now national.")


@group_app.command("list")
def group_list() -> None:
    """List local groups and their areas."""
    table = Table("id", "name", "areas")
    for g in in_transaction(groups.list_all):
        table.add_row(str(g.id), shown(g.name), " ".join(g.areas))
    console.print(table)
