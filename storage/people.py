"""Supporters as organisers look them up: a search with filters, a page at a time, and everything
one supporter's page shows (consent history, events, broadcasts received, referrals).

Pages are keyset-paginated: a page starts after the last row's sort key (newest: the join time
and id; by name: the case-folded name and id), so page 2,000 costs what page 1 does. Erased
supporters are never listed. Every query names `status <> 'erased'` so the partial indexes of
migration 0011 apply, and the planner is never offered an index on a low-cardinality column
(consent, channel) that would tempt it away from reading in sort order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage.db import Row, Tx, ts

SORTS = ("newest", "name")
CONSENT_STATES = ("opted_in", "opted_out", "not_asked")
# Unary plus: "has a phone number" is true of most supporters, and must not lead the planner to
# read them through the unique index on phone numbers, in no useful order.
_IDENTITY = {"sms": "+s.phone", "telegram": "+s.telegram_id"}
# Sorted by name with a filter no index serves: if fewer than this many match, they are found in
# one pass in join order and sorted; if more, reading in name order finds a page of them soon.
FEW = 1000


@dataclass(frozen=True)
class Match:
    """What the search box asked for, once its kind is known (see flows.organiser.people)."""
    kind: str            # 'name', 'phone', 'email', 'postcode', 'outward'
    value: str           # a prefix (name, email, phone, postcode), digits (phone), or a whole outward code
    exact: bool = False  # a postcode: the whole of it, not its start
    anywhere: bool = False  # phone digits or an email domain: anywhere in the value (read in sort order)
    telegram_id: int | None = None  # digits that may also be a Telegram id


@dataclass(frozen=True)
class Filters:
    """Supporters matching all of these; None or empty means no condition."""
    match: Match | None = None
    groups: tuple[int, ...] | None = None  # the scope: None for everyone
    group_id: int | None = None
    no_group: bool = False
    interest: str | None = None
    channel: str | None = None          # has an identity on it: 'sms' or 'telegram'
    consent: tuple[str, str] | None = None  # (channel, 'opted_in' | 'opted_out' | 'not_asked')
    joined_from: datetime | None = None  # inclusive
    joined_before: datetime | None = None  # exclusive
    language: str | None = None  # the language they are written to in ('en', 'cy')


@dataclass(frozen=True)
class Listed:
    id: int
    first_name: str | None
    phone: str | None
    telegram_id: int | None
    postcode: str | None
    group_id: int | None
    group_name: str | None
    status: str
    sms_consent: str
    telegram_consent: str
    created_at: str
    name_key: str | None  # the name as the database folds it for sorting
    language: str


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after this row, in this sort."""
    key: str  # newest: created_at; name: the case-folded name ('' once past every named supporter)
    id: int


_LISTED = ("s.id, s.first_name, s.phone, s.telegram_id, s.postcode, s.group_id, g.name AS group_name, "
           "s.status, s.sms_consent, s.telegram_consent, s.created_at, lower(s.first_name), s.language")


def _after(prefix: str) -> str:
    """The least string greater than every string starting with `prefix` (for a range scan)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _match(m: Match) -> tuple[list[str], list[Any]]:
    if m.kind == "name":
        return ["lower(s.first_name) >= ? AND lower(s.first_name) < ?"], [m.value, _after(m.value)]
    if m.kind == "email":
        if m.anywhere:
            return ["lower(s.email) LIKE ? ESCAPE '\\'"], [f"%{_escape(m.value)}%"]
        return ["lower(s.email) >= ? AND lower(s.email) < ?"], [m.value, _after(m.value)]
    if m.kind == "outward":
        return ["s.area = ?"], [m.value]
    if m.kind == "postcode":
        if m.exact:
            return ["s.postcode = ?"], [m.value]
        return ["s.postcode >= ? AND s.postcode < ?"], [m.value, _after(m.value)]
    if m.kind == "phone":
        if m.anywhere:
            tg = " OR s.telegram_id = ?" if m.telegram_id is not None else ""
            return [f"(s.phone LIKE ?{tg})"], [f"%{m.value}%", *([m.telegram_id] if tg else [])]
        return ["s.phone >= ? AND s.phone < ?"], [m.value, _after(m.value)]
    raise ValueError(f"unknown search kind {m.kind!r}")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(f: Filters) -> tuple[list[str], list[Any]]:
    terms: list[str] = ["s.status <> 'erased'"]
    params: list[Any] = []
    if f.groups is not None:
        terms.append(f"s.group_id IN ({', '.join('?' for _ in f.groups) or 'NULL'})")
        params += list(f.groups)
    if f.group_id is not None:
        terms.append("s.group_id = ?")
        params.append(f.group_id)
    if f.no_group:
        terms.append("s.group_id IS NULL")
    if f.match is not None:
        more, values = _match(f.match)
        terms += more
        params += values
    if f.interest is not None:
        terms.append("EXISTS (SELECT 1 FROM supporter_interests i WHERE i.supporter_id = s.id AND i.interest = ?)")
        params.append(f.interest)
    if f.channel is not None:
        terms.append(f"{_IDENTITY[f.channel]} IS NOT NULL")
    if f.consent is not None:
        channel, state = f.consent
        column = f"s.{channel}_consent"
        if state == "not_asked":
            terms.append(f"{_IDENTITY[channel]} IS NOT NULL AND {column} = 'none'")
        elif state == "opted_in":
            terms.append(f"{_IDENTITY[channel]} IS NOT NULL AND {column} = 'opted_in'")
        else:
            terms.append(f"{column} = 'opted_out'")
    if f.joined_from is not None:
        terms.append("s.created_at >= ?")
        params.append(ts(f.joined_from))
    if f.joined_before is not None:
        terms.append("s.created_at < ?")
        params.append(ts(f.joined_before))
    if f.language is not None:
        terms.append("s.language = ?")
        params.append(f.language)
    return terms, params


def _unindexed(f: Filters) -> bool:
    """Whether a filter needs reading every candidate row (no index narrows it)."""
    return bool(f.interest or f.channel or f.consent or f.joined_from or f.joined_before or f.language
                or (f.match is not None and f.match.anywhere))


async def search(tx: Tx, f: Filters, sort: str, after: Cursor | None, limit: int) -> tuple[list[Listed], Cursor | None]:
    """One page of supporters matching `f` in `sort` order, starting after `after`; and the cursor
    of the next page (None on the last)."""
    if sort not in SORTS:
        raise ValueError(f"unknown sort {sort!r}")
    if f.groups is not None and not f.groups:
        return [], None
    terms, params = _where(f)
    if sort == "newest":
        rows = await _page(tx, terms, params, after, limit + 1, "s.created_at", "DESC")
    else:
        if _unindexed(f):
            ids = [r[0] for r in await tx.query(
                f"SELECT s.id FROM supporters s WHERE {' AND '.join(terms)} ORDER BY s.created_at DESC LIMIT {FEW}",
                params)]
            if len(ids) < FEW:  # few enough to sort: the page is read from just these rows
                if not ids:
                    return [], None
                terms, params = [f"s.id IN ({', '.join('?' for _ in ids)})"], ids
        rows = []
        if after is None or after.key:
            # A name's start already says it has one (and two lower bounds would make SQLite use the lesser).
            by_name = f.match is not None and f.match.kind == "name"
            named = terms if by_name else ["lower(s.first_name) > ''", *terms]
            rows = await _page(tx, named, params, after, limit + 1, "lower(s.first_name)", "ASC")
        if len(rows) <= limit:  # the named ones have run out: then those without a name, by id
            nameless = ["(s.first_name IS NULL OR s.first_name = '')", *terms]
            start = after if after is not None and not after.key else None
            rows += await _page(tx, nameless, params, start, limit + 1 - len(rows), None, "ASC")
    found = [Listed(*r) for r in rows[:limit]]
    if len(rows) <= limit:
        return found, None
    last = found[-1]
    key = last.created_at if sort == "newest" else (last.name_key or "")
    return found, Cursor(key, last.id)


async def _page(tx: Tx, terms: list[str], params: list[Any], after: Cursor | None, limit: int,
                key: str | None, direction: str) -> list[Row]:
    terms, params = list(terms), list(params)
    if after is not None:
        if key is None:
            terms.append("s.id > ?")
            params.append(after.id)
        else:
            terms.append(f"({key}, s.id) {'<' if direction == 'DESC' else '>'} (?, ?)")
            params += [after.key, after.id]
    order = f"{key} {direction}, s.id {direction}" if key else f"s.id {direction}"
    return await tx.query(
        f"SELECT {_LISTED} FROM supporters s LEFT JOIN local_groups g ON g.id = s.group_id "
        # The limit is written in, not bound: told a bound limit, SQLite's planner prefers reading in
        # sort order over a selective index (80 ms instead of 0.4 ms for a phone number's digits).
        f"WHERE {' AND '.join(terms)} ORDER BY {order} LIMIT {int(limit)}", params)


# -- one supporter ------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConsentEvent:
    channel: str
    action: str
    source: str
    wording_version: str | None
    reason: str | None
    at: str


@dataclass(frozen=True)
class Attending:
    event_id: int
    title: str
    starts_at: str
    event_status: str
    rsvp: str
    attended: int | None


@dataclass(frozen=True)
class Received:
    """One broadcast (or alert) message to the supporter, and what became of it."""
    broadcast_id: int
    kind: str
    body: str
    channel: str
    status: str
    delivery: str | None  # the provider's last report (delivered, undelivered, …), when there is one
    error_code: str | None
    at: str


@dataclass(frozen=True)
class Referrals:
    recruited_by: int | None
    recruiter_name: str | None
    recruiter_group_id: int | None
    recruiter_erased: bool
    recruits: int


async def group_of(tx: Tx, supporter_id: int) -> tuple[int | None, str] | None:
    """(group_id, status) of one supporter, or None when there is no such row."""
    row = await tx.one("SELECT group_id, status FROM supporters WHERE id = ?", (supporter_id,))
    return (row[0], row[1]) if row else None


async def consent_history(tx: Tx, supporter_id: int) -> list[ConsentEvent]:
    """Every opt-in and opt-out of theirs, oldest first, as the append-only log holds them."""
    rows = await tx.query(
        "SELECT channel, action, source, wording_version, reason, at FROM consent_log "
        "WHERE supporter_id = ? ORDER BY id", (supporter_id,))
    return [ConsentEvent(*r) for r in rows]


async def attending(tx: Tx, supporter_id: int, limit: int = 50) -> list[Attending]:
    """Their RSVPs, the latest event first."""
    rows = await tx.query(
        "SELECT e.id, e.title, e.starts_at, e.status, r.status, r.attended FROM rsvps r "
        "JOIN events e ON e.id = r.event_id WHERE r.supporter_id = ? ORDER BY e.starts_at DESC, e.id DESC LIMIT ?",
        (supporter_id, limit))
    return [Attending(*r) for r in rows]


async def received(tx: Tx, supporter_id: int, limit: int = 50) -> list[Received]:
    """Broadcast and alert messages queued for them, the newest first, with their outbox status."""
    rows = await tx.query(
        "SELECT o.broadcast_id, b.kind, b.body, o.channel, o.status, d.status, o.error_code, o.created_at "
        "FROM outbox o JOIN broadcasts b ON b.id = o.broadcast_id "
        "LEFT JOIN deliveries d ON d.channel = o.channel AND d.provider_id = o.provider_id "
        "WHERE o.supporter_id = ? AND o.broadcast_id IS NOT NULL ORDER BY o.id DESC LIMIT ?",
        (supporter_id, limit))
    return [Received(*r) for r in rows]


async def referrals(tx: Tx, supporter_id: int, referred_by: int | None) -> Referrals:
    recruits: int = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE referred_by = ?", (supporter_id,))
    row = None
    if referred_by is not None:
        row = await tx.one("SELECT first_name, group_id, status FROM supporters WHERE id = ?", (referred_by,))
    return Referrals(referred_by, row[0] if row else None, row[1] if row else None,
                     bool(row and row[2] == "erased"), recruits)


async def group_names(tx: Tx, groups: Sequence[int] | None) -> list[tuple[int, str]]:
    """(id, name) of these groups (None: every group), by name."""
    if groups is None:
        rows = await tx.query("SELECT id, name FROM local_groups ORDER BY name")
    else:
        if not groups:
            return []
        rows = await tx.query(
            f"SELECT id, name FROM local_groups WHERE id IN ({', '.join('?' for _ in groups)}) ORDER BY name",
            list(groups))
    return [(r[0], r[1]) for r in rows]
