"""Event operations every front calls: the limits on what an event may say, its public id,
publishing it and announcing it to its group's supporters and linked chats, once each."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Reply
from flows.organiser import audit
from flows.organiser.access import Actor, allowed
from flows.organiser.errors import ScopeError
from flows.supporter import events as ev
from storage import events as store
from storage import outbox
from storage.db import Tx
from storage.events import Event

DEFAULT_LENGTH = timedelta(hours=2)
MAX_TITLE = 120
MAX_VENUE = 200
MAX_DETAILS = 1000  # description, instructions: event pages go out by SMS too (1,600 characters in all)
_PUBLIC_ID_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_public_id() -> str:
    """A short unguessable id for public links (no look-alike characters)."""
    return "".join(secrets.choice(_PUBLIC_ID_ALPHABET) for _ in range(10))


def check_access(actor: Actor, event: Event) -> None:
    """May this actor manage this event (its group's, or a national one)? ScopeError if not."""
    if not actor.trusted and not allowed(list(actor.roles), event.group_id):
        raise ScopeError(f"Event {event.id} belongs to another local group.")


async def publish(tx: Tx, actor: Actor, event: Event, now: datetime) -> None:
    check_access(actor, event)
    if event.status == "cancelled":
        raise ValueError("a cancelled event cannot be published again")
    await store.set_status(tx, event, "confirmed", now)
    audit.note(tx, actor, now, "event.publish", target=f"event:{event.id}", detail=f"was {event.status}")


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
