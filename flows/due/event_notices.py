"""Due-work for events: reminders, change and cancellation notices, and the attendance question.

Each function reads the database and queues whatever is due now; the scheduler's sweep
calls `run()`, so a restart or a missed wake-up loses nothing. Every message carries an
outbox dedupe key, so it goes once however often the sweep runs:

- remind:<event>:<supporter>:<kind>:<local start date> — once per kind per event date. A
  move to another date makes the reminders due again for the new date; a move within the
  day, or of the place only, does not (the change notice already told them).
- change:<event>:<version>:<supporter> — once per move; cancel:<event>:<supporter> once.
- attend:<event>:<supporter> — once.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Choice, Reply
from flows.supporter import events as ev
from storage import events as store
from storage.db import Tx
from storage.events import Event, Recipient

log = logging.getLogger(__name__)

ATTENDANCE_AFTER = timedelta(hours=1)
# Past this, a missed attendance question is no longer worth asking.
ATTENDANCE_WINDOW = timedelta(days=2)

_DAY = re.compile(r"^(?:(\d+)d|day)-before@(\d{1,2}):(\d{2})$")
_OFFSET = re.compile(r"^(\d+)(m|h|d)$")


@dataclass(frozen=True)
class ReminderKind:
    """'day-before@10:00' (a local time N days before) or '2h' (an offset before the start)."""
    name: str
    days_before: int = 0
    at: time | None = None
    offset: timedelta | None = None

    def due(self, event: Event) -> datetime:
        if self.offset is not None:
            return event.start - self.offset
        zone = ZoneInfo(event.timezone)
        day = event.start.astimezone(zone).date() - timedelta(days=self.days_before)
        assert self.at is not None  # a reminder is either an offset or a day and a time
        return datetime.combine(day, self.at, tzinfo=zone)

    @property
    def lead(self) -> timedelta:
        """The furthest ahead of the start this can fall."""
        return self.offset if self.offset is not None else timedelta(days=self.days_before + 1)


def reminder_kinds(spec: str) -> list[ReminderKind]:
    """Parse EVENT_REMINDERS ('day-before@10:00,2h'); ValueError naming the bad part."""
    kinds = []
    for part in (p.strip().lower() for p in spec.split(",") if p.strip()):
        if (m := _DAY.match(part)):
            hour, minute = int(m[2]), int(m[3])
            if hour > 23 or minute > 59:
                raise ValueError(f"{part!r}: the time must be HH:MM, e.g. day-before@10:00")
            kinds.append(ReminderKind(part, days_before=int(m[1] or 1), at=time(hour, minute)))
        elif (m := _OFFSET.match(part)) and int(m[1]) > 0:
            unit = {"m": "minutes", "h": "hours", "d": "days"}[m[2]]
            kinds.append(ReminderKind(part, offset=timedelta(**{unit: int(m[1])})))
        else:
            raise ValueError(f"{part!r}: expected e.g. day-before@10:00, 2d-before@18:00, 2h or 30m")
    if len({k.name for k in kinds}) != len(kinds):
        raise ValueError("a reminder is listed twice")
    return kinds


def _send(tx: Tx, person: Recipient, reply: Reply, now: datetime, key: str,
          quiet: FlowSettings | None = None) -> bool:
    target = ev.reach(person, person.rsvp_channel)
    if target is None:
        return False
    ev.tell(tx, person.supporter_id, target, reply, now, dedupe_key=key, settings=quiet)
    return True


async def reminders(tx: Tx, now: datetime, settings: FlowSettings) -> int:
    """For each event not yet started, the latest reminder kind already due, to going and maybe."""
    kinds = reminder_kinds(settings.event_reminders)
    if not kinds:
        return 0
    horizon = max(k.lead for k in kinds)
    sent = 0
    for event in await store.starting_between(tx, now, now + horizon):
        due = [(k.due(event), k) for k in kinds if k.due(event) <= now]
        if not due:
            continue
        # After downtime several may be due: only the latest is still worth sending.
        at, kind = max(due, key=lambda d: d[0])
        day = event.start.astimezone(ZoneInfo(event.timezone)).date().isoformat()
        suffix = f":{kind.name}:{day}"
        for person in await store.pending(tx, event.id, ("going", "maybe"), f"remind:{event.id}:", suffix, at):
            reply = Reply(
                t("events.reminder", person.language, title=event.title, when=ev.when(event, person.language),
                  place=ev.place(event, person.language)),
                tuple(ev.rsvp_choices(event, person.language)), lang=person.language,
            )
            sent += _send(tx, person, reply, now, f"remind:{event.id}:{person.supporter_id}{suffix}")
    return sent


async def changes(tx: Tx, now: datetime, settings: FlowSettings) -> int:
    """Tell going, maybe and waitlisted people about a move or a cancellation, once each."""
    sent = 0
    for event in await store.moved_unnoticed(tx, now):
        prefix = f"change:{event.id}:{event.version}:"
        for person in await store.pending(tx, event.id, ("going", "maybe", "waitlisted"), prefix):
            reply = Reply(
                t("events.changed", person.language, title=event.title, when=ev.when(event, person.language),
                  place=ev.place(event, person.language)),
                tuple(ev.rsvp_choices(event, person.language)), lang=person.language,
            )
            sent += _send(tx, person, reply, now, f"{prefix}{person.supporter_id}")
        store.mark_noticed(tx, event)
    for event in await store.cancelled_unnoticed(tx, now):
        prefix = f"cancel:{event.id}:"
        for person in await store.pending(tx, event.id, ("going", "maybe", "waitlisted"), prefix):
            reply = Reply(t("events.cancelled", person.language, title=event.title,
                            when=ev.when(event, person.language)), lang=person.language)
            sent += _send(tx, person, reply, now, f"{prefix}{person.supporter_id}")
        store.mark_noticed(tx, event)
    return sent


async def attendance(tx: Tx, now: datetime, settings: FlowSettings) -> int:
    """An hour after the end, ask those who were going whether they made it."""
    sent = 0
    latest = now - ATTENDANCE_AFTER
    for event in await store.ending_between(tx, latest - ATTENDANCE_WINDOW, latest):
        prefix = f"attend:{event.id}:"
        for person in await store.pending(tx, event.id, ("going",), prefix, unmarked_only=True):
            reply = Reply(t("events.did_you_make_it", person.language, title=event.title), (
                Choice(f"attend:{event.id}:y", t("events.attended_yes_button", person.language)),
                Choice(f"attend:{event.id}:n", t("events.attended_no_button", person.language)),
            ), lang=person.language)
            # It can wait for the morning: SMS quiet hours apply (reminders and notices can't wait).
            sent += _send(tx, person, reply, now, f"{prefix}{person.supporter_id}", quiet=settings)
    return sent


async def run(tx: Tx, now: datetime, settings: FlowSettings) -> int:
    """Everything due for events now; returns how many messages were queued."""
    total = await changes(tx, now, settings)
    total += await reminders(tx, now, settings)
    total += await attendance(tx, now, settings)
    if total:
        log.info("queued %d event notices", total)
    return total
