"""Events and groups as the public pages show them: local times in the page's language, the place
(a private address only for someone going), places left, the map, calendar and Telegram links, the
Open Graph card."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import phonenumbers

from bot.web.public.base import gettext
from flows.core.settings import FlowSettings
from flows.values import calendar, dates
from storage import public_pages as store
from storage.db import Tx
from storage.events import Event

DESCRIPTION_CARD = 200  # characters of the description in a shared link's card


@dataclass(frozen=True)
class GroupView:
    id: int
    name: str
    slug: str


@dataclass(frozen=True)
class EventView:
    public_id: str
    title: str
    when: str              # "Saturday 7 November 2026, 19:00–21:00" ("Dydd Sadwrn 7 Tachwedd 2026, 19:00–21:00")
    short_when: str        # "Sat 7 Nov, 19:00" ("Sad 7 Tach, 19:00")
    iso_start: str
    place: str             # what the page shows of the place ('' when nothing is public)
    address_hidden: bool   # a private address exists and is not shown to this visitor
    online_url: str | None
    description: str | None
    group: GroupView | None
    capacity: int | None
    going: int
    left: int | None       # places left (None: no limit)
    status: str
    started: bool
    url: str               # this page, in full
    ics: str
    map_url: str | None
    telegram: str
    card: str              # the Open Graph description


def slug(name: str) -> str:
    """'Leeds North' → 'leeds-north'; 'Caerdydd Canolog' stays readable; accents dropped."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-") or "group"


async def group(tx: Tx, ident: str) -> GroupView | None:
    """A local group by its id or its slug (the lowest id when two names make one slug)."""
    names = await store.group_names(tx, [int(ident)] if ident.isdigit() and len(ident) < 12 else None)
    if ident.isdigit():
        return next((GroupView(i, n, slug(n)) for i, n in names.items()), None)
    wanted = ident.lower()
    found = sorted(i for i, n in names.items() if slug(n) == wanted)
    return GroupView(found[0], names[found[0]], wanted) if found else None


def _short(event: Event, lang: str = "en") -> str:
    """'Sat 7 Nov, 19:00' in the event's own zone; in Welsh 'Sad 7 Tach, 19:00'."""
    start = event.start.astimezone(ZoneInfo(event.timezone))
    if lang == "en":
        return f"{start:%a} {start.day} {start:%b}, {start:%H:%M}"
    day, _, clock = dates.short(event.start, event.timezone, lang).rpartition(" ")
    return f"{day}, {clock}"


def _when(event: Event, lang: str = "en") -> tuple[str, str]:
    """('Saturday 7 November 2026, 19:00–21:00', 'Sat 7 Nov, 19:00'), in the page's language."""
    zone = ZoneInfo(event.timezone)
    start, end = event.start.astimezone(zone), event.end.astimezone(zone)
    full = dates.full(event.start, event.timezone, lang)
    if end.date() == start.date():
        full += f"–{end:%H:%M}"
    else:
        full = gettext("%(start)s to %(end)s", start=full, end=dates.full(event.end, event.timezone, lang))
    return full, _short(event, lang)


def map_url(place: str) -> str | None:
    """An OpenStreetMap search for the place (a link, never an embedded map)."""
    return f"https://www.openstreetmap.org/search?query={quote_plus(place)}" if place else None


async def event(tx: Tx, e: Event, now: datetime, base_url: str, settings: FlowSettings, *,
                revealed: bool, lang: str = "en") -> EventView:
    """The page's view of an event in `lang`; `revealed`: this visitor is going, so a private address shows."""
    going = (await store.going_counts(tx, [e.id]))[e.id]
    names = await store.group_names(tx, [e.group_id]) if e.group_id is not None else {}
    group_view = GroupView(e.group_id, names[e.group_id], slug(names[e.group_id])) \
        if e.group_id is not None and e.group_id in names else None
    private = not e.address_public and bool(e.address or e.postcode)
    place = calendar.where(e, public_only=not revealed)
    physical = ", ".join(p for p in (e.venue, *((e.address, e.postcode) if e.address_public or revealed else ()))
                         if p)
    when, short = _when(e, lang)
    card = " · ".join(p for p in (short, e.venue or (gettext("Online") if e.online_url else ""),
                                  group_view.name if group_view else "") if p)
    if e.description:
        text = " ".join(e.description.split())
        card += ". " + (text if len(text) <= DESCRIPTION_CARD else text[:DESCRIPTION_CARD - 1].rsplit(" ", 1)[0] + "…")
    return EventView(
        public_id=e.public_id, title=e.title, when=when, short_when=short, iso_start=e.start.isoformat(),
        place=place, address_hidden=private and not revealed, online_url=e.online_url, description=e.description,
        group=group_view, capacity=e.capacity, going=going,
        left=None if e.capacity is None else max(e.capacity - going, 0), status=e.status, started=e.start <= now,
        url=f"{base_url}/e/{e.public_id}", ics=f"/events/{e.public_id}.ics", map_url=map_url(physical),
        telegram=f"https://t.me/{settings.telegram_bot_username}?start=e_{e.public_id}", card=card)


@dataclass(frozen=True)
class ListItem:
    public_id: str
    title: str
    short_when: str
    place: str
    group: str | None
    left: int | None


async def listing(tx: Tx, events: list[Event], lang: str = "en") -> list[ListItem]:
    going = await store.going_counts(tx, [e.id for e in events])
    names = await store.group_names(tx, [e.group_id for e in events if e.group_id is not None])
    items = []
    for e in events:
        left = None if e.capacity is None else max(e.capacity - going[e.id], 0)
        items.append(ListItem(e.public_id, e.title, _short(e, lang), calendar.where(e),
                              names.get(e.group_id) if e.group_id is not None else None, left))
    return items


def masked_phone(e164: str | None) -> str:
    """The number as typed back to its owner, all but the last three digits hidden: '07••• •••456'."""
    if not e164:
        return gettext("your phone")
    try:
        national = phonenumbers.format_number(phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL)
    except phonenumbers.NumberParseException:
        national = e164
    digits = [i for i, c in enumerate(national) if c.isdigit()]
    keep = set(digits[:2] + digits[-3:])
    return "".join(c if not c.isdigit() or i in keep else "•" for i, c in enumerate(national))
