"""What the OSDI API reads: people, events, their attendances and the people holding a tag, each a
keyset page at a time (a page starts after, or ends before, a row's sort key, never at an OFFSET,
so page 2,000 costs what page 1 does and a row added meanwhile never shifts a page).

Erased supporters are never read: every query of supporters says `status <> 'erased'`. Events are
the published ('confirmed') and cancelled ones; a draft is for its organisers only.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Row, Tx, ts

PUBLIC_EVENTS = ("confirmed", "cancelled")


@dataclass(frozen=True)
class Page:
    """Where a page starts: after this key (next) or before it (prev); neither: the first page."""
    after: tuple[Any, ...] | None = None
    before: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Person:
    id: int
    first_name: str | None
    email: str | None
    phone: str | None
    postcode: str | None
    language: str
    group_id: int | None
    group_name: str | None
    status: str
    sms_consent: str
    telegram_consent: str
    on_telegram: bool
    created_at: str
    consent_changed_at: str | None  # the latest opt-in or opt-out, if any
    last_name: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Event:
    id: int
    public_id: str
    title: str
    description: str | None
    instructions: str | None
    starts_at: str
    ends_at: str
    timezone: str
    venue: str | None
    address: str | None
    postcode: str | None
    address_public: bool
    online: bool
    capacity: int | None
    group_id: int | None
    group_name: str | None
    status: str
    created_at: str
    updated_at: str
    going: int


@dataclass(frozen=True)
class Attendance:
    event_id: int
    supporter_id: int
    status: str
    attended: int | None
    created_at: str
    updated_at: str


_PERSON = ("s.id, s.first_name, s.email, s.phone, s.postcode, s.language, s.group_id, g.name, s.status, "
           "s.sms_consent, s.telegram_consent, s.telegram_id IS NOT NULL, s.created_at, "
           "(SELECT MAX(c.at) FROM consent_log c WHERE c.supporter_id = s.id), s.last_name")
_EVENT = ("e.id, e.public_id, e.title, e.description, e.instructions, e.starts_at, e.ends_at, e.timezone, e.venue, "
          "e.address, e.postcode, e.address_public, e.online_url IS NOT NULL, e.capacity, e.group_id, g.name, "
          "e.status, e.created_at, e.updated_at, "
          "(SELECT COUNT(*) FROM rsvps r WHERE r.event_id = e.id AND r.status = 'going')")


def _keyset(page: Page, columns: Sequence[str]) -> tuple[str, list[Any], str]:
    """The condition and order of a page along `columns` (ascending), and whether it reads backwards."""
    key = f"({', '.join(columns)})" if len(columns) > 1 else columns[0]
    marks = f"({', '.join('?' for _ in columns)})" if len(columns) > 1 else "?"
    if page.before is not None:
        return f"{key} < {marks}", list(page.before), ", ".join(f"{c} DESC" for c in columns)
    if page.after is not None:
        return f"{key} > {marks}", list(page.after), ", ".join(f"{c} ASC" for c in columns)
    return "1 = 1", [], ", ".join(f"{c} ASC" for c in columns)


def _in_order(page: Page, rows: list[Row]) -> list[Row]:
    return rows[::-1] if page.before is not None else rows


# -- people --------------------------------------------------------------------------------------
async def _with_tags(tx: Tx, rows: list[Row]) -> list[Person]:
    ids = [r[0] for r in rows]
    held: dict[int, list[str]] = {}
    if ids:
        for sid, interest in await tx.query(
                f"SELECT supporter_id, interest FROM supporter_interests WHERE supporter_id IN "
                f"({', '.join('?' for _ in ids)}) ORDER BY interest", ids):
            held.setdefault(sid, []).append(interest)
    return [Person(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], bool(r[11]), r[12], r[13],
                   r[14], tuple(held.get(r[0], ()))) for r in rows]


async def people(tx: Tx, page: Page, limit: int) -> list[Person]:
    """A page of supporters in the order they joined (by id), each with their interests."""
    where, params, order = _keyset(page, ["s.id"])
    rows = await tx.query(
        f"SELECT {_PERSON} FROM supporters s LEFT JOIN local_groups g ON g.id = s.group_id "
        f"WHERE s.status <> 'erased' AND {where} ORDER BY {order} LIMIT {int(limit)}", params)
    return await _with_tags(tx, _in_order(page, rows))


async def person(tx: Tx, supporter_id: int) -> Person | None:
    rows = await tx.query(
        f"SELECT {_PERSON} FROM supporters s LEFT JOIN local_groups g ON g.id = s.group_id "
        "WHERE s.status <> 'erased' AND s.id = ?", (supporter_id,))
    found = await _with_tags(tx, rows)
    return found[0] if found else None


async def count_people(tx: Tx) -> int:
    return int(await tx.scalar("SELECT COUNT(*) FROM supporters s WHERE s.status <> 'erased'"))


async def tagged(tx: Tx, interest: str, page: Page, limit: int) -> list[int]:
    """Ids of a page of supporters holding an interest, by id."""
    where, params, order = _keyset(page, ["i.supporter_id"])
    rows = await tx.query(
        "SELECT i.supporter_id FROM supporter_interests i JOIN supporters s ON s.id = i.supporter_id "
        f"WHERE i.interest = ? AND s.status <> 'erased' AND {where} ORDER BY {order} LIMIT {int(limit)}",
        [interest, *params])
    return [r[0] for r in _in_order(page, rows)]


async def count_tagged(tx: Tx, interest: str) -> int:
    return int(await tx.scalar(
        "SELECT COUNT(*) FROM supporter_interests i JOIN supporters s ON s.id = i.supporter_id "
        "WHERE i.interest = ? AND s.status <> 'erased'", (interest,)))


async def tag_counts(tx: Tx, interests: Sequence[str]) -> dict[str, int]:
    """How many supporters (not erased) hold each of these interests."""
    if not interests:
        return {}
    rows = await tx.query(
        "SELECT i.interest, COUNT(*) FROM supporter_interests i JOIN supporters s ON s.id = i.supporter_id "
        f"WHERE s.status <> 'erased' AND i.interest IN ({', '.join('?' for _ in interests)}) GROUP BY i.interest",
        list(interests))
    return {r[0]: r[1] for r in rows}


# -- events --------------------------------------------------------------------------------------
def _event(r: Row) -> Event:
    values = list(r)
    values[11], values[12] = bool(values[11]), bool(values[12])
    return Event(*values)


async def events(tx: Tx, page: Page, limit: int, ending_after: datetime | None = None) -> list[Event]:
    """A page of published and cancelled events by start time (then id); `ending_after`: only
    those still to end by then (what is on and coming up)."""
    where, params, order = _keyset(page, ["e.starts_at", "e.id"])
    since = "" if ending_after is None else "AND e.ends_at > ? "
    rows = await tx.query(
        f"SELECT {_EVENT} FROM events e LEFT JOIN local_groups g ON g.id = e.group_id "
        f"WHERE e.status IN ('confirmed', 'cancelled') {since}AND {where} ORDER BY {order} LIMIT {int(limit)}",
        [*([ts(ending_after)] if ending_after else []), *params])
    return [_event(r) for r in _in_order(page, rows)]


async def event(tx: Tx, event_id: int) -> Event | None:
    row = await tx.one(
        f"SELECT {_EVENT} FROM events e LEFT JOIN local_groups g ON g.id = e.group_id "
        "WHERE e.status IN ('confirmed', 'cancelled') AND e.id = ?", (event_id,))
    return _event(row) if row else None


async def count_events(tx: Tx, ending_after: datetime | None = None) -> int:
    since = "" if ending_after is None else " AND ends_at > ?"
    return int(await tx.scalar(f"SELECT COUNT(*) FROM events WHERE status IN ('confirmed', 'cancelled'){since}",
                               [ts(ending_after)] if ending_after else []))


# -- attendances ---------------------------------------------------------------------------------
_ATTENDANCE = "r.event_id, r.supporter_id, r.status, r.attended, r.created_at, r.updated_at"


async def attendances(tx: Tx, event_id: int, page: Page, limit: int) -> list[Attendance]:
    """A page of an event's RSVPs (any answer), by supporter id; erased supporters' are left out."""
    where, params, order = _keyset(page, ["r.supporter_id"])
    rows = await tx.query(
        f"SELECT {_ATTENDANCE} FROM rsvps r JOIN supporters s ON s.id = r.supporter_id "
        f"WHERE r.event_id = ? AND s.status <> 'erased' AND {where} ORDER BY {order} LIMIT {int(limit)}",
        [event_id, *params])
    return [Attendance(*r) for r in _in_order(page, rows)]


async def attendance(tx: Tx, event_id: int, supporter_id: int) -> Attendance | None:
    row = await tx.one(
        f"SELECT {_ATTENDANCE} FROM rsvps r JOIN supporters s ON s.id = r.supporter_id "
        "WHERE r.event_id = ? AND r.supporter_id = ? AND s.status <> 'erased'", (event_id, supporter_id))
    return Attendance(*row) if row else None


async def count_attendances(tx: Tx, event_id: int) -> int:
    return int(await tx.scalar(
        "SELECT COUNT(*) FROM rsvps r JOIN supporters s ON s.id = r.supporter_id "
        "WHERE r.event_id = ? AND s.status <> 'erased'", (event_id,)))
