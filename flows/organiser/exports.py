"""Exports as CSV, for the CLI and the console alike: supporters (each channel's consent state and the
date, method and wording of the latest consent event), the consent log, event attendances and
broadcast results. Streamed a page at a time, each page in its own short transaction, so memory stays
flat and the service keeps answering while a large export is read.

Scope is the organiser's: a local organiser exports their own groups' supporters, their consent
events, their groups' events and the broadcasts to their groups only; a national organiser, an
admin and the command line export everything. Every export is audited as it starts.

The supporters file reads back in as an import (same column names): export, import into an empty
database, export again gives the same file. Every cell that a spreadsheet would run as a formula
(starting with '=', '+', '-', '@', a tab or a carriage return) is prefixed with a quote, which the
import takes off again; a phone number then also stays text in a spreadsheet (never 4.47401E+11).
"""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any

from flows.organiser import audit
from flows.organiser.access import Actor, check_access
from flows.organiser.errors import ScopeError
from flows.organiser.import_file import FORMULA_START
from storage import broadcasts as broadcast_store
from storage import exports as store
from storage.db import Row, Tx, parse_ts

PAGE = 2000
BOM = "\ufeff"
KINDS = ("supporters", "consent", "attendances", "broadcast-results")
TITLES = {"supporters": "Supporters", "consent": "Consent log", "attendances": "Event attendances",
          "broadcast-results": "Broadcast results"}
HEADERS: dict[str, tuple[str, ...]] = {
    "supporters": ("phone", "telegram_id", "first_name", "last_name", "email", "postcode", "group", "interests",
                   "language", "sms_consent", "sms_consent_date", "sms_consent_method", "sms_consent_wording",
                   "telegram_consent", "telegram_consent_date", "telegram_consent_method",
                   "telegram_consent_wording", "joined_at"),
    "consent": ("id", "supporter_id", "phone", "telegram_id", "channel", "action", "source", "method",
                "wording_version", "reason", "at", "import_id"),
    "attendances": ("event_id", "event_title", "event_starts_at", "event_group", "supporter_id", "first_name",
                    "last_name", "phone", "telegram_id", "rsvp", "attended", "updated_at"),
    "broadcast-results": ("broadcast_id", "kind", "started_at", "message_id", "supporter_id", "first_name",
                          "channel", "address", "status", "receipt", "error_code", "alert_answer", "updated_at"),
}
IMPORTED = ("import", "import-opt-out")

Transaction = Callable[[], AbstractAsyncContextManager[Tx]]


def neutralise(value: Any) -> str:
    """A cell as text a spreadsheet shows and never runs: a formula-like start gets a quote before it."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


ATTENDEE_HEADER = ["supporter_id", "first_name", "phone", "telegram_id", "rsvp", "attended", "updated_at"]


def attendee_csv(attendees: Sequence[Row], rsvp_words: dict[str, str]) -> str:
    """One event's attendees (flows.organiser.events.export_attendees) as a CSV file's text, each cell
    neutralised as every export's is."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(ATTENDEE_HEADER)
    attended = {None: "", 1: "yes", 0: "no"}
    for r in attendees:
        writer.writerow([neutralise(v) for v in (r["supporter_id"], r["first_name"], r["phone"], r["telegram_id"],
                                                  rsvp_words[r["status"]], attended[r["attended"]], r["updated_at"])])
    return out.getvalue()


def stamp(text: str | None) -> str:
    """A stored time as ISO 8601 UTC to the second ('2025-03-01T10:00:00Z'), which an import reads back."""
    return parse_ts(text).strftime("%Y-%m-%dT%H:%M:%SZ") if text else ""


def _latest(packed: str | None) -> list[str]:
    """[date, method, wording] of the latest consent event: for an imported one, the method its file gave."""
    if not packed:
        return ["", "", ""]
    at, source, method, wording = packed.split("\x1f")
    return [stamp(at), (method or source) if source in IMPORTED else source, wording]


def _supporter(r: Row) -> list[Any]:
    return [r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], *_latest(r[11]), r[12],
            *_latest(r[13]), stamp(r[14])]


def _consent(r: Row) -> list[Any]:
    return [*r[:10], stamp(r[10]), r[11]]


def _attendance(r: Row) -> list[Any]:
    attended = {None: "", 1: "yes", 0: "no"}[r[10]]
    return [r[0], r[1], stamp(r[2]), r[3] or "national", *r[4:10], attended, stamp(r[11])]


def _result(r: Row) -> list[Any]:
    return [r[0], r[1], stamp(r[2]), *r[3:12], stamp(r[12])]


async def _allowed_broadcasts(tx: Tx, actor: Actor, only: int | None) -> Sequence[int] | None:
    limit = actor.scope()
    if only is not None:
        found = await broadcast_store.get(tx, only)
        if found is None:
            raise LookupError(f"There is no broadcast #{only}.")
        check_access(actor, found)
        return [only]
    if limit is None:
        return None
    ids: list[int] = []
    before = None
    while True:
        page = await broadcast_store.listing(tx, groups=limit, before=before, limit=500)
        for b in page:
            check_access(actor, b)
            ids.append(b.id)
        if len(page) < 500:
            return ids
        before = page[-1].id


async def rows(transaction: Transaction, actor: Actor, kind: str, now: datetime, *,
               broadcast_id: int | None = None, page: int = PAGE) -> AsyncIterator[list[str]]:
    """The header, then every row of one export in the actor's scope, as neutralised cells."""
    if kind not in KINDS:
        raise ValueError(f"Export one of {', '.join(KINDS)}, not {kind!r}.")
    if not actor.is_organiser:
        raise ScopeError("Exports are for organisers.")
    limit = actor.scope()
    async with transaction() as tx:
        ids = await _allowed_broadcasts(tx, actor, broadcast_id) if kind == "broadcast-results" else None
        scope = "everyone" if limit is None else "groups " + ",".join(str(g) for g in limit)
        target = f"broadcast:{broadcast_id}" if broadcast_id is not None else None
        audit.note(tx, actor, now, f"export.{kind}", target=target, detail=scope)
    yield list(HEADERS[kind])
    after: Any = (0, 0) if kind == "attendances" else 0
    while True:
        async with transaction() as tx:
            if kind == "supporters":
                found, shape = await store.supporters(tx, limit, after, page), _supporter
            elif kind == "consent":
                found, shape = await store.consent_log(tx, limit, after, page), _consent
            elif kind == "attendances":
                found, shape = await store.attendances(tx, limit, after, page), _attendance
            else:
                found, shape = await store.broadcast_results(tx, ids, after, page), _result
        for r in found:
            yield [neutralise(v) for v in shape(r)]
        if len(found) < page:
            return
        last = found[-1]
        after = (last[0], last[4]) if kind == "attendances" else last[3] if kind == "broadcast-results" else last[0]


async def csv_chunks(lines: AsyncIterator[list[str]], bom: bool = True) -> AsyncIterator[str]:
    """The rows as CSV text (UTF-8 with a BOM, which spreadsheets need to read accents right), in chunks."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    if bom:
        out.write(BOM)
    count = 0
    async for line in lines:
        writer.writerow(line)
        count += 1
        if count % 1000 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    if out.getvalue():
        yield out.getvalue()
