"""Shared set-up for the event tests: events, opted-in supporters, organisers, running due-work."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flows.core.settings import FlowSettings
from flows.due import event_notices
from storage import consent, groups, organisers, supporters
from storage import events as store
from storage.events import Event
from tests.harness import Harness

# The FakeClock starts on Monday 2 November 2026, 12:00 UTC (GMT, so also 12:00 in London).
SAT_7PM = datetime(2026, 11, 7, 19, 0, tzinfo=UTC)
_n = 0


async def make_event(h: Harness, title: str = "Housing rally", starts: datetime = SAT_7PM, **details: Any) -> Event:
    global _n
    _n += 1
    details.setdefault("status", "confirmed")
    details.setdefault("venue", "Friends Meeting House")
    hours = details.pop("hours", 2)
    async with h.db.transaction() as tx:
        return await store.create(
            tx, public_id=f"pub{_n:04d}abc", title=title, starts_at=starts,
            ends_at=starts + timedelta(hours=hours), now=h.clock.now(), **details,
        )


async def supporter(h: Harness, channel: str, address: str, *, opted_in: bool = True,
                    group_id: int | None = None, name: str | None = None) -> supporters.Supporter:
    async with h.db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, channel, [address], h.clock.now()))[address]
        changes: dict[str, Any] = {"status": "active"}
        if group_id is not None:
            changes["group_id"] = group_id
        if name:
            changes["first_name"] = name
        supporters.update(tx, person, **changes)
        if opted_in:
            consent.record(tx, person, channel, "opt_in", "flow", h.clock.now(), "test-v1")
    return person


async def group(h: Harness, name: str, areas: list[str]) -> groups.Group:
    async with h.db.transaction() as tx:
        return await groups.add(tx, name, areas, h.clock.now())


async def organiser(h: Harness, role: str = "admin", *, phone: str | None = None,
                    telegram_id: int | None = None, group_id: int | None = None) -> organisers.Role:
    async with h.db.transaction() as tx:
        return await organisers.add(tx, role, h.clock.now(), phone=phone, telegram_id=telegram_id, group_id=group_id)


async def due(h: Harness, settings: FlowSettings | None = None) -> int:
    """Run the event due-work at the harness clock's time, then deliver."""
    async with h.db.transaction() as tx:
        queued = await event_notices.run(tx, h.clock.now(), settings or FlowSettings())
    await h.deliver()
    return queued


async def rsvp_of(h: Harness, event_id: int, person_id: int) -> store.Rsvp | None:
    async with h.db.transaction() as tx:
        return await store.rsvp(tx, event_id, person_id)


async def edit(h: Harness, event_id: int, **changes: Any) -> bool:
    async with h.db.transaction() as tx:
        event = await store.get(tx, event_id)
        return await store.update(tx, event, h.clock.now(), **changes)
