"""What an organiser sees first: their supporters, sign-ups by day, upcoming events, recent broadcasts."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.organiser import inbox
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from storage import broadcasts as broadcast_store
from storage import events as event_store
from storage import overview as store
from storage.broadcasts import Broadcast
from storage.db import Tx
from storage.events import Event

DAYS = 90


@dataclass(frozen=True)
class Sent:
    broadcast: Broadcast
    counts: dict[str, int]

    @property
    def delivered_share(self) -> float | None:
        """Sent (or delivered) of those that are finished, 0–1; None before any is finished."""
        done = sum(n for status, n in self.counts.items() if status not in ("queued", "sending"))
        return None if not done else self.counts.get("sent", 0) / done


@dataclass(frozen=True)
class Overview:
    counts: dict[str, int]
    signups: list[tuple[str, int]]  # (day, count) for each of the last DAYS days, oldest first
    events: list[Event]
    broadcasts: list[Sent]
    inbox_open: int = 0  # supporters' messages in the organiser's inbox waiting for an answer


async def build(tx: Tx, actor: Actor, now: datetime) -> Overview:
    scope = actor.scope()
    first = (now - timedelta(days=DAYS - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    by_day = await store.signups_by_day(tx, scope, first)
    days = [(first + timedelta(days=i)).strftime("%Y-%m-%d") for i in range(DAYS)]
    events = await event_store.listing(tx, now, list(scope) if scope is not None else None, None, limit=5)
    recent = await broadcast_store.recent(tx, limit=5, groups=scope)
    return Overview(
        counts=await store.supporter_counts(tx, scope),
        signups=[(day, by_day.get(day, 0)) for day in days],
        events=[e for e in events if e.status == "confirmed"],
        broadcasts=[Sent(b, await broadcast_store.delivery_counts(tx, b.id)) for b in recent],
        inbox_open=await _inbox_open(tx, actor),
    )


async def _inbox_open(tx: Tx, actor: Actor) -> int:
    try:
        return await inbox.open_count(tx, actor)
    except ScopeError:  # no inbox for this actor: nothing waits for them
        return 0
