"""`muster event …`: create, edit, publish, cancel and list events; attendees, attendance, report;
a printable poster."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import typer

from bot import posters
from bot.cli.base import Table, console, fail, group_id, in_transaction, phone_option, settings, shown
from flows.core.clock import SystemClock
from flows.organiser import events as event_ops
from flows.organiser import exports
from flows.organiser.access import Actor
from flows.organiser.errors import EventError
from flows.supporter import events as flow_events
from flows.values import dates, phones
from storage import events, groups, supporters
from storage.db import Row, Tx
from storage.events import Event

T = TypeVar("T")

CLI = Actor(trusted=True, label="cli")  # whoever runs the command line administers the deployment
event_app = typer.Typer(help="Events: create, publish, cancel, attendance.", no_args_is_help=True)


# The option that sets each event field, to name it when the value is refused.
_OPTIONS = {"title": "--title", "starts_at": "--when", "ends_at": "--hours", "venue": "--venue",
            "address": "--address", "postcode": "--postcode", "online_url": "--online", "capacity": "--capacity",
            "group_id": "--group", "description": "--description", "instructions": "--instructions",
            "timezone": "--timezone", "extra": "--extra", "attended": "attend"}


def _in_tx(work: Callable[[Tx], Awaitable[T]]) -> T:
    """Run `work` in one transaction; a ValueError becomes a CLI error, naming the option at fault."""
    async def named(tx: Tx) -> T:
        try:
            return await work(tx)
        except event_ops.CapacityQuestion as asked:
            raise ValueError(_capacity_question(asked)) from None
        except EventError as exc:
            option = _OPTIONS.get(exc.field or "")
            raise ValueError(f"{option}: {exc}" if option else str(exc)) from None

    return in_transaction(named)


def _capacity_question(asked: event_ops.CapacityQuestion) -> str:
    """The one line that asks what to do with the people going beyond a new, lower capacity."""
    going, one = event_ops.counted(asked.going, "person", "people"), asked.extra == 1
    return (f"--capacity: {going} {'is' if asked.going == 1 else 'are'} already going, more than "
            f"{event_ops.counted(asked.capacity, 'place')}: add --extra keep (everyone going keeps their place; "
            f"the capacity only stops new ones) or --extra waitlist (the "
            f"{event_ops.counted(asked.extra, 'person', 'people')} who said going most recently "
            f"{'moves' if one else 'move'} to the top of the waitlist and {'is' if one else 'are'} told)")


async def _find(tx: Tx, ident: str) -> Event:
    event = await (events.get(tx, int(ident)) if ident.isdigit() else events.by_public_id(tx, ident))
    if event is None:
        raise ValueError(f"ID: no event {ident!r} (see `muster event list`)")
    return event


def _when(text: str, now: datetime, tz: str) -> datetime:
    try:
        return dates.parse(text, now, tz)
    except dates.DateError as exc:
        if exc.reason == "past" and exc.when is not None:
            raise ValueError(f"--when: {dates.full(exc.when, tz)} is in the past") from None
        raise ValueError(f"--when: can't read {text!r} (e.g. 'Sat 14:00', '3 Oct 7pm', '2026-12-05 19:00')") from None


async def _group_id(tx: Tx, name: str | None) -> int | None:
    return None if name and name.lower() == "national" else await group_id(tx, name)


def _describe(event: Event) -> str:
    status = event_ops.STATUS_WORDS[event.status]
    return shown(f"#{event.id} {event.title} — {flow_events.when(event)} [{status}] public id {event.public_id}")


@event_app.command("create")
def create(
    title: str = typer.Option(..., "--title"),
    when: str = typer.Option(..., "--when", help="Start, e.g. 'Sat 14:00', '3 Oct 7pm', '2026-12-05 19:00'."),
    hours: float = typer.Option(2.0, "--hours", min=0.25, help="How long it lasts."),
    venue: str | None = typer.Option(None, "--venue"),
    address: str | None = typer.Option(None, "--address"),
    postcode: str | None = typer.Option(None, "--postcode"),
    private_address: bool = typer.Option(False, "--private-address", help="Keep the address out of public files."),
    online: str | None = typer.Option(None, "--online", help="Link for joining online."),
    capacity: int | None = typer.Option(None, "--capacity", min=1),
    group: str | None = typer.Option(None, "--group", help="Local group name; national when left out."),
    description: str | None = typer.Option(None, "--description"),
    instructions: str | None = typer.Option(None, "--instructions", help="Shown to people after they RSVP."),
    tz: str | None = typer.Option(None, "--timezone", help="Default: MUSTER_TIMEZONE."),
    publish: bool = typer.Option(False, "--publish", help="Publish at once instead of saving a draft."),
) -> None:
    """Create an event (a draft unless --publish)."""
    zone = tz or settings().timezone
    now = SystemClock().now()
    try:
        starts = _when(when, now, zone)
    except ValueError as exc:
        fail(str(exc))

    async def work(tx: Tx) -> Event:
        return await event_ops.create(
            tx, CLI, now, title=title, starts_at=starts, ends_at=starts + timedelta(hours=hours), timezone=zone,
            venue=venue, address=address, postcode=postcode, address_public=0 if private_address else 1,
            online_url=online, capacity=capacity, group_id=await _group_id(tx, group), description=description,
            instructions=instructions, status="confirmed" if publish else "draft",
        )

    console.print(f"Created {_describe(_in_tx(work))}")


@event_app.command("edit")
def edit(
    ident: str = typer.Argument(..., metavar="ID"),
    title: str | None = typer.Option(None, "--title"),
    when: str | None = typer.Option(None, "--when"),
    hours: float | None = typer.Option(None, "--hours", min=0.25),
    venue: str | None = typer.Option(None, "--venue"),
    address: str | None = typer.Option(None, "--address"),
    postcode: str | None = typer.Option(None, "--postcode"),
    online: str | None = typer.Option(None, "--online"),
    capacity: int | None = typer.Option(None, "--capacity", min=0, help="0 for no limit."),
    extra: str | None = typer.Option(
        None, "--extra", metavar="keep|waitlist",
        help="A capacity below the people already going: keep them all, or move the most recent extra "
             "ones to the top of the waitlist (they are told)."),
    description: str | None = typer.Option(None, "--description"),
    instructions: str | None = typer.Option(None, "--instructions"),
) -> None:
    """Change an event; a new time or place is sent to everyone who RSVPed (once per change)."""
    if extra is not None and extra not in event_ops.EXTRA_CHOICES:
        fail("--extra: keep or waitlist")
    now = SystemClock().now()
    flow_settings = settings().flow_settings()

    async def work(tx: Tx) -> tuple[Event, event_ops.Edited]:
        event = await _find(tx, ident)
        changes: dict[str, Any] = {k: v for k, v in {
            "title": title, "venue": venue, "address": address, "postcode": postcode, "online_url": online,
            "description": description, "instructions": instructions,
        }.items() if v is not None}
        if when is not None:
            changes["starts_at"] = _when(when, now, event.timezone)
        if hours is not None:  # a new start alone keeps the event's length
            changes["ends_at"] = changes.get("starts_at", event.start) + timedelta(hours=hours)
        if capacity is not None:
            changes["capacity"] = capacity or None
        return event, await event_ops.edit(tx, CLI, event, now, settings=flow_settings, extra=extra, **changes)

    event, edited = _in_tx(work)
    console.print(f"Updated {_describe(event)}" + (" — RSVPs will be told of the change." if edited.moved else ""))
    if edited.kept:
        console.print(f"Kept {event_ops.counted(edited.kept, 'person', 'people')} going beyond the capacity; "
                      "new RSVPs join the waitlist.")
    if edited.waitlisted:
        console.print(f"Moved {event_ops.counted(len(edited.waitlisted), 'person', 'people')} from going to the top "
                      "of the waitlist; each is told once.")
    if edited.promoted:
        moved = event_ops.counted(len(edited.promoted), "person", "people")
        console.print(f"Moved {moved} from the waitlist to going.")


@event_app.command("publish")
def publish(
    ident: str = typer.Argument(..., metavar="ID"),
    announce: bool = typer.Option(False, "--announce", help="Also announce it to the group's supporters and chats."),
) -> None:
    """Publish a draft (supporters see it under EVENTS), optionally announcing it."""
    now = SystemClock().now()
    flow_settings = settings().flow_settings()

    async def work(tx: Tx) -> tuple[Event, event_ops.Announcement | None]:
        event = await _find(tx, ident)
        if announce and event.announced_at:
            raise ValueError(f"event #{event.id} has already been announced")
        if event.status != "confirmed":
            await event_ops.publish(tx, CLI, event, now)
        if not announce:
            return event, None
        return event, await event_ops.announce(tx, CLI, event, now, flow_settings)

    event, told = _in_tx(work)
    console.print(f"Published {_describe(event)}")
    if told:
        wait = told.sms_wait()
        console.print(f"Announcement queued for {told.summary()}." + (f" {wait}." if wait else ""))


@event_app.command("cancel")
def cancel(ident: str = typer.Argument(..., metavar="ID")) -> None:
    """Cancel an event; everyone going, maybe or waitlisted is told once."""
    now = SystemClock().now()

    async def work(tx: Tx) -> Event:
        event = await _find(tx, ident)
        await event_ops.cancel(tx, CLI, event, now)
        return event

    console.print(f"Cancelled {_describe(_in_tx(work))}")


@event_app.command("list")
def list_events(everything: bool = typer.Option(False, "--all", help="Include past events.")) -> None:
    """Events not yet over (or all), with RSVP counts."""
    now = SystemClock().now()

    async def work(tx: Tx) -> tuple[list[Event], dict[int, dict[str, int]], dict[int, str]]:
        found = await events.listing(tx, datetime(1970, 1, 1, tzinfo=UTC) if everything else now, limit=1000)
        names = {g.id: g.name for g in await groups.list_all(tx)}
        return found, await events.counts(tx, [e.id for e in found]), names

    found, tally, names = _in_tx(work)
    table = Table("id", "public id", "starts", "title", "status", "group", "going", "maybe", "waitlist")
    for e in found:
        c = tally[e.id]
        group = shown(names.get(e.group_id, "")) if e.group_id else "national"
        going = f"{c.get('going', 0)}" + (f"/{e.capacity}" if e.capacity else "")
        table.add_row(str(e.id), e.public_id, dates.short(e.start, e.timezone), shown(e.title),
                      event_ops.STATUS_WORDS[e.status], group, going, str(c.get("maybe", 0)),
                      str(c.get("waitlisted", 0)))
    console.print(table)


@event_app.command("attendees")
def attendees(
    ident: str = typer.Argument(..., metavar="ID"),
    as_csv: bool = typer.Option(False, "--csv", help="CSV on standard output (full phone numbers)."),
) -> None:
    """Everyone who RSVPed, with their answer and attendance."""
    now = SystemClock().now()

    async def work(tx: Tx) -> list[Row]:
        event = await _find(tx, ident)
        if as_csv:  # phone numbers in full: an audited export
            return await event_ops.export_attendees(tx, CLI, event, now)
        return await event_ops.attendees(tx, CLI, event)

    rows = _in_tx(work)
    attended = {None: "", 1: "yes", 0: "no"}
    if as_csv:
        typer.echo(exports.attendee_csv(rows, event_ops.RSVP_WORDS), nl=False)
        return
    table = Table("supporter", "name", "phone", "telegram", "rsvp", "attended")
    for r in rows:
        phone = phones.masked(r["phone"]) if r["phone"] else ""
        table.add_row(str(r["supporter_id"]), shown(r["first_name"] or ""), phone,
                      str(r["telegram_id"] or ""), event_ops.RSVP_WORDS[r["status"]], attended[r["attended"]])
    console.print(table)


@event_app.command("attend")
def attend(
    ident: str = typer.Argument(..., metavar="ID"),
    supporter: int | None = typer.Option(None, "--supporter", help="Supporter id (see attendees)."),
    phone: str | None = typer.Option(None, "--phone"),
    telegram_id: int | None = typer.Option(None, "--telegram-id"),
    absent: bool = typer.Option(False, "--no", help="Mark as not attended."),
) -> None:
    """Mark someone as attended (or not, with --no)."""
    if [supporter, phone, telegram_id].count(None) != 2:
        fail("give exactly one of --supporter, --phone or --telegram-id")
    number = phone_option(phone)
    now = SystemClock().now()

    async def work(tx: Tx) -> tuple[Event, int]:
        event = await _find(tx, ident)
        if supporter is not None:
            person = await supporters.get(tx, supporter)
        elif number is not None:
            person = await supporters.find(tx, "sms", number)
        else:
            person = await supporters.find(tx, "telegram", str(telegram_id))
        if person is None or person.status == "erased":
            raise ValueError("no such supporter")
        await event_ops.mark_attended(tx, CLI, event, person.id, not absent, now)
        return event, person.id

    event, person_id = _in_tx(work)
    console.print(f"Supporter #{person_id} marked as {'not ' if absent else ''}attended at #{event.id}.")


@event_app.command("report")
def report(ident: str = typer.Argument(..., metavar="ID")) -> None:
    """RSVPs by status, attended and no-shows."""
    async def work(tx: Tx) -> tuple[Event, dict[str, int]]:
        event = await _find(tx, ident)
        return event, await events.report(tx, event.id)

    event, numbers = _in_tx(work)
    console.print(_describe(event))
    table = Table("", "count")
    labels = [*((k, event_ops.RSVP_WORDS[k]) for k in ("going", "maybe", "declined", "waitlisted")),
              ("attended", "attended"), ("no_show", "no-shows"), ("unknown", "going, attendance unknown")]
    for key, label in labels:
        table.add_row(label, str(numbers[key]))
    console.print(table)


@event_app.command("poster")
def poster(
    ident: str = typer.Argument(..., metavar="ID"),
    size: str = typer.Option("A4", "--size", help="A4 or A5."),
    out: str | None = typer.Option(None, "--out", "-o", help="Where to write the PDF (default: event-ID-poster.pdf)."),
) -> None:
    """A printable invitation (PDF): the event, a QR code for its public page, and "Text JOIN to …"."""
    size = size.upper()
    if size not in posters.SIZES:
        fail(f"--size: {size!r} is not A4 or A5")
    config = settings()

    async def work(tx: Tx) -> tuple[Event, str | None]:
        event = await _find(tx, ident)
        if event.status != "confirmed":
            raise ValueError(f"ID: #{event.id} is {event_ops.STATUS_WORDS[event.status]}: only a published event has "
                             "a public page to print")
        group = await groups.get(tx, event.group_id) if event.group_id is not None else None
        return event, group.name if group else None

    event, group_name = _in_tx(work)
    base = (config.public_url or f"http://{config.host}:{config.port}").rstrip("/")
    made = posters.poster_for(event, f"{base}/e/{event.public_id}", config.movement, group_name,
                              config.twilio_from_number, config.sms_default_region)
    target = Path(out or f"event-{event.id}-poster.pdf")
    target.write_bytes(posters.render(made, size))
    console.print(shown(f"Wrote {target} ({size}): {event.title}"), soft_wrap=True)
    console.print(shown(f"The QR code opens {made.url}"), soft_wrap=True)
    if not config.public_url:
        console.print("MUSTER_PUBLIC_URL is not set: the QR code points at this machine. Set it to the address "
                      "people reach the service at, then make the poster again.", soft_wrap=True)
    if not config.twilio_from_number:
        console.print(shown(f"No TWILIO_FROM_NUMBER: the poster says \"{made.join}\" (sandbox mode)."),
                      soft_wrap=True)
