"""Broadcasts and action alerts: the records, THE recipient query, and materialising into the outbox.

The recipient query lives here and only here. Whatever filters a caller passes, it
always leaves out supporters who are not active (new or erased), opted out (or never
opted in) on the channel, marked undeliverable for SMS, or on the suppression list,
and it picks one channel per supporter (the one they used last) unless every channel
is asked for. Materialising is one `INSERT … SELECT` under the unique dedupe key
`b:<broadcast>:<supporter>`, so nobody gets the same broadcast twice; the text each row gets is
chosen in the same statement from the recipient's language (supporters.language).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from storage.db import Row, Tx, ts

BULK = 10  # storage.outbox.BULK; repeated so this module stays a leaf
LIVE = ("queued", "sending", "sent", "unknown")  # outbox rows that reached, or may reach, someone
RESPONSES = ("done", "cant")
RSVP_STATUSES = ("going", "maybe", "declined", "waitlisted")
# An audience's RSVP filter: any of these statuses, or "attended" (marked at the door), e.g. the
# people who came, for the action alert after a meeting.
RSVP_FILTERS = (*RSVP_STATUSES, "attended")
ALERT_FILTERS = ("done", "cant", "not_yet")

# Placeholder name → the recipient column that fills it.
FIELDS = {"first_name": "r.first_name", "group": "r.group_name"}


@dataclass(frozen=True)
class Audience:
    """Filters, combined with AND; a list matches any of its values. Empty means everyone."""
    groups: tuple[int, ...] = ()
    interests: tuple[str, ...] = ()
    channel: str | None = None          # "sms" or "telegram": only that channel
    event_id: int | None = None
    rsvp: tuple[str, ...] = ()          # with event_id; empty means any RSVP to it
    alert_id: int | None = None
    response: str | None = None         # with alert_id: done, cant or not_yet
    chats: bool = False                 # also post to linked Telegram group chats

    def to_json(self) -> str:
        data = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
        return json.dumps({k: v for k, v in data.items() if v not in (None, (), [], False)}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Audience:
        data = json.loads(text or "{}")
        for key in ("groups", "interests", "rsvp"):
            if key in data:
                data[key] = tuple(data[key])
        return cls(**data)


@dataclass
class Broadcast:
    id: int
    kind: str
    body: str
    audience: str
    channel_mode: str
    status: str
    send_at: str | None
    repeat: str
    parent_id: int | None
    urgent: int
    normalise: int
    cta_text: str | None
    cta_link: str | None
    deadline: str | None
    created_by: str
    notify_channel: str | None
    notify_address: str | None
    scope_groups: str | None
    recipients: int
    chats: int
    progress_step: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    translations: str | None = None  # {"cy": {"body": …, "cta_text": …}}: versions beyond the default

    @property
    def filters(self) -> Audience:
        return Audience.from_json(self.audience)

    @property
    def versions(self) -> dict[str, dict[str, str]]:
        """The versions in other languages, by code: {"cy": {"body": …, "cta_text": …}}."""
        return dict(json.loads(self.translations)) if self.translations else {}


def translations_json(versions: Mapping[str, Mapping[str, str | None]]) -> str | None:
    """The translations column for these versions (None when there are none)."""
    kept = {lang: {k: v for k, v in version.items() if v} for lang, version in versions.items()}
    kept = {lang: version for lang, version in kept.items() if version.get("body")}
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else None


_COLUMNS = ", ".join(f.name for f in fields(Broadcast))
EDITABLE = frozenset(f.name for f in fields(Broadcast)) - {"id", "created_at"}


async def create(tx: Tx, now: datetime, **values: Any) -> Broadcast:
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValueError(f"unknown broadcast fields: {sorted(unknown)}")
    names = sorted(values) + ["created_at"]
    marks = ", ".join("?" for _ in names)
    row = await tx.one(
        f"INSERT INTO broadcasts ({', '.join(names)}) VALUES ({marks}) RETURNING {_COLUMNS}",
        [values[n] for n in names[:-1]] + [ts(now)],
    )
    assert row is not None  # RETURNING always gives the new row
    return Broadcast(*row)


async def get(tx: Tx, broadcast_id: int) -> Broadcast | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM broadcasts WHERE id = ?", (broadcast_id,))
    return Broadcast(*row) if row else None


async def fetch(tx: Tx, broadcast_id: int) -> Broadcast:
    """A broadcast that must exist (its id came from our own rows); LookupError if it does not."""
    found = await get(tx, broadcast_id)
    if found is None:
        raise LookupError(f"no broadcast #{broadcast_id}")
    return found


async def update(tx: Tx, broadcast_id: int, **changes: Any) -> None:
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    names = sorted(changes)
    await tx.execute(
        f"UPDATE broadcasts SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?",
        [changes[n] for n in names] + [broadcast_id],
    )


async def recent(tx: Tx, limit: int = 20, groups: tuple[int, ...] | None = None) -> list[Broadcast]:
    rows = await tx.query(f"SELECT {_COLUMNS} FROM broadcasts ORDER BY id DESC LIMIT ?", (limit * 5,))
    found = [Broadcast(*r) for r in rows]
    if groups is not None:
        found = [b for b in found if b.scope_groups and json.loads(b.scope_groups)
                 and set(json.loads(b.scope_groups)) <= set(groups)]
    return found[:limit]


def _within(groups: tuple[int, ...] | None) -> tuple[str, list[Any]]:
    """A condition keeping broadcasts whose audience names groups, all of them among `groups`
    (None: every broadcast). An audience naming no group reaches everyone, so it is not within."""
    if groups is None:
        return "1 = 1", []
    if not groups:
        return "1 = 0", []
    return ("EXISTS (SELECT 1 FROM json_each(b.audience, '$.groups')) AND NOT EXISTS (SELECT 1 FROM "
            f"json_each(b.audience, '$.groups') j WHERE j.value NOT IN ({marks(groups)}))"), list(groups)


async def listing(
    tx: Tx, *, groups: tuple[int, ...] | None = None, statuses: tuple[str, ...] = (), kind: str | None = None,
    before: int | None = None, limit: int = 50,
) -> list[Broadcast]:
    """Newest first, `limit` at a time (keyset: ids below `before`), only those within `groups`."""
    where, params = _within(groups)
    if statuses:
        where += f" AND b.status IN ({marks(statuses)})"
        params += list(statuses)
    if kind:
        where += " AND b.kind = ?"
        params.append(kind)
    if before is not None:
        where += " AND b.id < ?"
        params.append(before)
    columns = ", ".join(f"b.{f.name}" for f in fields(Broadcast))
    rows = await tx.query(f"SELECT {columns} FROM broadcasts b WHERE {where} ORDER BY b.id DESC LIMIT ?",
                          [*params, limit])
    return [Broadcast(*r) for r in rows]


async def status_counts(tx: Tx, groups: tuple[int, ...] | None = None) -> dict[str, int]:
    """How many broadcasts within `groups` are in each status."""
    where, params = _within(groups)
    rows = await tx.query(f"SELECT b.status, COUNT(*) FROM broadcasts b WHERE {where} GROUP BY b.status", params)
    return {r[0]: r[1] for r in rows}


async def with_status(tx: Tx, status: str) -> list[Broadcast]:
    rows = await tx.query(f"SELECT {_COLUMNS} FROM broadcasts WHERE status = ? ORDER BY id", (status,))
    return [Broadcast(*r) for r in rows]


async def due(tx: Tx, now: datetime) -> list[Broadcast]:
    rows = await tx.query(
        f"SELECT {_COLUMNS} FROM broadcasts WHERE status = 'scheduled' AND send_at <= ? ORDER BY send_at, id",
        (ts(now),),
    )
    return [Broadcast(*r) for r in rows]


async def upcoming(tx: Tx, now: datetime) -> list[str]:
    """send_at of every scheduled broadcast still ahead (what the scheduler wakes for)."""
    rows = await tx.query(
        "SELECT DISTINCT send_at FROM broadcasts WHERE status = 'scheduled' AND send_at > ? ORDER BY send_at",
        (ts(now),),
    )
    return [r[0] for r in rows]


# -- the recipient query --------------------------------------------------------------
async def table_exists(tx: Tx, name: str) -> bool:
    return bool(await tx.scalar("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))


def marks(values: tuple[Any, ...] | list[Any]) -> str:
    return ", ".join("?" for _ in values)


def _recipients(a: Audience, every: bool, suppressed: list[int]) -> tuple[str, list[Any]]:
    """SQL for (supporter_id, channel, address, first_name, group_name, language): one row per message;
    language is NULL for a supporter who never stated one (English by default)."""
    conds: list[str] = ["s.status = 'active'"]
    params: list[Any] = []
    if a.groups:
        conds.append(f"s.group_id IN ({marks(a.groups)})")
        params += list(a.groups)
    if a.interests:
        conds.append(
            "EXISTS (SELECT 1 FROM supporter_interests i WHERE i.supporter_id = s.id "
            f"AND i.interest IN ({marks(a.interests)}))"
        )
        params += list(a.interests)
    if a.event_id is not None:
        statuses = [s for s in RSVP_STATUSES if s in a.rsvp] or ([] if "attended" in a.rsvp else list(RSVP_STATUSES))
        which = [f"v.status IN ({marks(statuses)})"] if statuses else []
        if "attended" in a.rsvp:
            which.append("v.attended = 1")
        conds.append(
            "EXISTS (SELECT 1 FROM rsvps v WHERE v.supporter_id = s.id AND v.event_id = ? "
            f"AND ({' OR '.join(which)}))"
        )
        params += [a.event_id, *statuses]
    if a.alert_id is not None:
        response = a.response or "not_yet"
        if response in RESPONSES:
            conds.append(
                "EXISTS (SELECT 1 FROM alert_responses x WHERE x.broadcast_id = ? "
                "AND x.supporter_id = s.id AND x.response = ?)"
            )
            params += [a.alert_id, response]
        else:  # received it and said nothing yet
            conds.append(
                "EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = ? AND o.supporter_id = s.id "
                f"AND o.status IN ({marks(LIVE)})) AND NOT EXISTS (SELECT 1 FROM alert_responses x "
                "WHERE x.broadcast_id = ? AND x.supporter_id = s.id)"
            )
            params += [a.alert_id, *LIVE, a.alert_id]
    if suppressed:
        conds.append("s.id NOT IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(suppressed))
    where = " AND ".join(conds)
    sms_ok = ("(s.phone IS NOT NULL AND s.sms_consent = 'opted_in' AND s.sms_undeliverable = 0)"
              if a.channel in (None, "sms") else "1 = 0")
    tg_ok = ("(s.telegram_id IS NOT NULL AND s.telegram_consent = 'opted_in')"
             if a.channel in (None, "telegram") else "1 = 0")
    base = ("SELECT s.id AS supporter_id, {ch} AS channel, {addr} AS address, s.first_name AS first_name, "
            # A language is known once stated; English, the column's default, may be no one's choice.
            "g.name AS group_name, CASE WHEN s.language_stated = 1 OR s.language <> 'en' THEN s.language END "
            "AS language FROM supporters s "
            "LEFT JOIN local_groups g ON g.id = s.group_id "
            "WHERE {where} AND {ok}")
    sms_addr, tg_addr = "s.phone", "CAST(s.telegram_id AS TEXT)"
    if every:
        sql = (base.format(ch="'sms'", addr=sms_addr, where=where, ok=sms_ok) + " UNION ALL "
               + base.format(ch="'telegram'", addr=tg_addr, where=where, ok=tg_ok))
        return sql, params + params
    pick_sms = f"({sms_ok} AND (s.last_channel = 'sms' OR NOT {tg_ok}))"
    sql = base.format(
        ch=f"CASE WHEN {pick_sms} THEN 'sms' ELSE 'telegram' END",
        addr=f"CASE WHEN {pick_sms} THEN {sms_addr} ELSE {tg_addr} END",
        where=where, ok=f"({sms_ok} OR {tg_ok})",
    )
    return sql, params


def _chats(a: Audience) -> tuple[str, list[Any]]:
    """Linked Telegram group chats as extra targets (no supporter behind them)."""
    if not a.chats or a.channel == "sms":
        return "", []
    sql = ("SELECT NULL AS supporter_id, 'telegram' AS channel, CAST(c.chat_id AS TEXT) AS address, "
           "NULL AS first_name, g.name AS group_name, NULL AS language FROM telegram_groups c "
           "JOIN local_groups g ON g.id = c.group_id WHERE c.active = 1")
    params: list[Any] = []
    if a.groups:
        sql += f" AND c.group_id IN ({marks(a.groups)})"
        params += list(a.groups)
    return sql, params


async def count(tx: Tx, a: Audience, every: bool = False, suppressed: Sequence[int] = ()) -> dict[str, int]:
    """Messages per channel this audience would get now, plus "chats" for group chats."""
    sql, params = _recipients(a, every, list(suppressed))
    counts = {"sms": 0, "telegram": 0, "chats": 0}
    for r in await tx.query(f"SELECT channel, COUNT(*) FROM ({sql}) x GROUP BY channel", params):
        counts[r[0]] = r[1]
    chat_sql, chat_params = _chats(a)
    if chat_sql:
        counts["chats"] = await tx.scalar(f"SELECT COUNT(*) FROM ({chat_sql}) x", chat_params)
    return counts


async def renderings(
    tx: Tx, a: Audience, every: bool = False, suppressed: Sequence[int] = (),
) -> list[tuple[str, str | None, str | None, str | None, int]]:
    """(channel, language, first_name, group_name, messages): the distinct ways this audience's
    messages would be filled in now, with how many of each. Only SMS rows keep their names (their
    text is what is billed per segment); group chats count as channel "chats", language None."""
    sql, params = _recipients(a, every, list(suppressed))
    rows = await tx.query(
        "SELECT channel, language, CASE WHEN channel = 'sms' THEN NULLIF(TRIM(first_name), '') END AS n, "
        f"CASE WHEN channel = 'sms' THEN group_name END AS g, COUNT(*) FROM ({sql}) x GROUP BY 1, 2, 3, 4", params,
    )
    found = [(r[0], r[1], r[2], r[3], r[4]) for r in rows]
    chat_sql, chat_params = _chats(a)
    if chat_sql:
        chats = await tx.scalar(f"SELECT COUNT(*) FROM ({chat_sql}) x", chat_params)
        if chats:
            found.append(("chats", None, None, None, chats))
    return found


async def sample(tx: Tx, a: Audience, suppressed: Sequence[int] = ()) -> Row | None:
    """One recipient (supporter_id, first_name, group_name) to render a sample message for."""
    sql, params = _recipients(a, False, list(suppressed))
    return await tx.one(
        f"SELECT supporter_id, first_name, group_name FROM ({sql}) x ORDER BY supporter_id LIMIT 1", params
    )


async def addresses(tx: Tx, kind: str) -> list[tuple[int, str]]:
    """(supporter id, address) of every reachable supporter on one identity, for suppression checks."""
    column = "phone" if kind == "phone" else "telegram_id"
    rows = await tx.query(
        f"SELECT id, {column} FROM supporters WHERE {column} IS NOT NULL AND status <> 'erased'"
    )
    return [(r[0], str(r[1])) for r in rows]


async def suppression_hashes(tx: Tx) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for r in await tx.query("SELECT kind, hash FROM suppression"):
        found.setdefault(r[0], set()).add(r[1])
    return found


def _text_sql(parts: list[tuple[str, str, str]]) -> tuple[str, list[Any]]:
    """("lit", text, "") and ("field", name, fallback) parts → one SQL string expression."""
    pieces, params = [], []
    for kind, value, fallback in parts:
        if kind == "lit":
            pieces.append("?")
            params.append(value)
        elif kind == "sms":  # text only SMS recipients get (the stop line)
            pieces.append("CASE WHEN r.channel = 'sms' THEN ? ELSE '' END")
            params.append(value)
        elif kind == "field" and value in FIELDS:
            pieces.append(f"COALESCE(NULLIF(TRIM({FIELDS[value]}), ''), ?)")
            params.append(fallback)
        else:
            raise ValueError(f"unknown placeholder {value!r}")
    return (" || ".join(pieces) or "''"), params


Parts = list[tuple[str, str, str]]


@dataclass(frozen=True)
class Version:
    """One language's message: its template parts (see _text_sql) and its buttons, if any."""
    parts: Parts
    choices: list[list[str]] | None = None


@dataclass(frozen=True)
class Languages:
    """Which version each recipient gets: the one in their language among `versions`; a recipient
    whose language is none of `known` (or a group chat) gets `unknown` when given; anyone else the
    default version."""
    versions: Mapping[str, Version]
    known: tuple[str, ...] = ()
    unknown: Version | None = None


def _pick(languages: Languages | None) -> list[tuple[str, list[Any], Version]]:
    """(SQL condition on r.language, its parameters, the version it picks), first match wins."""
    if languages is None:
        return []
    picks: list[tuple[str, list[Any], Version]] = [
        ("r.language = ?", [lang], version) for lang, version in languages.versions.items()]
    if languages.unknown is not None and languages.known:
        picks.append((f"(r.language IS NULL OR r.language NOT IN ({marks(languages.known)}))",
                      list(languages.known), languages.unknown))
    return picks


def _per_language(picks: list[tuple[str, list[Any], Version]], default: Version,
                  expression: Callable[[Version], tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """`expression(version)` → (sql, params), chosen per row by the recipient's language."""
    sql, params = expression(default)
    if not picks:
        return sql, params
    pieces, values = [], []
    for condition, condition_params, version in picks:
        then, then_params = expression(version)
        pieces.append(f"WHEN {condition} THEN {then}")
        values += condition_params + then_params
    return f"CASE {' '.join(pieces)} ELSE {sql} END", values + params


async def materialise(
    tx: Tx, broadcast_id: int, a: Audience, parts: Parts, now: datetime, *,
    every: bool = False, choices: list[list[str]] | None = None, sms_not_before: datetime | None = None,
    telegram_not_before: datetime | None = None, suppressed: Sequence[int] = (),
    languages: Languages | None = None,
) -> dict[str, int]:
    """Queue one outbox row per recipient (and per linked chat) in one statement; returns counts.
    `parts` and `choices` are the default version; `languages` the others and who gets them."""
    rec_sql, rec_params = _recipients(a, every, list(suppressed))
    chat_sql, chat_params = _chats(a)
    source = rec_sql + (f" UNION ALL {chat_sql}" if chat_sql else "")
    picks = _pick(languages)
    default = Version(parts, choices)
    text, text_params = _per_language(picks, default, lambda v: _text_sql(v.parts))
    if choices or any(v.choices for _, _, v in picks):
        # Buttons only in private Telegram chats; SMS recipients reply with a keyword.
        def buttons_of(v: Version) -> tuple[str, list[Any]]:
            return ("json(?)", [json.dumps(v.choices, ensure_ascii=False)]) if v.choices else ("json('[]')", [])

        buttons, button_params = _per_language(picks, default, buttons_of)
        payload = (f"CASE WHEN r.supporter_id IS NULL OR r.channel <> 'telegram' THEN json_object('text', {text}) "
                   f"ELSE json_object('text', {text}, 'choices', {buttons}) END")
        payload_params = text_params + text_params + button_params
    else:
        payload, payload_params = f"json_object('text', {text})", text_params
    key = "'b:' || ? || ':' || COALESCE(CAST(r.supporter_id AS TEXT), 'chat' || r.address)"
    if every:
        key += " || ':' || r.channel"
    stamp = ts(now)
    sql = (
        "INSERT INTO outbox (channel, address, supporter_id, payload, priority, not_before, dedupe_key, "
        "broadcast_id, created_at, updated_at) "
        f"SELECT r.channel, r.address, r.supporter_id, {payload}, ?, "
        "CASE WHEN r.channel = 'sms' THEN ? ELSE ? END, "
        f"{key}, ?, ?, ? FROM ({source}) r WHERE true ON CONFLICT (dedupe_key) DO NOTHING"
    )
    params = [
        *payload_params, BULK, ts(sms_not_before or now), ts(telegram_not_before or now),
        broadcast_id, broadcast_id, stamp, stamp, *rec_params, *chat_params,
    ]
    await tx.execute(sql, params)
    return await delivery_counts(tx, broadcast_id)


# -- what happened ---------------------------------------------------------------------
async def delivery_counts(tx: Tx, broadcast_id: int) -> dict[str, int]:
    """Outbox rows of a broadcast by status (queued, sending, sent, failed, unknown, cancelled)."""
    rows = await tx.query(
        "SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status", (broadcast_id,)
    )
    return {r[0]: r[1] for r in rows}


async def held_back(tx: Tx, broadcast_id: int, now: datetime) -> tuple[int, str | None]:
    """(queued messages of this broadcast not due yet, the earliest time one is due): SMS waiting
    for quiet hours to end."""
    row = await tx.one("SELECT COUNT(*), MIN(not_before) FROM outbox WHERE broadcast_id = ? AND status = 'queued' "
                       "AND not_before > ?", (broadcast_id, ts(now)))
    assert row is not None  # an aggregate always gives one row
    return row[0], row[1]


async def sizes(tx: Tx, broadcast_id: int) -> tuple[int, int]:
    """(messages queued for it, of which to supporters rather than group chats)."""
    row = await tx.one("SELECT COUNT(*), COUNT(supporter_id) FROM outbox WHERE broadcast_id = ?", (broadcast_id,))
    assert row is not None  # an aggregate always gives one row
    return row[0], row[1]


async def by_channel(tx: Tx, broadcast_id: int) -> dict[str, int]:
    rows = await tx.query(
        "SELECT channel, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY channel", (broadcast_id,)
    )
    return {r[0]: r[1] for r in rows}


async def hold_sms(tx: Tx, until: datetime, now: datetime) -> list[int]:
    """Quiet hours began mid-send: queued bulk SMS (non-urgent broadcasts, event announcements)
    waits until `until`. Returns the broadcasts held."""
    rows = await tx.query(
        "UPDATE outbox SET not_before = ?, updated_at = ? WHERE channel = 'sms' AND status = 'queued' "
        "AND priority = ? AND not_before < ? "
        "AND (broadcast_id IS NULL OR broadcast_id IN (SELECT id FROM broadcasts WHERE urgent = 0)) "
        "RETURNING broadcast_id",
        (ts(until), ts(now), BULK, ts(until)),
    )
    return sorted({r[0] for r in rows if r[0] is not None})


async def requeue_unknown(tx: Tx, broadcast_id: int, sms_after: datetime, now: datetime) -> int:
    """Queue this broadcast's `unknown` rows again, for recipients still reachable on that channel
    (opted in, not erased, the number not undeliverable; group chats still linked). Returns how many."""
    return await tx.execute(
        "UPDATE outbox SET status = 'queued', handed_at = NULL, error_code = 'resent', updated_at = ?, "
        "not_before = CASE WHEN channel = 'sms' THEN ? ELSE ? END "
        "WHERE broadcast_id = ? AND status = 'unknown' AND (supporter_id IS NULL OR supporter_id IN ("
        "  SELECT id FROM supporters WHERE status = 'active' AND ("
        "    (outbox.channel = 'sms' AND sms_consent = 'opted_in' AND sms_undeliverable = 0)"
        "    OR (outbox.channel = 'telegram' AND telegram_consent = 'opted_in'))))",
        (ts(now), ts(sms_after), ts(now), broadcast_id),
    )


async def cancel(tx: Tx, broadcast_id: int, now: datetime) -> int:
    """Drop every still-queued row of this broadcast at once; returns how many."""
    return await tx.execute(
        "UPDATE outbox SET status = 'cancelled', updated_at = ? WHERE broadcast_id = ? AND status = 'queued'",
        (ts(now), broadcast_id),
    )
