"""Importing supporters, and opt-outs made on another platform, from a CSV file: for the CLI and the
console alike, as a dry run (every row's outcome, nothing written) or for real, a batch at a time.

The rules (PECR and the ICO's guidance on consent records):
- Consent is never assumed. A row is opted in only with evidence: its own (consent_date,
  consent_method and consent_wording, a wording version Muster knows) or the file's (source, date,
  method and the wording shown, stored as a new wording version). A row with neither is kept as a
  contact with no consent: Muster never messages them until they opt in themselves.
- An opt-out is never undone: an opted-out supporter stays opted out whatever the file says, and
  someone who asked to be erased (the suppression list) is refused, never re-added.
- Rows are matched within the file and with existing supporters by phone number, then Telegram id,
  then email; a later duplicate in the file is refused with the line it repeats. An existing
  supporter's empty fields are filled, others kept unless `overwrite` (a phone number or Telegram
  id is never replaced).
- Every refused row is reported with its line and the reason; none is dropped silently. The same
  file again changes nothing: it is recognised by its SHA-256 (and its rows would be unchanged).

Importing lists is for national organisers and admins (and the command line): a list reaches
beyond any one local group, and they answer for its consent evidence.
"""
from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from flows.core.settings import FlowSettings
from flows.organiser import audit
from flows.organiser import import_rows as cells
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from flows.organiser.import_decide import Batch, Claim, Context, Parsed, decide_batch
from flows.organiser.import_file import (
    SEPARATOR_NAMES,
    FileError,
    Reader,
    Scan,
    default_mapping,
    fields_for,
    plain,
    scan,
)
from flows.supporter.consent import RESTART_WORDINGS
from flows.supporter.interests import label_in
from flows.supporter.signup import CONSENT_WORDINGS
from storage import imports as store
from storage.db import Tx
from storage.imports import Previous
from storage.supporters import CHANNELS

BATCH = 2000
KINDS = ("supporters", "opt-outs")
RESULTS = ("new", "updated", "unchanged", "refused")
# The wordings the bot itself records, in each language it has them in: a file may cite any of them
# (a supporter who signed up in Welsh has signup-consent-cy-v1).
CHAT_WORDINGS = tuple(dict.fromkeys([*CONSENT_WORDINGS.values(), *RESTART_WORDINGS.values()]))
LENGTHS = {"source": (3, 200), "method": (3, 100), "wording": (10, 5000)}

Transaction = Callable[[], AbstractAsyncContextManager[Tx]]


class EvidenceError(ValueError):
    """The file's consent evidence is incomplete or makes no sense: the message says what to give."""


@dataclass(frozen=True)
class Evidence:
    """Consent evidence for every row of a file: where and when they consented, how, and the words shown."""
    source: str
    date: datetime
    method: str
    wording: str

    @property
    def version(self) -> str:
        return "import-" + hashlib.sha256(self.wording.encode()).hexdigest()[:8]

    def as_json(self) -> dict[str, str]:
        return {"source": self.source, "date": self.date.isoformat(), "method": self.method,
                "wording_version": self.version}


def evidence(source: str, date: str, method: str, wording: str, zone: str, now: datetime) -> Evidence | None:
    """The file's evidence from what the organiser typed; None when nothing was given."""
    given = {"source": " ".join(source.split()), "date": date.strip(), "method": " ".join(method.split()),
             "wording": wording.strip()}
    if not any(given.values()):
        return None
    missing = [k for k, v in given.items() if not v]
    if missing:
        raise EvidenceError(f"Consent evidence for the file needs all four of source, date, method and wording: "
                            f"give the {' and the '.join(missing)} too (or none of them).")
    for key, (shortest, longest) in LENGTHS.items():
        if not shortest <= len(given[key]) <= longest:
            raise EvidenceError(f"The evidence's {key} should be {shortest} to {longest:,} characters.")
    try:
        when = cells.moment(given["date"], zone, now, "the evidence's date")
    except cells.RowError as exc:
        raise EvidenceError(str(exc)[0].upper() + str(exc)[1:] + ".") from None
    return Evidence(given["source"], when, given["method"], given["wording"])


@dataclass(frozen=True)
class Options:
    kind: str = "supporters"
    mapping: dict[str, int] | None = None  # field → column; None: from the header's names
    evidence: Evidence | None = None
    overwrite: bool = False  # replace an existing supporter's fields that differ, not only empty ones
    again: bool = False      # import a file imported before (its rows are then unchanged)
    separator: str | None = None


@dataclass(frozen=True)
class Outcome:
    line: int
    result: str  # one of RESULTS
    reason: str = ""


@dataclass
class Progress:
    bytes_read: int
    size: int
    rows: int
    counts: dict[str, int]


@dataclass
class Summary:
    kind: str
    file_name: str
    sha256: str
    dry_run: bool
    separator: str
    header: list[str]
    mapping: dict[str, int]
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys((*RESULTS, "no_consent"), 0))
    rows: int = 0
    blank_lines: int = 0
    import_id: int | None = None
    previous: Previous | None = None  # the same file, imported before

    @property
    def skipped(self) -> bool:
        """Nothing was done: the same file was imported before (and `again` was not asked)."""
        return self.previous is not None and not self.dry_run and self.import_id is None


def check_access(actor: Actor) -> None:
    if actor.scope() is not None:
        raise ScopeError("Importing lists is for national organisers and admins: ask one to import this file.")


def mapping_for(header: list[str], kind: str, given: dict[str, int] | None) -> dict[str, int]:
    """The mapping to use, checked against the header; FileError says what is missing."""
    known = fields_for(kind)
    mapping = default_mapping(header, kind) if given is None else dict(given)
    for name, index in mapping.items():
        if name not in known:
            raise FileError(f"There is no field called {name!r} (the fields are: {', '.join(known)}).")
        if not 0 <= index < len(header):
            raise FileError(f"The column chosen for {name} is not in the file.")
    used = [i for i in mapping.values()]
    if len(used) != len(set(used)):
        raise FileError("One column is chosen for two fields: choose each column once.")
    needed = ("phone", "telegram_id") if kind == "opt-outs" else ("phone", "telegram_id", "email")
    if not any(n in mapping for n in needed):
        columns = ", ".join(repr(h) for h in header[:12]) or "none"
        raise FileError(f"No column holds {' or '.join(n.replace('_', ' ') for n in needed)} (the columns are: "
                        f"{columns}): choose which one does.")
    return mapping


def safe_name(file_name: str) -> str:
    base = file_name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in base if c.isprintable())[:200] or "upload.csv"


async def run(transaction: Transaction, actor: Actor, path: Path, file_name: str, options: Options,
              settings: FlowSettings, now: datetime, *, dry_run: bool,
              on_outcome: Callable[[Outcome], None] | None = None,
              on_progress: Callable[[Progress], None] | None = None) -> Summary:
    """Read the file and import it (or, as a dry run, say what importing it would do)."""
    check_access(actor)
    if options.kind not in KINDS:
        raise FileError(f"Import {' or '.join(KINDS)}, not {options.kind!r}.")
    scanned: Scan = scan(path)
    reader = Reader(path, options.separator)
    header = reader.read_header()
    mapping = mapping_for(header, options.kind, options.mapping)
    summary = Summary(options.kind, safe_name(file_name), scanned.sha256, dry_run, reader.separator or ",",
                      header, mapping)
    if not dry_run:
        for _ in reader:
            pass  # the whole file is read once before anything is written: a broken quote stops it here
    run_key = store.run_key(now)
    async with transaction() as tx:
        summary.previous = await store.previous(tx, options.kind, scanned.sha256)
        if summary.previous is not None and not dry_run and not options.again:
            return summary
        ctx = await _context(tx, options, mapping, settings, now, run_key)
        if not dry_run:
            ev = options.evidence
            if ev is not None:
                store.add_wording(tx, ev.version, ev.wording, "import", now)
            summary.import_id = await store.start(tx, options.kind, summary.file_name, scanned.sha256, actor.label,
                                                  now, None if ev is None else {**ev.as_json(), "wording": ev.wording})
            ctx.import_id = summary.import_id
        await store.begin_run(tx, run_key)
    pending: list[Parsed] = []
    writing: asyncio.Task[None] | None = None

    async def flush(batch: list[Parsed]) -> None:
        async with transaction() as tx:
            for outcome in await decide_batch(tx, ctx, Batch(batch), dry_run):
                summary.counts[outcome.result] += 1
                summary.counts["no_consent"] += outcome.no_consent
                if on_outcome:
                    on_outcome(Outcome(outcome.line, outcome.result, outcome.reason))
        if on_progress:
            on_progress(Progress(reader.bytes_read, scanned.size, summary.rows, dict(summary.counts)))

    try:
        # Each batch is written while the next one is read: SQLite works in its own thread meanwhile.
        for record in reader:
            summary.rows += 1
            pending.append(_parse(record.line, record.cells, mapping, ctx))
            if len(pending) % 200 == 0:
                await asyncio.sleep(0)  # lets the batch being written take its next step
            if len(pending) >= BATCH:
                if writing is not None:
                    await writing
                writing, pending = asyncio.create_task(flush(pending)), []
        if writing is not None:
            await writing
        if pending:
            await flush(pending)
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
            await asyncio.gather(writing, return_exceptions=True)
        async with transaction() as tx:
            await store.end_run(tx, run_key)
    summary.blank_lines = reader.blank_lines
    if not dry_run and summary.import_id is not None:
        async with transaction() as tx:
            store.finish(tx, summary.import_id, summary.counts, now)
            done = ", ".join(f"{summary.counts[r]} {r}" for r in RESULTS)
            audit.note(tx, actor, now, f"import.{options.kind}", target=f"import:{summary.import_id}",
                       detail=f"{summary.rows} rows: {done}")
    return summary


async def _context(tx: Tx, options: Options, mapping: dict[str, int], settings: FlowSettings, now: datetime,
                   run_key: int) -> Context:
    offered: dict[str, str] = {}
    for key in settings.interests:
        offered[key.lower()] = key
        offered[label_in("en", key).lower()] = key
    wordings = await store.wording_versions(tx) | set(CHAT_WORDINGS)
    if options.evidence is not None:
        wordings.add(options.evidence.version)
    return Context(
        kind=options.kind, run=run_key, now=now, zone=settings.timezone, region=settings.sms_default_region,
        salt=settings.erasure_salt, interests=offered, groups=await store.groups_by_name(tx),
        areas=await store.area_groups(tx), wordings=wordings, evidence=options.evidence,
        overwrite=options.overwrite, group_mapped="group" in mapping,
        import_id=None, consent_mapped=any("consent" in name for name in mapping),
        file_claim=None if options.evidence is None else Claim(
            "opt_in", options.evidence.date, options.evidence.method, options.evidence.version))


def _parse(line: int, row: list[str], mapping: dict[str, int], ctx: Context) -> Parsed:
    """One record's cells as values, or refused with the first reason found."""
    width = len(row)
    values = {name: row[i].strip() if i < width else "" for name, i in mapping.items()}
    for name, value in values.items():
        if value[:1] == "'":
            values[name] = plain(value)
    parsed = Parsed(line)
    try:
        if values.get("phone"):
            parsed.phone = cells.phone(values["phone"], ctx.region)
        if values.get("telegram_id"):
            parsed.telegram_id = cells.telegram_id(values["telegram_id"])
        if ctx.kind == "opt-outs":
            if parsed.phone is None and parsed.telegram_id is None:
                raise cells.RowError("no phone number or Telegram id")
            when = values.get("consent_date")
            parsed.opted_out_at = cells.moment(when, ctx.zone, ctx.now, "opt-out date") if when else ctx.now
            return parsed
        if values.get("email"):
            parsed.email = cells.email(values["email"])
        for what in ("first_name", "last_name"):
            if values.get(what):
                setattr(parsed, what, cells.name(values[what], what.replace("_", " ")))
        if values.get("postcode"):
            parsed.postcode = cells.postcode(values["postcode"])
        if values.get("interests"):
            parsed.interests = cells.interests(values["interests"], ctx.interests)
        if values.get("joined_at"):
            parsed.joined_at = cells.moment(values["joined_at"], ctx.zone, ctx.now, "joined date")
        if values.get("language"):
            parsed.language = cells.language(values["language"])
        if values.get("group"):
            group_id = ctx.groups.get(" ".join(values["group"].split()).lower())
            if group_id is None:
                raise cells.RowError(f"there is no local group called {values['group']!r}")
            parsed.group_id = group_id
        if not ctx.consent_mapped:
            if ctx.file_claim is not None:
                parsed.claims = {channel: ctx.file_claim for channel in CHANNELS}
            return parsed
        for channel in CHANNELS:
            claim = _claim(values, channel, ctx, parsed)
            if claim is not None:
                parsed.claims[channel] = claim
    except cells.RowError as exc:
        parsed.refused = str(exc)
    return parsed


def _claim(values: dict[str, str], channel: str, ctx: Context, parsed: Parsed) -> Claim | None:
    """What the row says about consent on one channel (it applies only if they have an address there)."""
    name = "SMS" if channel == "sms" else "Telegram"
    stated = values.get(f"{channel}_consent", "")
    state = cells.state(stated, name) if stated else None
    date = values.get(f"{channel}_consent_date") or values.get("consent_date", "")
    method = values.get(f"{channel}_consent_method") or values.get("consent_method", "")
    wording = values.get(f"{channel}_consent_wording") or values.get("consent_wording", "")
    if state == "none":
        return None
    if state == "opted_out":
        at = cells.moment(date, ctx.zone, ctx.now) if date else ctx.now
        return Claim("opt_out", at, cells.name(method, "consent method") or None, None)
    if date or method or wording:
        missing = [what for what, given in (("date", date), ("method", method), ("wording version", wording))
                   if not given]
        if missing:
            raise cells.RowError(f"{name} consent evidence is incomplete: give its {' and '.join(missing)} too, "
                                 "or none of it")
        if wording not in ctx.wordings:
            raise cells.RowError(f"consent wording {wording!r} is not a version Muster knows (give the file's "
                                 "wording with the import, or use a version already recorded)")
        return Claim("opt_in", cells.moment(date, ctx.zone, ctx.now), cells.name(method, "consent method"), wording)
    if ctx.file_claim is not None:
        return ctx.file_claim
    if state == "opted_in":
        parsed.notes.append(f"marked opted in to {name} without evidence")
    return None


def separator_name(separator: str) -> str:
    return SEPARATOR_NAMES.get(separator, repr(separator))


def describe(counts: dict[str, int]) -> str:
    """'2 new, 1 updated, 0 unchanged, 1 refused'."""
    return ", ".join(f"{counts.get(r, 0):,} {r}" for r in RESULTS)


def as_json(summary: Summary) -> dict[str, Any]:
    return {"kind": summary.kind, "file": summary.file_name, "sha256": summary.sha256, "dry_run": summary.dry_run,
            "rows": summary.rows, "counts": summary.counts, "import_id": summary.import_id,
            "already_imported": None if summary.previous is None else summary.previous.id}
