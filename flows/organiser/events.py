"""Event operations every front calls: creating, editing and cancelling an event, the limits on
what it may say, its public id, publishing it, previewing and sending its announcement to its
group's supporters and linked chats (once each), its attendees and their attendance. Each checks
the organiser's scope and records itself in the audit log.

An organiser of local groups manages only those groups' events; admins, national organisers and
the command line manage any, national events among them.

Rules every front shares (the chat, the command line and the web console ask these functions):
an event needs a place (a venue, an address, a postcode or an online link); a capacity cut below
the people already going is a question (CapacityQuestion), answered by keeping them all or by
moving the most recent ones to the top of the waitlist; attendance is marked from an hour before
the start (people arrive early at the door), never before.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, plural, t
from flows.core.types import Reply
from flows.organiser import audit, people
from flows.organiser.access import Actor, allowed
from flows.organiser.errors import EventError, ScopeError, UnknownSupporter
from flows.supporter import events as ev
from flows.values.quiet_hours import QuietHours
from storage import events as store
from storage import groups, outbox, supporters
from storage import people as people_store
from storage.db import Row, Tx, ts
from storage.events import Event

# The words every front uses: an event is "published" (stored as 'confirmed'); an RSVP "can't go"
# (stored as 'declined').
STATUS_WORDS = {"draft": "draft", "confirmed": "published", "cancelled": "cancelled"}
RSVP_WORDS = {"going": "going", "maybe": "maybe", "declined": "can't go", "waitlisted": "waitlist"}

DEFAULT_LENGTH = timedelta(hours=2)
MAX_TITLE = 120
MAX_VENUE = 200
MAX_DETAILS = 1000  # description, instructions: event pages go out by SMS too (1,600 characters in all)
MAX_CAPACITY = 100_000
_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_LIMITS = {"title": MAX_TITLE, "venue": MAX_VENUE, "description": MAX_DETAILS, "instructions": MAX_DETAILS}
# Left blank, these hold nothing (None), whichever front sent the blank.
_OPTIONAL_TEXT = frozenset({"venue", "address", "postcode", "online_url", "description", "instructions"})
PLACE_FIELDS = ("venue", "address", "postcode", "online_url")
# What to do with people already going when the capacity is cut below them.
EXTRA_CHOICES = ("keep", "waitlist")
# Attendance opens this long before the start: people arrive early, and the door opens before the hour.
ATTENDANCE_OPENS = timedelta(hours=1)


class CapacityQuestion(EventError):
    """The new capacity is below the people already going: the organiser must say what happens to the
    extra ones (`extra` of them): keep everyone (the capacity only stops new places) or move the
    most recent to the top of the waitlist. Each front asks in its own way (an option, two buttons,
    two radio buttons) and calls edit again with `extra`."""

    def __init__(self, going: int, capacity: int) -> None:
        self.going, self.capacity, self.extra = going, capacity, going - capacity
        extra = self.extra
        super().__init__(
            "events.error_capacity_question", "capacity",
            going=lambda lang: plural("person_is", going, lang), places=lambda lang: plural("place", capacity, lang),
            extra=lambda lang: plural("person", extra, lang))


def counted(n: int, one: str, many: str | None = None) -> str:
    """'1 supporter', '2 supporters', '1 person', '3 people': how the command line (in English) tells
    a number; the chat and web consoles use texts.plural in the organiser's language."""
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def when_local(moment: datetime, tz: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Thu 3 Dec 09:00 GMT' ('Iau 3 Rhag 09:00 GMT' in Welsh): a time an organiser is told something waits for."""
    value = moment.astimezone(ZoneInfo(tz))
    if lang != DEFAULT_LANGUAGE:
        return f"{format_datetime(value, 'EEE d MMM HH:mm', locale=lang)} {value:%Z}"
    return f"{value:%a} {value.day} {value:%b %H:%M %Z}"


def new_public_id() -> str:
    """A short unguessable id for public links (no look-alike characters)."""
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(10))


def check_access(actor: Actor, event: Event) -> None:
    """May this actor manage this event (its group's, or a national one)? ScopeError if not."""
    if not actor.trusted and not allowed(list(actor.roles), event.group_id):
        raise ScopeError("events.error_not_yours", id=event.id)


def check(field: str, value: Any, now: datetime) -> Any:
    """One field's value as an event may hold it (a title trimmed), or EventError saying what to change.

    The rules every front applies, step by step in the chat or all at once on the command line:
    a title, 1 to MAX_TITLE characters; a venue up to MAX_VENUE, refused rather than cut (a shortened
    address could send people to the wrong place); a description and instructions up to MAX_DETAILS;
    an online link that is a web address; a capacity from 1 to MAX_CAPACITY, or None for no limit;
    a start still to come. A blank optional text (venue, link, …) is None.
    """
    if field in _OPTIONAL_TEXT and isinstance(value, str) and not value.strip():
        return None
    if field == "title":
        value = (value or "").strip()
        if not value:
            raise EventError("events.error_no_title", field)
    if field in _LIMITS and value and len(value) > _LIMITS[field]:
        raise EventError("events.error_too_long", field, limit=f"{_LIMITS[field]:,}", length=f"{len(value):,}")
    if field == "online_url" and value is not None:
        value = value.strip()
        if not _URL.match(value):
            raise EventError("events.error_link", field)
    if field == "capacity" and value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_CAPACITY):
        raise EventError("events.error_capacity", field, most=f"{MAX_CAPACITY:,}")
    if field == "starts_at" and value <= now:
        raise EventError("events.error_start_past", field)
    return value


def _check_group(actor: Actor, group_id: int | None) -> None:
    """May this actor put an event in this group (None: national)? ScopeError if not."""
    if actor.trusted or allowed(list(actor.roles), group_id):
        return
    if group_id is None:
        raise ScopeError("events.error_national")
    raise ScopeError("events.error_own_groups")


async def _known_group(tx: Tx, group_id: int | None) -> None:
    if group_id is not None and await groups.get(tx, group_id) is None:
        raise EventError("events.error_no_group", "group_id", id=group_id)


def check_place(values: dict[str, Any]) -> None:
    """An event needs somewhere to be: a venue, an address, a postcode or an online link."""
    if not any(isinstance(values.get(f), str) and values[f].strip() for f in PLACE_FIELDS):
        raise EventError("events.error_no_place", "venue")


def _group_label(group_id: int | None) -> str:
    return f"group {group_id}" if group_id is not None else "national"


async def create(
    tx: Tx, actor: Actor, now: datetime, *, title: str, starts_at: datetime, timezone: str,
    ends_at: datetime | None = None, group_id: int | None = None, status: str = "draft", **details: Any,
) -> Event:
    """A new event, a draft unless `status` is "confirmed" (published at once). `details` are the
    other fields an organiser sets (venue, address, postcode, address_public, online_url, capacity,
    description, instructions). It lasts DEFAULT_LENGTH unless `ends_at` says otherwise."""
    _check_group(actor, group_id)
    unknown = set(details) - (store.EDITABLE - {"title", "starts_at", "ends_at", "timezone", "group_id"})
    if unknown:
        raise EventError("events.error_not_fields", names=", ".join(sorted(unknown)))
    if status not in ("draft", "confirmed"):
        raise EventError("events.error_new_status", "status")
    title = check("title", title, now)
    starts_at = check("starts_at", starts_at, now)
    details = {name: check(name, value, now) for name, value in details.items()}
    ends_at = starts_at + DEFAULT_LENGTH if ends_at is None else ends_at
    if ends_at <= starts_at:
        raise EventError("events.error_end_before_start", "ends_at")
    await _known_group(tx, group_id)
    check_place(details)
    event = await store.create(
        tx, public_id=new_public_id(), title=title, starts_at=starts_at, ends_at=ends_at, now=now,
        timezone=timezone, status=status, created_by=actor.roles[0].id if actor.roles else None,
        group_id=group_id, **details,
    )
    audit.note(tx, actor, now, "event.create", target=f"event:{event.id}",
               detail=f"{'published' if status == 'confirmed' else 'draft'}, {_group_label(group_id)}")
    return event


@dataclass(frozen=True)
class Edited:
    """What an edit did."""
    changed: tuple[str, ...]   # the fields whose value changed, by name
    moved: bool                # its time or place changed: everyone who RSVPed will be told, once
    promoted: tuple[int, ...]  # supporters moved from the waitlist to going (a place came free)
    waitlisted: tuple[int, ...] = ()  # supporters moved from going to the top of the waitlist (told once)
    kept: int = 0              # people going beyond the new capacity, kept by the organiser's choice


async def edit(tx: Tx, actor: Actor, event: Event, now: datetime, *, settings: FlowSettings,
               extra: str | None = None, **changes: Any) -> Edited:
    """Change an event's fields (datetimes for starts_at and ends_at; capacity None for no limit).

    A new start without a new end keeps the event's length. A move (time or place) is told to
    everyone who RSVPed by the due-work; a published event's free places are filled from its
    waitlist at once (`settings` words the confirmations). Moving it to another group needs the
    organiser's reach there too. An edit that would leave it nowhere is refused (check_place).

    A capacity below the people already going raises CapacityQuestion unless `extra` answers it:
    "keep" (everyone keeps their place) or "waitlist" (the most recent extra ones go to the top of
    the waitlist, each told once in their language).
    """
    check_access(actor, event)
    unknown = set(changes) - store.EDITABLE
    if unknown:
        raise EventError("events.error_not_editable", names=", ".join(sorted(unknown)))
    if extra is not None and extra not in EXTRA_CHOICES:
        raise EventError("events.error_extra", "extra")
    if "group_id" in changes:
        _check_group(actor, changes["group_id"])
        await _known_group(tx, changes["group_id"])
    for name, value in list(changes.items()):
        if name == "starts_at" and value == event.start:
            continue  # unchanged: an event already under way can still have its title put right
        changes[name] = check(name, value, now)
    if "starts_at" in changes and "ends_at" not in changes:
        changes["ends_at"] = changes["starts_at"] + (event.end - event.start)
    if changes.get("ends_at", event.end) <= changes.get("starts_at", event.start):
        raise EventError("events.error_end_before_start", "ends_at")
    check_place({f: changes.get(f, getattr(event, f)) for f in PLACE_FIELDS})
    over = 0
    capacity = changes.get("capacity", event.capacity)
    if "capacity" in changes and capacity is not None and capacity != event.capacity and event.status != "cancelled":
        over = await store.count_going(tx, event.id) - capacity
        if over > 0 and extra is None:
            raise CapacityQuestion(over + capacity, capacity)
    changed = tuple(sorted(name for name, value in changes.items()
                           if getattr(event, name) != (ts(value) if isinstance(value, datetime) else value)))
    moved = await store.update(tx, event, now, **changes)
    waitlisted: list[int] = []
    if over > 0 and extra == "waitlist":
        waitlisted = await store.waitlist_latest(tx, event.id, over, now)
        await _tell_waitlisted(tx, event, waitlisted, now, settings)
    promoted = await ev.promote(tx, event, now, settings) if event.status == "confirmed" else []
    detail = f"changed {', '.join(changed)}" if changed else "nothing changed"
    if moved:
        detail += "; RSVPs will be told"
    if waitlisted:
        detail += f"; {len(waitlisted)} going moved to the top of the waitlist"
    elif over > 0:
        detail += f"; {over} going beyond the capacity kept"
    if promoted:
        detail += f"; {len(promoted)} moved up from the waitlist"
    audit.note(tx, actor, now, "event.edit", target=f"event:{event.id}", detail=detail)
    return Edited(changed, moved, tuple(promoted), tuple(waitlisted), over if extra == "keep" and over > 0 else 0)


async def _tell_waitlisted(tx: Tx, event: Event, moved: list[int], now: datetime, settings: FlowSettings) -> None:
    """Each person moved from going to the waitlist is told once, in their language, where they can be."""
    for supporter_id in moved:
        person = await supporters.get(tx, supporter_id)
        rsvp = await store.rsvp(tx, event.id, supporter_id)
        target = ev.reach(person, rsvp.channel if rsvp else None) if person and person.status != "erased" else None
        if person is None or target is None:
            continue
        reply = Reply(t("events.moved_to_waitlist", person.language, title=event.title,
                        when=ev.when(event, person.language)), lang=person.language)
        ev.tell(tx, person.id, target, reply, now, dedupe_key=f"unplace:{event.id}:{person.id}:{ts(now)}")


async def cancel(tx: Tx, actor: Actor, event: Event, now: datetime) -> None:
    """Cancel an event; the due-work tells everyone going, maybe or waitlisted, once."""
    check_access(actor, event)
    if event.status == "cancelled":
        raise EventError("events.error_cancelled_already", id=event.id)
    was = event.status
    await store.set_status(tx, event, "cancelled", now)
    audit.note(tx, actor, now, "event.cancel", target=f"event:{event.id}", detail=f"was {was}")


async def publish(tx: Tx, actor: Actor, event: Event, now: datetime) -> None:
    check_access(actor, event)
    if event.status == "cancelled":
        raise EventError("events.error_publish_cancelled")
    was = event.status
    await store.set_status(tx, event, "confirmed", now)
    audit.note(tx, actor, now, "event.publish", target=f"event:{event.id}", detail=f"was {was}")


@dataclass(frozen=True)
class Announcement:
    """Who an announcement tells (or told): supporters per channel, linked group chats, and when the
    SMS go (None: at once; else the end of SMS quiet hours)."""
    sms: int
    telegram: int
    chats: int
    sms_at: datetime | None
    timezone: str

    @property
    def people(self) -> int:
        return self.sms + self.telegram

    def sms_wait(self, lang: str = DEFAULT_LANGUAGE) -> str | None:
        """'SMS waits until Thu 3 Dec 09:00 GMT (quiet hours)', or None when SMS go at once."""
        if self.sms_at is None:
            return None
        return t("events.sms_waits_until", lang, time=when_local(self.sms_at, self.timezone, lang))

    def summary(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """'3 supporters (2 by SMS, 1 on Telegram) and 1 group chat', in `lang`."""
        return t("events.audience_summary", lang, supporters=plural("supporter", self.people, lang),
                 sms=f"{self.sms:,}", telegram=f"{self.telegram:,}", chats=plural("chat", self.chats, lang))


async def _audience(tx: Tx, event: Event) -> list[tuple[store.Recipient, tuple[str, str]]]:
    return [(p, target) for p in await store.audience(tx, event.group_id) if (target := ev.reach(p)) is not None]


def _sms_at(now: datetime, settings: FlowSettings, sms: int) -> datetime | None:
    opens = QuietHours.parse(settings.sms_quiet_hours, settings.timezone).opens(now)
    return opens if sms and opens > now else None


async def announce_preview(tx: Tx, actor: Actor, event: Event, now: datetime, settings: FlowSettings) -> Announcement:
    """Who announcing now would tell, per channel, and when the SMS would go (quiet hours)."""
    check_access(actor, event)
    targets = [target[0] for _, target in await _audience(tx, event)]
    sms = targets.count("sms")
    return Announcement(sms, len(targets) - sms, len(await store.group_chats(tx, event.group_id)),
                        _sms_at(now, settings, sms), settings.timezone)


async def audience_size(tx: Tx, event: Event) -> tuple[int, int]:
    """(supporters, Telegram group chats) an announcement would reach."""
    return len(await _audience(tx, event)), len(await store.group_chats(tx, event.group_id))


async def announce(tx: Tx, actor: Actor, event: Event, now: datetime, settings: FlowSettings) -> Announcement:
    """Queue the announcement to the group's supporters and linked chats, once each (SMS after
    quiet hours); says who it told."""
    check_access(actor, event)
    if event.status != "confirmed":
        raise EventError("events.error_announce_unpublished")
    if event.announced_at:
        raise EventError("events.error_announced_already", id=event.id)
    sms = telegram = chats = 0
    for person, target in await _audience(tx, event):
        lang = person.language
        reply = Reply(
            t("events.announce", lang, title=event.title, when=ev.when(event, lang), place=ev.place(event, lang)),
            tuple(ev.rsvp_choices(event, lang)), lang=lang,
        )
        ev.tell(tx, person.supporter_id, target, reply, now, priority=outbox.BULK,
                dedupe_key=f"announce:{event.id}:{person.supporter_id}", settings=settings)
        if target[0] == "sms":
            sms += 1
        else:
            telegram += 1
    for chat_id in await store.group_chats(tx, event.group_id):
        text = t("events.announce_chat", title=event.title, when=ev.when(event), place=ev.place(event),
                 bot=settings.telegram_bot_username)
        outbox.enqueue(
            tx, "telegram", str(chat_id), Reply(text).to_payload(), now, priority=outbox.BULK,
            dedupe_key=f"announce:{event.id}:chat:{chat_id}",
        )
        chats += 1
    store.mark_announced(tx, event, now)
    done = Announcement(sms, telegram, chats, _sms_at(now, settings, sms), settings.timezone)
    audit.note(tx, actor, now, "event.announce", target=f"event:{event.id}",
               detail=done.summary()
               + (f"; SMS after {ts(done.sms_at)}" if done.sms_at else ""))
    return done


# -- attendees and attendance ---------------------------------------------------------------
def attendance_opens(event: Event) -> datetime:
    return event.start - ATTENDANCE_OPENS


def may_mark_attendance(event: Event, now: datetime) -> bool:
    return event.status == "confirmed" and now >= attendance_opens(event)


def attendance_closed(event: Event, now: datetime, lang: str = DEFAULT_LANGUAGE) -> str | None:
    """Why attendance cannot be marked now (None when it can): not published, or too early."""
    why = _attendance_closed(event, now)
    return why.text(lang) if why else None


def _attendance_closed(event: Event, now: datetime) -> EventError | None:
    if event.status == "cancelled":
        return EventError("events.error_attendance_cancelled", "attended", id=event.id)
    if event.status != "confirmed":
        return EventError("events.error_attendance_unpublished", "attended", id=event.id)
    if now < attendance_opens(event):
        opens = attendance_opens(event)
        return EventError("events.error_attendance_early", "attended",
                          time=lambda lang: when_local(opens, event.timezone, lang))
    return None


@dataclass(frozen=True)
class Marked:
    supporter_id: int
    first_name: str | None
    attended: bool | None
    walk_in: bool  # they had not RSVPed: now they count as going


async def mark_attended(tx: Tx, actor: Actor, event: Event, supporter_id: int, attended: bool | None,
                        now: datetime) -> Marked:
    """Record that someone came (True), did not (False), or take the mark back (None).

    From an hour before the start only (attendance_closed says why not). Anyone who RSVPed may be
    marked; someone who did not (a walk-in) must be a supporter within the organiser's reach.
    """
    check_access(actor, event)
    closed = _attendance_closed(event, now)
    if closed:
        raise closed
    person = await supporters.get(tx, supporter_id)
    if person is None or person.status == "erased":
        raise UnknownSupporter("events.error_no_supporter", id=supporter_id)
    current = await store.rsvp(tx, event.id, supporter_id)
    limit = None if actor.trusted else actor.scope()
    if current is None and limit is not None and person.group_id not in limit:
        raise UnknownSupporter("events.error_no_supporter", id=supporter_id)
    await store.set_attended(tx, event.id, supporter_id, attended, now)
    word = {True: "attended", False: "not attended", None: "attendance unmarked"}[attended]
    walk_in = current is None and attended is not None
    audit.note(tx, actor, now, "event.attend", target=f"event:{event.id}",
               detail=f"supporter:{supporter_id} {word}" + (" (walk-in)" if walk_in else ""))
    return Marked(supporter_id, person.first_name, attended, walk_in)


def check_view(actor: Actor, event: Event) -> None:
    """May this actor see this event: one they manage, or one they created (ScopeError if not)."""
    if actor.trusted or any(r.id == event.created_by for r in actor.roles):
        return
    check_access(actor, event)


async def attendees(tx: Tx, actor: Actor, event: Event) -> list[Row]:
    """Everyone who RSVPed, going first, then the waitlist in its order, maybe, can't go."""
    check_view(actor, event)
    return await store.attendees(tx, event.id)


async def export_attendees(tx: Tx, actor: Actor, event: Event, now: datetime) -> list[Row]:
    """The attendee list with phone numbers in full, for a CSV file: audited, since it leaves Muster."""
    check_access(actor, event)
    rows = await store.attendees(tx, event.id)
    audit.note(tx, actor, now, "event.export", target=f"event:{event.id}", detail=f"{len(rows)} attendees")
    return rows


# -- what the web console lists and finds ---------------------------------------------------------
PARTS = ("upcoming", "drafts", "past")


@dataclass(frozen=True)
class Listed:
    """An event as a list shows it: its RSVP tallies (going, maybe, declined, waitlisted, attended)
    and its group's name (None: national)."""
    event: Event
    tally: dict[str, int]
    group_name: str | None


async def in_scope(tx: Tx, actor: Actor, now: datetime, part: str, limit: int = 200) -> list[Listed]:
    """One part of the events an organiser sees (PARTS): their groups' and the ones they created;
    everyone's for admins and national organisers."""
    if part not in PARTS:
        raise EventError("events.error_part", names=", ".join(PARTS))
    limit_to = None if actor.trusted else actor.scope()
    found = await store.in_scope(tx, part, now, limit_to, tuple(r.id for r in actor.roles), limit)
    tally = await store.tallies(tx, [e.id for e in found])
    names = {g.id: g.name for g in await groups.list_all(tx)}
    return [Listed(e, tally[e.id], names.get(e.group_id) if e.group_id else None) for e in found]


async def one(tx: Tx, actor: Actor, event_id: int) -> Listed:
    """One event the actor may see (LookupError when there is none, ScopeError when it is not theirs)."""
    event = await store.get(tx, event_id)
    if event is None:
        raise LookupError(f"no event #{event_id}")
    check_view(actor, event)
    tally = (await store.tallies(tx, [event.id]))[event.id]
    group = await groups.get(tx, event.group_id) if event.group_id else None
    return Listed(event, tally, group.name if group else None)


async def group_choices(tx: Tx, actor: Actor) -> list[tuple[int | None, str]]:
    """The groups an event of this actor's may belong to: their own, or every group and National."""
    limit = None if actor.trusted else actor.scope()
    found = [(g.id, g.name) for g in sorted(await groups.list_all(tx), key=lambda g: g.name.lower())
             if limit is None or g.id in limit]
    return [(None, "National"), *found] if limit is None else list(found)


async def walk_in_candidates(tx: Tx, actor: Actor, event: Event, text: str, configured: tuple[str, ...],
                             region: str = "GB", limit: int = 10) -> list[people_store.Listed]:
    """Supporters within the actor's reach matching a name or number who have not said going or
    maybe or joined the waitlist: the people at the door who are not on the list."""
    check_access(actor, event)
    if not text.strip():
        return []
    found = await people.search(tx, actor, people.Query(text=text, sort="name"), configured, region)
    listed = {r["supporter_id"]: r for r in await store.attendees(tx, event.id)}
    on_list = ("going", "maybe", "waitlisted")
    return [p for p in found.rows if p.id not in listed or listed[p.id]["status"] not in on_list][:limit]
