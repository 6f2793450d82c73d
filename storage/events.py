"""Events and RSVPs: what is on, who is coming, and who has been told what."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from storage.db import Row, Tx, parse_ts, ts
from storage.supporters import Reachable
from storage.web_signups import permitted_sql

STATUSES = ("draft", "confirmed", "cancelled")
RSVP_STATUSES = ("going", "maybe", "declined", "waitlisted")
EDITABLE = frozenset({
    "title", "description", "instructions", "starts_at", "ends_at", "timezone", "venue", "address",
    "postcode", "address_public", "online_url", "capacity", "group_id",
})
# A change to any of these is a move: the version goes up and people are told.
MOVES = frozenset({"starts_at", "ends_at", "timezone", "venue", "address", "postcode", "online_url"})


@dataclass
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
    address_public: int
    online_url: str | None
    capacity: int | None
    group_id: int | None
    status: str
    created_by: int | None
    created_at: str
    updated_at: str
    version: int
    noticed_version: int
    cancel_noticed: int
    announced_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Event:
        return cls(*[row[name] for name in _FIELDS])

    @property
    def start(self) -> datetime:
        return parse_ts(self.starts_at)

    @property
    def end(self) -> datetime:
        return parse_ts(self.ends_at)


@dataclass(frozen=True)
class Rsvp:
    event_id: int
    supporter_id: int
    status: str
    attended: int | None
    channel: str | None
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class Recipient(Reachable):
    """A supporter to be told something about an event, with what is needed to reach them."""
    rsvp_channel: str | None
    rsvp_status: str | None
    # A channel they allowed this event's own messages on without campaign consent (web RSVP).
    permitted: str | None = None


_FIELDS = tuple(f.name for f in fields(Event))  # what from_row reads, by name, in order
_COLUMNS = ", ".join(f.name for f in fields(Event))
_E_COLUMNS = ", ".join(f"e.{f.name}" for f in fields(Event))
_RSVP_COLUMNS = "event_id, supporter_id, status, attended, channel, created_at, updated_at"
_RECIPIENT = (
    "s.id, s.phone, s.telegram_id, s.sms_consent, s.telegram_consent, s.sms_undeliverable, s.language, "
    "s.last_channel"
)


def _recipient(r: Row, with_rsvp: bool = True) -> Recipient:
    return Recipient(
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7],
        r[8] if with_rsvp else None, r[9] if with_rsvp else None, r[10] if with_rsvp and len(r) > 10 else None,
    )


# -- events ---------------------------------------------------------------------------
async def create(
    tx: Tx, *, public_id: str, title: str, starts_at: datetime, ends_at: datetime, now: datetime,
    timezone: str = "Europe/London", status: str = "draft", created_by: int | None = None, **details: Any,
) -> Event:
    """Insert an event; `details` are any other EDITABLE columns (venue, capacity, group_id, …)."""
    unknown = set(details) - EDITABLE
    if unknown:
        raise ValueError(f"not event fields: {sorted(unknown)}")
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    values = {
        "public_id": public_id, "title": title, "starts_at": ts(starts_at), "ends_at": ts(ends_at),
        "timezone": timezone, "status": status, "created_by": created_by,
        "created_at": ts(now), "updated_at": ts(now), **details,
    }
    names = list(values)
    row = await tx.one(
        f"INSERT INTO events ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)}) "
        f"RETURNING {_COLUMNS}",
        [values[n] for n in names],
    )
    assert row is not None  # RETURNING always gives the new row
    return Event.from_row(row)


async def _select(tx: Tx, where: str, params: Any) -> list[Event]:
    """Events matching `where` (which may go on with ORDER BY and LIMIT)."""
    return [Event.from_row(r) for r in await tx.query(f"SELECT {_COLUMNS} FROM events WHERE {where}", params)]


async def get(tx: Tx, event_id: int) -> Event | None:
    found = await _select(tx, "id = ?", (event_id,))
    return found[0] if found else None


async def by_public_id(tx: Tx, public_id: str) -> Event | None:
    found = await _select(tx, "public_id = ?", (public_id,))
    return found[0] if found else None


async def update(tx: Tx, event: Event, now: datetime, **changes: Any) -> bool:
    """Change fields (datetimes for starts_at/ends_at); returns True when the event moved."""
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    values = {k: ts(v) if isinstance(v, datetime) else v for k, v in changes.items()}
    changed = {k: v for k, v in values.items() if getattr(event, k) != v}
    if not changed:
        return False
    moved = bool(MOVES & set(changed))
    for name, value in changed.items():
        setattr(event, name, value)
    event.updated_at = ts(now)
    if moved:
        event.version += 1
    names = sorted(changed)
    await tx.execute(
        f"UPDATE events SET {', '.join(f'{n} = ?' for n in names)}, updated_at = ?, version = ? WHERE id = ?",
        [changed[n] for n in names] + [event.updated_at, event.version, event.id],
    )
    return moved


async def set_status(tx: Tx, event: Event, status: str, now: datetime) -> None:
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    event.status, event.updated_at = status, ts(now)
    await tx.execute("UPDATE events SET status = ?, updated_at = ? WHERE id = ?", (status, event.updated_at, event.id))


def mark_announced(tx: Tx, event: Event, now: datetime) -> None:
    event.announced_at = ts(now)
    tx.write("UPDATE events SET announced_at = ? WHERE id = ?", (event.announced_at, event.id))


async def upcoming(tx: Tx, now: datetime, group_id: int | None, limit: int = 5) -> list[Event]:
    """Confirmed events not yet started: the supporter's own group first, then national ones."""
    return await _select(
        tx, "status = 'confirmed' AND starts_at > ? AND (group_id IS NULL OR group_id = ?) "
        "ORDER BY CASE WHEN group_id IS NULL THEN 1 ELSE 0 END, starts_at, id LIMIT ?",
        (ts(now), group_id, limit),
    )


async def listing(
    tx: Tx, since: datetime, group_ids: list[int] | None = None, created_by: int | None = None, limit: int = 20,
) -> list[Event]:
    """Events ending after `since`, soonest first; limited to some groups (and one's own) unless None."""
    where = "ends_at > ?"
    params: list[Any] = [ts(since)]
    if group_ids is not None:
        marks = ", ".join("?" for _ in group_ids) or "NULL"
        where += f" AND (group_id IN ({marks}) OR created_by = ?)"
        params += [*group_ids, created_by]
    return await _select(tx, f"{where} ORDER BY starts_at, id LIMIT ?", [*params, limit])


async def in_scope(
    tx: Tx, part: str, now: datetime, group_ids: tuple[int, ...] | None = None, created_by: tuple[int, ...] = (),
    limit: int = 200,
) -> list[Event]:
    """One part of an organiser's events: 'upcoming' (published or cancelled, not yet over, soonest
    first), 'past' (over, latest first) or 'drafts'; limited to some groups (and their own) unless None."""
    where, order = {
        "upcoming": ("status != 'draft' AND ends_at > ?", "starts_at, id"),
        "past": ("status != 'draft' AND ends_at <= ?", "starts_at DESC, id DESC"),
        "drafts": ("status = 'draft'", "starts_at, id"),
    }[part]
    params: list[Any] = [] if part == "drafts" else [ts(now)]
    if group_ids is not None:
        groups = ", ".join("?" for _ in group_ids) or "NULL"
        mine = ", ".join("?" for _ in created_by) or "NULL"
        where += f" AND (group_id IN ({groups}) OR created_by IN ({mine}))"
        params += [*group_ids, *created_by]
    return await _select(tx, f"{where} ORDER BY {order} LIMIT ?", [*params, limit])


async def starting_between(tx: Tx, after: datetime, before: datetime) -> list[Event]:
    return await _select(tx, "status = 'confirmed' AND starts_at > ? AND starts_at <= ? ORDER BY starts_at",
                         (ts(after), ts(before)))


async def ending_between(tx: Tx, after: datetime, before: datetime) -> list[Event]:
    return await _select(tx, "status = 'confirmed' AND ends_at > ? AND ends_at <= ? ORDER BY ends_at",
                         (ts(after), ts(before)))


async def moved_unnoticed(tx: Tx, now: datetime) -> list[Event]:
    """Confirmed events whose latest move has not been announced to their RSVPs yet."""
    return await _select(tx, "status = 'confirmed' AND version > noticed_version AND ends_at > ?", (ts(now),))


async def cancelled_unnoticed(tx: Tx, now: datetime) -> list[Event]:
    return await _select(tx, "status = 'cancelled' AND cancel_noticed = 0 AND ends_at > ?", (ts(now),))


def mark_noticed(tx: Tx, event: Event) -> None:
    """Record that RSVPs have been told about this version (and, if cancelled, the cancellation)."""
    tx.write(
        "UPDATE events SET noticed_version = ?, cancel_noticed = ? WHERE id = ?",
        (event.version, 1 if event.status == "cancelled" else event.cancel_noticed, event.id),
    )


# -- RSVPs ----------------------------------------------------------------------------
async def rsvp(tx: Tx, event_id: int, supporter_id: int) -> Rsvp | None:
    row = await tx.one(
        f"SELECT {_RSVP_COLUMNS} FROM rsvps WHERE event_id = ? AND supporter_id = ?", (event_id, supporter_id)
    )
    return Rsvp(*row) if row else None


async def set_rsvp(tx: Tx, event_id: int, supporter_id: int, status: str, channel: str | None, now: datetime) -> None:
    if status not in RSVP_STATUSES:
        raise ValueError(f"RSVP status must be one of {', '.join(RSVP_STATUSES)}")
    stamp = ts(now)
    await tx.execute(
        f"INSERT INTO rsvps ({_RSVP_COLUMNS}) VALUES (?, ?, ?, NULL, ?, ?, ?) "
        "ON CONFLICT (event_id, supporter_id) DO UPDATE SET status = excluded.status, "
        "channel = COALESCE(excluded.channel, rsvps.channel), updated_at = excluded.updated_at",
        (event_id, supporter_id, status, channel, stamp, stamp),
    )


async def set_attended(tx: Tx, event_id: int, supporter_id: int, attended: bool | None, now: datetime) -> bool:
    """Record attendance; an organiser may mark someone who never RSVPed (they count as going)."""
    stamp, value = ts(now), None if attended is None else int(attended)
    changed = await tx.execute(
        "UPDATE rsvps SET attended = ?, updated_at = ? WHERE event_id = ? AND supporter_id = ?",
        (value, stamp, event_id, supporter_id),
    )
    if not changed and attended is not None:
        await tx.execute(
            f"INSERT INTO rsvps ({_RSVP_COLUMNS}) VALUES (?, ?, 'going', ?, NULL, ?, ?)",
            (event_id, supporter_id, value, stamp, stamp),
        )
    return True


async def waitlist_latest(tx: Tx, event_id: int, how_many: int, now: datetime) -> list[int]:
    """Move the `how_many` most recent 'going' RSVPs to the top of the waitlist, ahead of everyone
    already on it and in the order they said going; returns their supporter ids, earliest first.

    The waitlist is served by updated_at (first_waitlisted), so the moved rows get times just
    before the earliest of theirs and the waitlist's.
    """
    if how_many <= 0:
        return []
    rows = await tx.query(
        "SELECT supporter_id, updated_at FROM rsvps WHERE event_id = ? AND status = 'going' "
        "ORDER BY updated_at DESC, supporter_id DESC LIMIT ?", (event_id, how_many))
    moved = list(reversed([(r[0], r[1]) for r in rows]))
    if not moved:
        return []
    waiting = await first_waitlisted(tx, event_id)
    earliest = min([parse_ts(moved[0][1])] + ([parse_ts(waiting.updated_at)] if waiting else []))
    for n, (supporter_id, _) in enumerate(moved):
        place = earliest - timedelta(milliseconds=len(moved) - n)
        await tx.execute(
            "UPDATE rsvps SET status = 'waitlisted', updated_at = ? WHERE event_id = ? AND supporter_id = ?",
            (ts(place), event_id, supporter_id))
    return [supporter_id for supporter_id, _ in moved]


async def count_going(tx: Tx, event_id: int) -> int:
    value: int = await tx.scalar("SELECT COUNT(*) FROM rsvps WHERE event_id = ? AND status = 'going'", (event_id,))
    return value


async def first_waitlisted(tx: Tx, event_id: int) -> Rsvp | None:
    row = await tx.one(
        f"SELECT {_RSVP_COLUMNS} FROM rsvps WHERE event_id = ? AND status = 'waitlisted' "
        "ORDER BY updated_at, supporter_id LIMIT 1",
        (event_id,),
    )
    return Rsvp(*row) if row else None


async def counts(tx: Tx, event_ids: list[int]) -> dict[int, dict[str, int]]:
    """RSVPs by status per event."""
    if not event_ids:
        return {}
    marks = ", ".join("?" for _ in event_ids)
    rows = await tx.query(
        f"SELECT event_id, status, COUNT(*) FROM rsvps WHERE event_id IN ({marks}) GROUP BY event_id, status",
        event_ids,
    )
    found: dict[int, dict[str, int]] = {i: {} for i in event_ids}
    for r in rows:
        found[r[0]][r[1]] = r[2]
    return found


async def tallies(tx: Tx, event_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per event: RSVPs by status (going, maybe, declined, waitlisted) and how many attended."""
    found: dict[int, dict[str, int]] = {
        i: {"going": 0, "maybe": 0, "declined": 0, "waitlisted": 0, "attended": 0} for i in event_ids}
    if not event_ids:
        return found
    marks = ", ".join("?" for _ in event_ids)
    rows = await tx.query(
        f"SELECT event_id, status, COUNT(*), SUM(CASE WHEN attended = 1 THEN 1 ELSE 0 END) FROM rsvps "
        f"WHERE event_id IN ({marks}) GROUP BY event_id, status", event_ids)
    for r in rows:
        found[r[0]][r[1]] = r[2]
        found[r[0]]["attended"] += int(r[3] or 0)
    return found


async def mine(tx: Tx, supporter_id: int, now: datetime, limit: int = 10) -> list[tuple[Event, str]]:
    """A supporter's RSVPs (other than 'declined') to published events not yet ended, soonest first."""
    rows = await tx.query(
        f"SELECT {_E_COLUMNS}, r.status AS rsvp_status FROM rsvps r JOIN events e ON e.id = r.event_id "
        "WHERE r.supporter_id = ? AND r.status != 'declined' AND e.status = 'confirmed' AND e.ends_at > ? "
        "ORDER BY e.starts_at, e.id LIMIT ?",
        (supporter_id, ts(now), limit),
    )
    return [(Event.from_row(r), r["rsvp_status"]) for r in rows]


async def pending(
    tx: Tx, event_id: int, statuses: tuple[str, ...], key_prefix: str, key_suffix: str = "",
    rsvped_by: datetime | None = None, unmarked_only: bool = False,
) -> list[Recipient]:
    """RSVPs in these statuses with no outbox row yet under key `prefix + supporter id + suffix`.

    Erased supporters are left out; whether a channel may be used is the caller's call.
    The key test uses the outbox's unique index, so a sweep that finds nothing new is cheap.
    """
    marks = ", ".join("?" for _ in statuses)
    where, params = "", [event_id, *statuses]
    if rsvped_by is not None:
        where, params = " AND r.created_at <= ?", [*params, ts(rsvped_by)]
    if unmarked_only:
        where += " AND r.attended IS NULL"
    rows = await tx.query(
        f"SELECT {_RECIPIENT}, r.channel, r.status, {permitted_sql('r.event_id', 's.id')} "
        "FROM rsvps r JOIN supporters s ON s.id = r.supporter_id "
        f"WHERE r.event_id = ? AND r.status IN ({marks}) AND s.status != 'erased'{where} "
        "AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.dedupe_key = ? || r.supporter_id || ?) "
        "ORDER BY r.supporter_id",
        [*params, key_prefix, key_suffix],
    )
    return [_recipient(r) for r in rows]


async def audience(tx: Tx, group_id: int | None) -> list[Recipient]:
    """Supporters to announce a group's event to (everyone for a national one), opted in somewhere."""
    where = "" if group_id is None else " AND s.group_id = ?"
    rows = await tx.query(
        f"SELECT {_RECIPIENT} FROM supporters s WHERE s.status != 'erased' "
        "AND (s.telegram_consent = 'opted_in' OR (s.sms_consent = 'opted_in' AND s.sms_undeliverable = 0))"
        f"{where} ORDER BY s.id",
        () if group_id is None else (group_id,),
    )
    return [_recipient(r, with_rsvp=False) for r in rows]


async def group_chats(tx: Tx, group_id: int | None) -> list[int]:
    """Active Telegram group chats linked to this local group (all of them for a national event)."""
    if group_id is None:
        rows = await tx.query("SELECT chat_id FROM telegram_groups WHERE active = 1 ORDER BY chat_id")
    else:
        rows = await tx.query(
            "SELECT chat_id FROM telegram_groups WHERE active = 1 AND group_id = ? ORDER BY chat_id", (group_id,)
        )
    return [r[0] for r in rows]


async def attendees(tx: Tx, event_id: int) -> list[Row]:
    """Everyone who RSVPed: supporter id, name, phone, Telegram id, status, attended, when."""
    return await tx.query(
        "SELECT s.id AS supporter_id, s.first_name, s.phone, s.telegram_id, r.status, r.attended, r.updated_at "
        "FROM rsvps r JOIN supporters s ON s.id = r.supporter_id WHERE r.event_id = ? AND s.status != 'erased' "
        "ORDER BY CASE r.status WHEN 'going' THEN 0 WHEN 'waitlisted' THEN 1 WHEN 'maybe' THEN 2 ELSE 3 END, "
        "r.updated_at, s.id",
        (event_id,),
    )


async def report(tx: Tx, event_id: int) -> dict[str, int]:
    """RSVPs by status, plus attended, no-shows (going but marked absent or unknown) and not-asked."""
    row = await tx.one(
        "SELECT "
        "SUM(CASE WHEN status = 'going' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'maybe' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'declined' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'waitlisted' THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN attended = 1 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'going' AND attended = 0 THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN status = 'going' AND attended IS NULL THEN 1 ELSE 0 END) "
        "FROM rsvps WHERE event_id = ?",
        (event_id,),
    )
    assert row is not None  # an aggregate always gives one row
    names = ("going", "maybe", "declined", "waitlisted", "attended", "no_show", "unknown")
    return {n: int(v or 0) for n, v in zip(names, row, strict=True)}
