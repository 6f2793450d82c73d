"""The console's events pages: the list (upcoming, drafts, past), the form to create and edit an
event, its page (details, counts, attendees, the waitlist, walk-ins, a CSV export), publishing,
the announcement with its preview, cancelling, and check-in at the door on a phone.

Every rule (a place, a capacity below those going, when attendance opens, who may do what) is
flows.organiser.events', the same the chat console and the command line use: this module only
turns forms into calls and results into pages. A ScopeError is a 403, an unknown event a 404,
a form that makes no sense a 400 that keeps what was typed.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot import posters
from bot.web.console import dates
from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import current, gettext, ngettext
from flows.organiser import events as ops
from flows.organiser import exports
from flows.organiser.errors import EventError, ScopeError
from flows.organiser.signin import SignedIn
from flows.supporter import events as ev
from flows.values.phones import masked, masked_id
from storage.db import parse_ts
from storage.events import Event

TEXT_FIELDS = ("title", "venue", "address", "postcode", "online_url", "description", "instructions")
FORM_FIELDS = (*TEXT_FIELDS, "date", "time", "hours", "capacity", "group", "address_public")
# The form field that shows a refusal of each event field.
AT = {"starts_at": "date", "ends_at": "hours", "group_id": "group"}
AT_THE_DOOR = ("going", "maybe", "waitlisted")  # who the check-in list shows, in this order
MAX_TEXT = 5000


def labels() -> dict[str, str]:
    """The name of each form field, in the reader's language."""
    return {"title": gettext("Title"), "date": gettext("Date"), "time": gettext("Start time"),
            "hours": gettext("Length"), "venue": gettext("Venue"), "address": gettext("Address"),
            "postcode": gettext("Postcode"), "online_url": gettext("Online link"), "capacity": gettext("Places"),
            "group": gettext("Local group"), "description": gettext("Description"),
            "instructions": gettext("Instructions"), "extra": gettext("Places")}


def status_words() -> dict[str, str]:
    """An event's status (ops.STATUS_WORDS), as the pages show it."""
    return {"draft": gettext("Draft"), "confirmed": gettext("Published"), "cancelled": gettext("Cancelled")}


def rsvp_words() -> dict[str, str]:
    """An RSVP (ops.RSVP_WORDS), as the pages show it."""
    return {"going": gettext("Going"), "maybe": gettext("Maybe"), "declined": gettext("Can't go"),
            "waitlisted": gettext("Waitlist")}


def part_names() -> dict[str, str]:
    return {"upcoming": gettext("Upcoming"), "drafts": gettext("Drafts"), "past": gettext("Past")}


def people(n: int) -> str:
    """'1 person', '3 people', in the reader's language."""
    return ngettext("%(num)s person", "%(num)s people", n)
def _hours(event: Event) -> str:
    length = (event.end - event.start).total_seconds() / 3600
    return f"{length:g}"


def _form_of(event: Event) -> dict[str, str]:
    start = event.start.astimezone(ZoneInfo(event.timezone))
    values = {f: getattr(event, f) or "" for f in TEXT_FIELDS}
    return {**values, "date": start.date().isoformat(), "time": f"{start:%H:%M}", "hours": _hours(event),
            "capacity": str(event.capacity or ""), "group": str(event.group_id or "national"),
            "address_public": "1" if event.address_public else ""}


def _parse(values: dict[str, str], zone: ZoneInfo) -> dict[str, Any]:
    """The form as event fields; EventError naming the form field at fault."""
    try:
        day = date.fromisoformat(values["date"].strip())
    except ValueError:
        raise EventError("give the date, e.g. 2026-12-05", "date") from None
    try:
        at = time.fromisoformat(values["time"].strip())
    except ValueError:
        raise EventError("give the start time, e.g. 19:00", "time") from None
    try:
        hours = float(values["hours"].strip() or "2")
    except ValueError:
        hours = 0
    if not 0.25 <= hours <= 48:
        raise EventError("give a length from 0.25 to 48 hours, e.g. 2 or 1.5", "hours")
    raw_capacity = values["capacity"].strip().replace(",", "")
    if raw_capacity and not raw_capacity.isdigit():
        raise EventError(f"a whole number from 1 to {ops.MAX_CAPACITY:,}, or blank for no limit", "capacity")
    group = values["group"].strip()
    if group != "national" and not group.isdigit():
        raise EventError("choose a local group from the list", "group")
    starts = datetime.combine(day, at, tzinfo=zone)
    return {
        "title": values["title"], "starts_at": starts, "ends_at": starts + timedelta(hours=hours),
        **{f: values[f] for f in TEXT_FIELDS if f != "title"},
        "address_public": 1 if values["address_public"] else 0,
        "capacity": int(raw_capacity) if raw_capacity else None,
        "group_id": None if group == "national" else int(group),
    }


def routes(console: Console) -> list[BaseRoute]:
    zone = ZoneInfo(console.settings.timezone)

    def when(stamp: str | datetime, tz: str | None = None) -> str:
        moment = parse_ts(stamp) if isinstance(stamp, str) else stamp
        local = moment.astimezone(ZoneInfo(tz) if tz else zone)
        return dates.day(local, with_weekday=True)

    def until(event: Event) -> str:
        """The end as the details show it: a time on the same day, else the date too."""
        tz = ZoneInfo(event.timezone)
        start, end = event.start.astimezone(tz), event.end.astimezone(tz)
        return f"{end:%H:%M}" if start.date() == end.date() else when(event.end, event.timezone)

    def shared() -> dict[str, Any]:
        return {"when": when, "until": until, "status_words": status_words(), "rsvp_words": rsvp_words(),
                "masked": masked, "masked_id": masked_id, "place": ev.place, "labels": labels()}

    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        return console.refused(request, who, status, message, heading=gettext("Events"), back="/console/events",
                               back_to=gettext("the events"))

    def on_event(page: Callable[[Request, SignedIn, int], Awaitable[Response]]) -> Callable[..., Any]:
        """The page for one event: a 404 for none, a 403 for another group's."""
        async def handler(request: Request, who: SignedIn) -> Response:
            try:
                return await page(request, who, int(request.path_params["event_id"]))
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, gettext("There is no such event, or it is not one of yours."))
        return signed_in(console, handler)

    async def form_values(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: str(form.get(k, ""))[:MAX_TEXT] for k in (*FORM_FIELDS, "extra")}

    # -- the list ------------------------------------------------------------------------------
    async def listing(request: Request, who: SignedIn) -> Response:
        try:
            async with console.transaction() as tx:
                parts = {p: await ops.in_scope(tx, who.actor, console.now(), p) for p in ops.PARTS}
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        return console.render(request, "events/list.html", who=who, parts=parts, part_names=part_names(),
                              **shared())

    # -- create and edit -----------------------------------------------------------------------
    async def show_form(request: Request, who: SignedIn, status: int = 200, *, event: Event | None = None,
                        values: dict[str, str], exc: EventError | None = None) -> Response:
        async with console.transaction() as tx:
            choices = await ops.group_choices(tx, who.actor)
        errors: dict[str, str] = {}
        question = exc if isinstance(exc, ops.CapacityQuestion) else None
        if exc is not None and question is None:
            errors[AT.get(exc.field or "", exc.field or "")] = why(exc)
        return console.render(request, "events/form.html", status, who=who, event=event, form=values,
                              errors=errors, question=question, choices=choices, zone=console.settings.timezone,
                              error=None if exc is None or question else gettext(
                                  "Check the form: %(problems)s", problems="; ".join(
                                      f"{labels().get(k, k)}: {v}" for k, v in errors.items())), **shared())

    async def new(request: Request, who: SignedIn) -> Response:
        tomorrow = (console.now().astimezone(zone) + timedelta(days=1)).date()
        async with console.transaction() as tx:
            choices = await ops.group_choices(tx, who.actor)
        values = {**dict.fromkeys(FORM_FIELDS, ""), "date": tomorrow.isoformat(), "time": "19:00", "hours": "2",
                  "address_public": "1", "group": str(choices[0][0] or "national") if choices else ""}
        return await show_form(request, who, values=values)

    async def create(request: Request, who: SignedIn) -> Response:
        values = await form_values(request)
        try:
            fields = _parse(values, zone)
            async with console.transaction() as tx:
                made = await ops.create(tx, who.actor, console.now(), timezone=console.settings.timezone, **fields)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except EventError as exc:
            return await show_form(request, who, 400, values=values, exc=exc)
        return back(f"/console/events/{made.id}", gettext("Saved #%(id)s %(title)s as a draft: publish it when ready.",
                                                          id=made.id, title=made.title))

    async def edit_form(request: Request, who: SignedIn, event_id: int) -> Response:
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            ops.check_access(who.actor, seen.event)
        return await show_form(request, who, event=seen.event, values=_form_of(seen.event))

    async def edit(request: Request, who: SignedIn, event_id: int) -> Response:
        values = await form_values(request)
        async with console.transaction() as tx:
            event = (await ops.one(tx, who.actor, event_id)).event
        try:
            fields = _parse(values, ZoneInfo(event.timezone))
            shown = _form_of(event)  # what the form showed is the event as it is, not as rounded to the minute
            if (values["date"].strip(), values["time"].strip()) == (shown["date"], shown["time"]):
                fields["starts_at"] = event.start
            if values["hours"].strip() == shown["hours"]:
                fields["ends_at"] = fields["starts_at"] + (event.end - event.start)
            async with console.transaction() as tx:
                event = (await ops.one(tx, who.actor, event_id)).event
                done = await ops.edit(tx, who.actor, event, console.now(), settings=console.settings.flow_settings(),
                                      extra=values["extra"] or None, **fields)
        except EventError as exc:
            return await show_form(request, who, 400, event=event, values=values, exc=exc)
        said = [gettext("Saved #%(id)s %(title)s.", id=event.id, title=event.title) if done.changed
                else gettext("Nothing changed.")]
        if done.moved:
            said.append(gettext("Everyone who RSVPed will be told of the new time or place."))
        if done.kept:
            said.append(gettext("Everyone going keeps their place (%(people)s more than the places); new RSVPs join "
                                "the waitlist.", people=people(done.kept)))
        if done.waitlisted:
            said.append(ngettext("%(num)s person moved to the top of the waitlist and told.",
                                 "%(num)s people moved to the top of the waitlist and told.", len(done.waitlisted)))
        if done.promoted:
            said.append(ngettext("%(num)s person moved up from the waitlist and told.",
                                 "%(num)s people moved up from the waitlist and told.", len(done.promoted)))
        if done.waitlisted or done.promoted:
            console.wake()
        return back(f"/console/events/{event.id}", " ".join(said))

    # -- one event -----------------------------------------------------------------------------
    async def page(request: Request, who: SignedIn, event_id: int) -> Response:
        find = request.query_params.get("find", "")[:100]
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            rows = await ops.attendees(tx, who.actor, seen.event)
            manages = _manages(who, seen.event)
            found = await _walk_ins(tx, who, seen.event, find) if manages and find.strip() else []
        closed = ops.attendance_closed(seen.event, console.now(), current.get())
        return console.render(request, "events/event.html", who=who, seen=seen, e=seen.event, rows=rows,
                              manages=manages, find=find, found=found, closed=closed,
                              started=seen.event.start <= console.now(), **shared())

    def _manages(who: SignedIn, event: Event) -> bool:
        try:
            ops.check_access(who.actor, event)
        except ScopeError:
            return False
        return True

    async def _walk_ins(tx: Any, who: SignedIn, event: Event, text: str) -> list[Any]:
        flow = console.settings.flow_settings()
        try:
            return await ops.walk_in_candidates(tx, who.actor, event, text, flow.interests, flow.sms_default_region)
        except ValueError:  # a search that makes no sense (two digits of a number): nobody found
            return []

    async def publish(request: Request, who: SignedIn, event_id: int) -> Response:
        try:
            async with console.transaction() as tx:
                event = (await ops.one(tx, who.actor, event_id)).event
                await ops.publish(tx, who.actor, event, console.now())
        except EventError as exc:
            return refused(request, who, 400, why(exc))
        return back(f"/console/events/{event_id}", gettext("Published: supporters see it under EVENTS. Announce it "
                                                           "when you are ready."))

    async def announce_page(request: Request, who: SignedIn, event_id: int, status: int = 200,
                            error: str | None = None) -> Response:
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            told = await ops.announce_preview(tx, who.actor, seen.event, console.now(),
                                              console.settings.flow_settings())
        return console.render(request, "events/announce.html", status, who=who, seen=seen, e=seen.event, told=told,
                              error=error, **shared())

    async def announce(request: Request, who: SignedIn, event_id: int) -> Response:
        try:
            async with console.transaction() as tx:
                event = (await ops.one(tx, who.actor, event_id)).event
                told = await ops.announce(tx, who.actor, event, console.now(), console.settings.flow_settings())
        except EventError as exc:
            return await announce_page(request, who, event_id, 400, why(exc))
        console.wake()
        lang = current.get()
        wait = told.sms_wait(lang)
        return back(f"/console/events/{event_id}", gettext("Announcement queued for %(whom)s.", whom=told.summary(lang))
                    + (f" {wait}." if wait else ""))

    async def cancel_page(request: Request, who: SignedIn, event_id: int) -> Response:
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            ops.check_access(who.actor, seen.event)
        return console.render(request, "events/cancel.html", who=who, seen=seen, e=seen.event, **shared())

    async def cancel(request: Request, who: SignedIn, event_id: int) -> Response:
        try:
            async with console.transaction() as tx:
                event = (await ops.one(tx, who.actor, event_id)).event
                await ops.cancel(tx, who.actor, event, console.now())
        except EventError as exc:
            return refused(request, who, 400, why(exc))
        return back(f"/console/events/{event_id}", gettext("Cancelled #%(id)s. Everyone going, maybe or on the "
                                                           "waitlist will be told.", id=event_id))

    async def export(request: Request, who: SignedIn, event_id: int) -> Response:
        async with console.transaction() as tx:
            event = (await ops.one(tx, who.actor, event_id)).event
            rows = await ops.export_attendees(tx, who.actor, event, console.now())
        return Response(exports.attendee_csv(rows, ops.RSVP_WORDS), media_type="text/csv; charset=utf-8", headers={
            "content-disposition": f'attachment; filename="event-{event_id}-attendees.csv"'})

    async def poster(request: Request, who: SignedIn, event_id: int) -> Response:
        """A printable invitation (bot/posters.py), as `muster event poster` makes it."""
        size = request.query_params.get("size", "A4").upper()
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            ops.check_access(who.actor, seen.event)
        if size not in posters.SIZES:
            return refused(request, who, 400, gettext("Choose a poster size: A4 or A5."))
        if seen.event.status != "confirmed":
            return refused(request, who, 400, gettext("Only a published event has a public page to print: publish it "
                                                      "first."))
        settings = console.settings
        made = posters.poster_for(seen.event, f"{console.base_url(request)}/e/{seen.event.public_id}",
                                  settings.movement, seen.group_name, settings.twilio_from_number,
                                  settings.sms_default_region)
        return Response(posters.render(made, size), media_type="application/pdf", headers={
            "content-disposition": f'attachment; filename="event-{event_id}-poster-{size}.pdf"'})

    # -- attendance: the event page, the check-in page and checkin.js ------------------------------
    async def attend(request: Request, who: SignedIn, event_id: int) -> Response:
        form = await request.form()
        raw, mark = str(form.get("supporter_id", "")), str(form.get("attended", ""))
        wants_json = "application/json" in request.headers.get("accept", "")
        going_back = "checkin" if form.get("back") == "checkin" else ""
        query = str(form.get("q", ""))[:100]
        target = f"/console/events/{event_id}" + ("/checkin" if going_back else "")
        try:
            if not raw.isdigit() or mark not in ("1", "0", "undo"):
                raise EventError("choose someone to check in", "attended")
            attended = {"1": True, "0": False, "undo": None}[mark]
            async with console.transaction() as tx:
                event = (await ops.one(tx, who.actor, event_id)).event
                marked = await ops.mark_attended(tx, who.actor, event, int(raw), attended, console.now())
                tally = (await ops.one(tx, who.actor, event_id)).tally
        except EventError as exc:
            if wants_json:
                return JSONResponse({"error": gettext("Not saved: %(why)s.", why=why(exc))}, 400)
            return refused(request, who, 400, gettext("Not saved: %(why)s.", why=why(exc)))
        except (ScopeError, LookupError) as exc:
            if wants_json:
                return JSONResponse({"error": why(exc)}, 403 if isinstance(exc, ScopeError) else 404)
            raise
        if wants_json:
            return JSONResponse({"saved": True, "supporter_id": marked.supporter_id, "attended": marked.attended,
                                 "checked_in": tally["attended"], "going": tally["going"]})
        name = marked.first_name or gettext("supporter #%(id)s", id=marked.supporter_id)
        said = {True: gettext("Checked in %(name)s.", name=name),
                False: gettext("%(name)s marked as not attended.", name=name),
                None: gettext("Check-in undone for %(name)s.", name=name)}[marked.attended]
        if marked.walk_in:
            said += " " + gettext("They were not on the list: added as going.")
        kept = {"q": query} if query and going_back else {}
        return RedirectResponse(f"{target}?{urlencode({**kept, 'done': said})}", status_code=303)

    async def checkin(request: Request, who: SignedIn, event_id: int) -> Response:
        query = request.query_params.get("q", "")[:100]
        async with console.transaction() as tx:
            seen = await ops.one(tx, who.actor, event_id)
            ops.check_access(who.actor, seen.event)
            rows = [r for r in await ops.attendees(tx, who.actor, seen.event) if r["status"] in AT_THE_DOOR]
            found = await _walk_ins(tx, who, seen.event, query) if query.strip() else []
        folded = query.strip().casefold()
        shown = [r for r in rows if not folded or folded in (r["first_name"] or "").casefold()]
        return console.render(request, "events/checkin.html", who=who, seen=seen, e=seen.event, rows=shown,
                              total=len(rows), query=query, found=found,
                              closed=ops.attendance_closed(seen.event, console.now(), current.get()), **shared())

    return [
        Route("/events", signed_in(console, listing), methods=["GET"]),
        Route("/events", signed_in(console, create), methods=["POST"]),
        Route("/events/new", signed_in(console, new), methods=["GET"]),
        Route("/events/{event_id:int}", on_event(page), methods=["GET"]),
        Route("/events/{event_id:int}/edit", on_event(edit_form), methods=["GET"]),
        Route("/events/{event_id:int}/edit", on_event(edit), methods=["POST"]),
        Route("/events/{event_id:int}/publish", on_event(publish), methods=["POST"]),
        Route("/events/{event_id:int}/announce", on_event(announce_page), methods=["GET"]),
        Route("/events/{event_id:int}/announce", on_event(announce), methods=["POST"]),
        Route("/events/{event_id:int}/cancel", on_event(cancel_page), methods=["GET"]),
        Route("/events/{event_id:int}/cancel", on_event(cancel), methods=["POST"]),
        Route("/events/{event_id:int}/attendees.csv", on_event(export), methods=["GET"]),
        Route("/events/{event_id:int}/poster.pdf", on_event(poster), methods=["GET"]),
        Route("/events/{event_id:int}/attend", on_event(attend), methods=["POST"]),
        Route("/events/{event_id:int}/checkin", on_event(checkin), methods=["GET"]),
    ]

