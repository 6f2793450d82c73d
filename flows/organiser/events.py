"""Event operations every front calls: creating, editing and cancelling an event, the limits on
what it may say, its public id, publishing it and announcing it to its group's supporters and
linked chats, once each. Each checks the organiser's scope and records itself in the audit log.

An organiser of local groups manages only those groups' events; admins, national organisers and
the command line manage any, national events among them.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Reply
from flows.organiser import audit
from flows.organiser.access import Actor, allowed
from flows.organiser.errors import EventError, ScopeError
from flows.supporter import events as ev
from storage import events as store
from storage import groups, outbox
from storage.db import Tx, ts
from storage.events import Event

DEFAULT_LENGTH = timedelta(hours=2)
MAX_TITLE = 120
MAX_VENUE = 200
MAX_DETAILS = 1000  # description, instructions: event pages go out by SMS too (1,600 characters in all)
MAX_CAPACITY = 100_000
_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
_LIMITS = {"title": MAX_TITLE, "venue": MAX_VENUE, "description": MAX_DETAILS, "instructions": MAX_DETAILS}


def new_public_id() -> str:
    """A short unguessable id for public links (no look-alike characters)."""
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(10))


def check_access(actor: Actor, event: Event) -> None:
    """May this actor manage this event (its group's, or a national one)? ScopeError if not."""
    if not actor.trusted and not allowed(list(actor.roles), event.group_id):
        raise ScopeError(f"Event {event.id} belongs to another local group.")


def check(field: str, value: Any, now: datetime) -> Any:
    """One field's value as an event may hold it (a title trimmed), or EventError saying what to change.

    The rules every front applies, step by step in the chat or all at once on the command line:
    a title, 1 to MAX_TITLE characters; a venue up to MAX_VENUE, refused rather than cut (a shortened
    address could send people to the wrong place); a description and instructions up to MAX_DETAILS;
    an online link that is a web address; a capacity from 1 to MAX_CAPACITY, or None for no limit;
    a start still to come.
    """
    if field == "title":
        value = (value or "").strip()
        if not value:
            raise EventError("give the event a name", field)
    if field in _LIMITS and value and len(value) > _LIMITS[field]:
        raise EventError(f"at most {_LIMITS[field]:,} characters (this one has {len(value):,})", field)
    if field == "online_url" and value is not None:
        value = value.strip()
        if not _URL.match(value):
            raise EventError("give a web address starting https:// (or http://)", field)
    if field == "capacity" and value is not None and not (
            isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_CAPACITY):
        raise EventError(f"a whole number from 1 to {MAX_CAPACITY:,}, or none for no limit", field)
    if field == "starts_at" and value <= now:
        raise EventError("that time has already passed: give a start still to come", field)
    return value


def _check_group(actor: Actor, group_id: int | None) -> None:
    """May this actor put an event in this group (None: national)? ScopeError if not."""
    if actor.trusted or allowed(list(actor.roles), group_id):
        return
    if group_id is None:
        raise ScopeError("Only admins and national organisers can create national events.")
    raise ScopeError("You can only create events for your own local groups.")


async def _known_group(tx: Tx, group_id: int | None) -> None:
    if group_id is not None and await groups.get(tx, group_id) is None:
        raise EventError(f"no local group #{group_id}", "group_id")


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
        raise EventError(f"not event fields: {', '.join(sorted(unknown))}")
    if status not in ("draft", "confirmed"):
        raise EventError("a new event is a draft or published", "status")
    title = check("title", title, now)
    starts_at = check("starts_at", starts_at, now)
    details = {name: check(name, value, now) for name, value in details.items()}
    ends_at = starts_at + DEFAULT_LENGTH if ends_at is None else ends_at
    if ends_at <= starts_at:
        raise EventError("the end must come after the start", "ends_at")
    await _known_group(tx, group_id)
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


async def edit(tx: Tx, actor: Actor, event: Event, now: datetime, *, settings: FlowSettings,
               **changes: Any) -> Edited:
    """Change an event's fields (datetimes for starts_at and ends_at; capacity None for no limit).

    A new start without a new end keeps the event's length. A move (time or place) is told to
    everyone who RSVPed by the due-work; a published event's free places are filled from its
    waitlist at once (`settings` words the confirmations). Moving it to another group needs the
    organiser's reach there too.
    """
    check_access(actor, event)
    unknown = set(changes) - store.EDITABLE
    if unknown:
        raise EventError(f"not editable: {', '.join(sorted(unknown))}")
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
        raise EventError("the end must come after the start", "ends_at")
    changed = tuple(sorted(name for name, value in changes.items()
                           if getattr(event, name) != (ts(value) if isinstance(value, datetime) else value)))
    moved = await store.update(tx, event, now, **changes)
    promoted = await ev.promote(tx, event, now, settings) if event.status == "confirmed" else []
    detail = f"changed {', '.join(changed)}" if changed else "nothing changed"
    if moved:
        detail += "; RSVPs will be told"
    if promoted:
        detail += f"; {len(promoted)} moved up from the waitlist"
    audit.note(tx, actor, now, "event.edit", target=f"event:{event.id}", detail=detail)
    return Edited(changed, moved, tuple(promoted))


async def cancel(tx: Tx, actor: Actor, event: Event, now: datetime) -> None:
    """Cancel an event; the due-work tells everyone going, maybe or waitlisted, once."""
    check_access(actor, event)
    if event.status == "cancelled":
        raise EventError(f"event #{event.id} is already cancelled")
    was = event.status
    await store.set_status(tx, event, "cancelled", now)
    audit.note(tx, actor, now, "event.cancel", target=f"event:{event.id}", detail=f"was {was}")


async def publish(tx: Tx, actor: Actor, event: Event, now: datetime) -> None:
    check_access(actor, event)
    if event.status == "cancelled":
        raise ValueError("a cancelled event cannot be published again")
    was = event.status
    await store.set_status(tx, event, "confirmed", now)
    audit.note(tx, actor, now, "event.publish", target=f"event:{event.id}", detail=f"was {was}")


async def audience_size(tx: Tx, event: Event) -> tuple[int, int]:
    """(supporters, Telegram group chats) an announcement would reach."""
    people = [p for p in await store.audience(tx, event.group_id) if ev.reach(p)]
    return len(people), len(await store.group_chats(tx, event.group_id))


async def announce(tx: Tx, actor: Actor, event: Event, now: datetime, settings: FlowSettings) -> tuple[int, int]:
    """Queue the announcement to the group's supporters and linked chats, once each; returns the counts."""
    check_access(actor, event)
    if event.status != "confirmed":
        raise ValueError("only a published event can be announced")
    people = chats = 0
    for person in await store.audience(tx, event.group_id):
        target = ev.reach(person)
        if target is None:
            continue
        lang = person.language
        reply = Reply(
            t("events.announce", lang, title=event.title, when=ev.when(event), place=ev.place(event, lang)),
            tuple(ev.rsvp_choices(event, lang)),
        )
        ev.tell(tx, person.supporter_id, target, reply, now, priority=outbox.BULK,
                dedupe_key=f"announce:{event.id}:{person.supporter_id}", settings=settings)
        people += 1
    for chat_id in await store.group_chats(tx, event.group_id):
        text = t("events.announce_chat", title=event.title, when=ev.when(event), place=ev.place(event),
                 bot=settings.telegram_bot_username)
        outbox.enqueue(
            tx, "telegram", str(chat_id), Reply(text).to_payload(), now, priority=outbox.BULK,
            dedupe_key=f"announce:{event.id}:chat:{chat_id}",
        )
        chats += 1
    store.mark_announced(tx, event, now)
    audit.note(tx, actor, now, "event.announce", target=f"event:{event.id}",
               detail=f"{people} supporters and {chats} group chats")
    return people, chats
