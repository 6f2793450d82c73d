"""Events for supporters: EVENTS, MYEVENTS, RSVP by one reply, the waitlist and "did you make it?".

Choice keys name their own handler, so they work wherever the button was pressed
(the list, a reminder, an announcement): event:<id> shows one event,
rsvp:<id>:g|m|d|w|n answers it (going, maybe, can't go, join the waitlist, no thanks),
attend:<id>:y|n answers the attendance question.
"""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from flows.core.context import Context
from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Choice, Document, Reply
from flows.values import calendar, dates
from flows.values.quiet_hours import QuietHours
from storage import conversations, outbox, supporters, web_signups
from storage import events as store
from storage.db import Tx, ts
from storage.events import Event

log = logging.getLogger(__name__)

LIST_SIZE = 5
LABEL_CHARS = 40
CODES = {"g": "going", "m": "maybe", "d": "declined", "w": "waitlisted"}


# -- shared by the event modules ------------------------------------------------------
def when(event: Event, lang: str = "en") -> str:
    return dates.full(event.start, event.timezone, lang)


def place(event: Event, lang: str = "en") -> str:
    return calendar.where(event) or t("events.place_unknown", lang)


def label(event: Event, lang: str = "en") -> str:
    title = event.title if len(event.title) <= LABEL_CHARS else event.title[: LABEL_CHARS - 1] + "…"
    return f"{dates.short(event.start, event.timezone, lang)} · {title}"


def rsvp_choices(event: Event, lang: str = "en") -> list[Choice]:
    return [
        Choice(f"rsvp:{event.id}:g", t("events.going_button", lang)),
        Choice(f"rsvp:{event.id}:m", t("events.maybe_button", lang)),
        Choice(f"rsvp:{event.id}:d", t("events.cant_button", lang)),
    ]


def reach(person: Any, preferred: str | None = None, permitted: str | None = None) -> tuple[str, str] | None:
    """The channel and address to tell someone on: one they are opted in on, theirs first.

    For an event's own messages only, `permitted` (or a Recipient's own `permitted`) is a channel on
    which they allowed that event's messages without campaign consent: an RSVP from the event's web
    page (storage.web_signups). Broadcasts and announcements never pass it.
    """
    permitted = permitted or getattr(person, "permitted", None)
    for channel in (preferred, getattr(person, "last_channel", None), "telegram", "sms"):
        if (channel == "telegram" and person.telegram_id
                and (person.telegram_consent == "opted_in" or permitted == "telegram")):
            return channel, str(person.telegram_id)
        if (channel == "sms" and (person.sms_consent == "opted_in" or permitted == "sms") and person.phone
                and not person.sms_undeliverable):
            return channel, person.phone
    return None


def tell(
    tx: Tx, supporter_id: int, target: tuple[str, str], reply: Reply, now: datetime, *,
    priority: int = outbox.NOTICE, dedupe_key: str | None = None, settings: FlowSettings | None = None,
) -> None:
    """Queue a message outside the supporter's own conversation; on SMS a number then answers its choices.

    With `settings`, an SMS waits for the end of SMS quiet hours (for what can wait till morning).
    """
    not_before = None
    if settings is not None and target[0] == "sms":
        not_before = QuietHours.parse(settings.sms_quiet_hours, settings.timezone).opens(now)
    outbox.enqueue(
        tx, target[0], target[1], reply.to_payload(), now, supporter_id=supporter_id, priority=priority,
        dedupe_key=dedupe_key, not_before=not_before,
    )
    if reply.choices and target[0] == "sms":
        conversations.offer(tx, supporter_id, "sms", [c.key for c in reply.choices], now)


def confirmation(event: Event, channel: str, settings: FlowSettings, now: datetime, lang: str, key: str) -> Reply:
    """'You're going' with the instructions, and the calendar: a file on Telegram, a link elsewhere."""
    parts = [t(key, lang, title=event.title, when=when(event, lang), place=place(event, lang))]
    if event.instructions:
        parts.append(event.instructions)
    document = None
    if channel == "telegram":
        document = Document(calendar.filename(event), calendar.ics(event, now, settings.movement), "text/calendar")
        parts.append(t("events.calendar_attached", lang))
    elif (url := calendar.link(settings.public_url, event)):
        parts.append(t("events.calendar_link", lang, url=url))
    parts.append(t("events.change_hint", lang))
    return Reply("\n".join(parts), document=document, lang=lang)


async def promote(tx: Tx, event: Event, now: datetime, settings: FlowSettings) -> list[int]:
    """Fill free places from the waitlist, first come first served; each promoted person is told."""
    promoted: list[int] = []
    while event.capacity is None or await store.count_going(tx, event.id) < event.capacity:
        first = await store.first_waitlisted(tx, event.id)
        if first is None:
            break
        await store.set_rsvp(tx, event.id, first.supporter_id, "going", None, now)
        promoted.append(first.supporter_id)
        person = await supporters.get(tx, first.supporter_id)
        allowed = await web_signups.permitted(tx, event.id, first.supporter_id)
        target = reach(person, first.channel, allowed) if person and person.status != "erased" else None
        if person is None or target is None:
            continue
        reply = confirmation(event, target[0], settings, now, person.language, "events.promoted")
        tell(tx, person.id, target, reply, now, dedupe_key=f"promote:{event.id}:{person.id}:{ts(now)}")
    return promoted


# -- the supporter's side -------------------------------------------------------------
def _key_parts(ctx: Context) -> list[str]:
    return (ctx.choice or "").split(":")


async def _event(ctx: Context, raw: str) -> Event | None:
    """A confirmed, not yet finished event, or None after saying it has gone."""
    event = await store.get(ctx.tx, int(raw)) if raw.isdigit() else None
    if event is None or event.status == "draft":
        ctx.say("events.gone")
        return None
    if event.status == "cancelled":
        ctx.say("events.cancelled_already", title=event.title)
        return None
    if event.start <= ctx.now:
        ctx.say("events.started", title=event.title)
        return None
    return event


async def list_upcoming(ctx: Context) -> None:
    """EVENTS: the next events, own local group first, then national."""
    found = await store.upcoming(ctx.tx, ctx.now, ctx.supporter.group_id, LIST_SIZE)
    if not found:
        ctx.say("events.none")
        return
    ctx.reply(ctx.t("events.list"), [Choice(f"event:{e.id}", label(e, ctx.supporter.language)) for e in found])


async def show(ctx: Context) -> None:
    """event:<id> — the details, with Going / Maybe / Can't go (Join the waitlist / Maybe / Can't go when full)."""
    parts = _key_parts(ctx)
    event = await _event(ctx, parts[1] if len(parts) > 1 else "")
    if event is None:
        return
    await _details(ctx, event)


async def from_page(ctx: Context, public_id: str) -> None:
    """/start e_<public id>: the RSVP button of the event's web page, opened in Telegram. Opening the
    bot from an event's page allows that event's own messages here (its reminders and changes), as
    an RSVP on the page does; campaign messages still need their own yes."""
    found = await store.by_public_id(ctx.tx, public_id)
    event = await _event(ctx, str(found.id) if found else "")
    if event is None:
        return
    if ctx.channel == "telegram":
        web_signups.permit(ctx.tx, event.id, ctx.supporter.id, "telegram", "web", ctx.now)
    await _details(ctx, event)


async def _details(ctx: Context, event: Event) -> None:
    lang = ctx.supporter.language
    lines = [ctx.t("events.details", title=event.title, when=when(event, lang), place=place(event, lang))]
    if event.description:
        lines.append(event.description)
    current = await store.rsvp(ctx.tx, event.id, ctx.supporter.id)
    choices = rsvp_choices(event, ctx.supporter.language)
    if event.capacity is not None and not (current and current.status == "going"):
        left = max(event.capacity - await store.count_going(ctx.tx, event.id), 0)
        waitlisted = current is not None and current.status == "waitlisted"
        if left:
            lines.append(ctx.t("events.places_left", left=left))
        elif waitlisted:  # full, and they are on the waitlist already ("Your answer so far" says so)
            choices = choices[1:]
        else:  # full: the waitlist in Going's place, not a Going that then asks about it
            lines.append(ctx.t("events.full_note"))
            choices = [Choice(f"rsvp:{event.id}:w", ctx.t("events.waitlist_button")), *choices[1:]]
    if current is not None:
        lines.append(ctx.t("events.you_said", status=ctx.t(f"events.status_{current.status}")))
    ctx.reply("\n".join(lines), choices)


async def answer(ctx: Context) -> None:
    """rsvp:<id>:<code> — one reply is an RSVP."""
    parts = _key_parts(ctx)
    if len(parts) != 3 or parts[2] not in (*CODES, "n"):
        await list_upcoming(ctx)
        return
    event = await _event(ctx, parts[1])
    if event is None:
        return
    tx, person, code = ctx.tx, ctx.supporter, parts[2]
    current = await store.rsvp(tx, event.id, person.id)
    was_going = current is not None and current.status == "going"
    if code == "n":
        ctx.say("events.no_thanks")
        return
    if code == "w" and was_going:  # an old waitlist button: they already have a place
        code = "g"
    if code in ("g", "w") and not was_going:
        full = event.capacity is not None and await store.count_going(tx, event.id) >= event.capacity
        if full and code == "g":
            ctx.reply(ctx.t("events.full", title=event.title), [
                Choice(f"rsvp:{event.id}:w", ctx.t("events.waitlist_button")),
                Choice(f"rsvp:{event.id}:n", ctx.t("events.no_thanks_button")),
            ])
            return
        if full:
            await store.set_rsvp(tx, event.id, person.id, "waitlisted", ctx.channel, ctx.now)
            ctx.say("events.waitlisted", title=event.title)
            return
        code = "g"
    status = CODES[code]
    await store.set_rsvp(tx, event.id, person.id, status, ctx.channel, ctx.now)
    if status == "going":
        ctx.replies.append(confirmation(event, ctx.channel, ctx.settings, ctx.now, person.language, "events.going"))
    elif status == "maybe":
        ctx.say("events.maybe", title=event.title, when=when(event, person.language))
    else:
        ctx.say("events.declined", title=event.title)
    if was_going and status != "going":
        await promote(tx, event, ctx.now, ctx.settings)


async def mine(ctx: Context) -> None:
    """MYEVENTS: the supporter's RSVPs, each a choice to change or cancel it."""
    found = await store.mine(ctx.tx, ctx.supporter.id, ctx.now)
    if not found:
        ctx.say("events.mine_none")
        return
    lang = ctx.supporter.language
    choices = [Choice(f"event:{e.id}", f"{label(e, lang)} ({ctx.t(f'events.status_{status}')})") for e, status in found]
    ctx.reply(ctx.t("events.mine"), choices)


async def attendance(ctx: Context) -> None:
    """attend:<id>:y|n — the answer to "Did you make it?"."""
    parts = _key_parts(ctx)
    event = await store.get(ctx.tx, int(parts[1])) if len(parts) == 3 and parts[1].isdigit() else None
    if event is None or parts[2] not in ("y", "n"):
        ctx.say("events.gone")
        return
    await store.set_attended(ctx.tx, event.id, ctx.supporter.id, parts[2] == "y", ctx.now)
    ctx.say("events.attended_yes" if parts[2] == "y" else "events.attended_no", title=event.title)
