"""An event as an iCalendar (.ics) file, for supporters' own calendars."""
from __future__ import annotations

from datetime import datetime

from icalendar import Calendar
from icalendar import Event as CalendarEvent

from storage.events import Event


def where(event: Event, public_only: bool = True) -> str:
    """The place as one line; a non-public address is left out unless asked for."""
    parts = [event.venue]
    if event.address_public or not public_only:
        parts += [event.address, event.postcode]
    text = ", ".join(p for p in parts if p)
    if event.online_url:
        text = f"{text} ({event.online_url})" if text else event.online_url
    return text


def ics(event: Event, now: datetime, movement: str = "Muster") -> bytes:
    """One VEVENT in UTC; SEQUENCE follows the event's version so calendars take moves."""
    cal = Calendar()
    cal.add("prodid", f"-//{movement}//Events//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    item = CalendarEvent()
    item.add("uid", f"{event.public_id}@muster")
    item.add("dtstamp", now)
    item.add("dtstart", event.start)
    item.add("dtend", event.end)
    item.add("summary", event.title)
    item.add("sequence", event.version - 1)
    item.add("status", "CANCELLED" if event.status == "cancelled" else "CONFIRMED")
    if event.description:
        item.add("description", event.description)
    place = where(event)
    if place:
        item.add("location", place)
    if event.online_url:
        item.add("url", event.online_url)
    cal.add_component(item)
    return bytes(cal.to_ical())


def filename(event: Event) -> str:
    return f"event-{event.id}.ics"


def link(public_url: str | None, event: Event) -> str | None:
    """Where the .ics can be fetched, when the service has a public address."""
    if not public_url:
        return None
    return f"{public_url.rstrip('/')}/events/{event.public_id}.ics"
