"""What becomes of each row of an import batch: new, updated, unchanged or refused, and why; and,
unless it is a dry run, the writes that make it so (see flows.organiser.imports for the rules)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import count
from typing import Any

from flows.values.postcodes import Postcode
from storage import consent
from storage import imports as store
from storage.db import Tx, ts
from storage.imports import ConsentRow, Known, NewSupporter
from storage.supporters import CHANNELS
from storage.suppression import digest

CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram"}
_KEY_NAMES = {"p": "phone number", "t": "Telegram id", "e": "email", "s": "supporter"}
ERASED = "erased at their request: never re-added by an import"
OPTED_OUT_ELSEWHERE = "opted out on another platform (an imported opt-out list): never added by an import"


@dataclass(frozen=True)
class Claim:
    """What a row says about consent on one channel, with its evidence."""
    action: str  # 'opt_in' or 'opt_out'
    at: datetime
    method: str | None
    wording_version: str | None
    stamp: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "stamp", ts(self.at))  # written once, however many rows it is for


@dataclass
class Parsed:
    line: int
    refused: str | None = None
    phone: str | None = None
    telegram_id: int | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    postcode: Postcode | None = None
    interests: list[str] = field(default_factory=list)
    language: str | None = None
    group_id: int | None = None
    claims: dict[str, Claim] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    opted_out_at: datetime | None = None
    joined_at: datetime | None = None


@dataclass
class Context:
    """What every batch of one import shares."""
    kind: str
    run: int
    now: datetime
    zone: str
    region: str
    salt: str
    interests: dict[str, str]
    groups: dict[str, int]
    areas: dict[str, int]
    wordings: set[str]
    evidence: Any
    overwrite: bool
    group_mapped: bool
    import_id: int | None
    consent_mapped: bool = True
    file_claim: Claim | None = None


@dataclass
class Batch:
    rows: list[Parsed]


@dataclass(frozen=True)
class Decided:
    line: int
    result: str
    reason: str = ""
    no_consent: bool = False


@dataclass
class _Writes:
    supporters: list[NewSupporter] = field(default_factory=list)
    consents: list[ConsentRow] = field(default_factory=list)
    interests: list[tuple[int, str]] = field(default_factory=list)
    replaced: list[int] = field(default_factory=list)
    suppress: list[tuple[str, str]] = field(default_factory=list)


def _keys(r: Parsed) -> list[str]:
    keys = []
    if r.phone:
        keys.append(f"p:{r.phone}")
    if r.telegram_id is not None:
        keys.append(f"t:{r.telegram_id}")
    if r.email:
        keys.append(f"e:{r.email.lower()}")
    return keys


def _hashes(ctx: Context, r: Parsed) -> dict[str, str]:
    """kind → suppression hash of the row's identities."""
    found = {}
    if r.phone:
        found["phone"] = digest(ctx.salt, "phone", r.phone)
    if r.telegram_id is not None:
        found["telegram"] = digest(ctx.salt, "telegram", r.telegram_id)
    return found


async def decide_batch(tx: Tx, ctx: Context, batch: Batch, dry_run: bool) -> list[Decided]:
    """Each row's outcome, in order. A row repeating an earlier one of the file is found by its keys
    within the batch; across batches, a dry run asks the run's table of keys, and an import (whose
    earlier batches are written) finds the supporter made or updated by the earlier line."""
    live = [r for r in batch.rows if r.refused is None]
    phones = [r.phone for r in live if r.phone]
    tgs = [r.telegram_id for r in live if r.telegram_id is not None]
    emails = [r.email for r in live if r.email] if ctx.kind == "supporters" else []
    by_phone = await store.by_phone(tx, phones) if phones else {}
    by_tg = await store.by_telegram(tx, tgs) if tgs else {}
    by_email = await store.by_email(tx, emails) if emails else {}
    if dry_run:
        earlier = await store.seen(tx, ctx.run, [k for r in live for k in _keys(r)])
    else:
        matched = {k.supporter.id for found in (by_phone, by_tg, by_email) for k in found.values()}
        earlier = await store.seen(tx, ctx.run, [f"s:{i}" for i in sorted(matched)])
    hashes = {id(r): _hashes(ctx, r) for r in live}
    blocked = await store.suppressed(tx, [h for found in hashes.values() for h in found.values()])
    writes = _Writes()
    fresh = sum(1 for r in live if not (by_phone.get(r.phone or "") or by_tg.get(r.telegram_id or 0)
                                        or by_email.get((r.email or "").lower())))
    next_id: Iterator[int] = (iter(await store.supporter_ids(tx, fresh)) if not dry_run and ctx.kind == "supporters"
                              else count(1))
    now_seen: dict[str, int] = {}
    out: list[Decided] = []
    for r in batch.rows:
        if r.refused is not None:
            out.append(Decided(r.line, "refused", r.refused))
            continue
        keys = _keys(r)
        dup = next(((k, earlier.get(k) or now_seen[k]) for k in keys if k in earlier or k in now_seen), None)
        for k in keys:
            now_seen.setdefault(k, r.line)
        if dup is not None:
            out.append(_duplicate(ctx, r, dup[0][0], dup[1]))
            continue
        if ctx.kind == "opt-outs":
            out.append(_opt_out(tx, ctx, r, by_phone, by_tg, hashes[id(r)], blocked, writes, dry_run))
            continue
        hit = [blocked[h] for h in hashes[id(r)].values() if h in blocked]
        if hit:
            out.append(Decided(r.line, "refused", ERASED if "erased" in hit else OPTED_OUT_ELSEWHERE))
            continue
        how, known = next(((how, k) for how, k in (("p", by_phone.get(r.phone or "")),
                                                    ("t", by_tg.get(r.telegram_id or 0)),
                                                    ("e", by_email.get((r.email or "").lower()))) if k), ("", None))
        if known is None:
            decided = _new(ctx, r, writes, next_id)
            if decided.result == "new" and not dry_run:
                now_seen[f"s:{writes.supporters[-1].id}"] = r.line
            out.append(decided)
            continue
        key = f"s:{known.supporter.id}"
        if key in earlier or key in now_seen:
            out.append(_duplicate(ctx, r, how, earlier.get(key) or now_seen[key]))
            continue
        now_seen[key] = r.line
        out.append(_update(tx, ctx, r, known, writes, dry_run))
    store.remember(tx, ctx.run, now_seen.items() if dry_run else
                   [(k, line) for k, line in now_seen.items() if k.startswith("s:")])
    if not dry_run:
        store.insert_supporters(tx, writes.supporters, ctx.now)
        store.insert_consents(tx, writes.consents)
        store.set_interests(tx, writes.interests, writes.replaced)
        store.suppress(tx, writes.suppress, ctx.import_id, ctx.now)
    return out


def _duplicate(ctx: Context, r: Parsed, how: str, line: int) -> Decided:
    said = f"the same {_KEY_NAMES[how]} as line {line}"
    if ctx.kind == "opt-outs":
        return Decided(r.line, "unchanged", f"already on the list: {said}")
    return Decided(r.line, "refused", f"a duplicate: {said}")


def _group_for(ctx: Context, r: Parsed) -> int | None:
    if ctx.group_mapped:
        return r.group_id
    if r.postcode is not None:
        return ctx.areas.get(r.postcode.outward) or ctx.areas.get(r.postcode.area)
    return None


def _said(parts: list[str]) -> str:
    return "; ".join(p for p in parts if p)


_BOTH = {("sms",): "SMS", ("telegram",): "Telegram", ("sms", "telegram"): "SMS and Telegram"}


def _channels(names: list[str]) -> str:
    return _BOTH[tuple(names)]


def _new(ctx: Context, r: Parsed, writes: _Writes, next_id: Iterator[int]) -> Decided:
    if r.phone is None and r.telegram_id is None:
        return Decided(r.line, "refused", "no phone number or Telegram id (and no supporter has this email)")
    supporter_id = next(next_id)
    addresses = {"sms": r.phone, "telegram": r.telegram_id}
    states = {}
    opted_in = []
    for channel in CHANNELS:
        claim = r.claims.get(channel) if addresses[channel] is not None else None
        states[channel] = "none" if claim is None else "opted_in" if claim.action == "opt_in" else "opted_out"
        if claim is not None:
            writes.consents.append(ConsentRow(supporter_id, channel, claim.action, "import", claim.wording_version,
                                              claim.stamp, ctx.import_id, claim.method))
            if claim.action == "opt_in":
                opted_in.append(channel)
    pc = r.postcode
    writes.supporters.append(NewSupporter(
        supporter_id, r.phone, r.telegram_id, r.first_name, r.last_name, r.email, pc.postcode if pc else None,
        pc.outward if pc else None, _group_for(ctx, r), r.language or "en", states["sms"], states["telegram"],
        r.joined_at))
    writes.interests += [(supporter_id, i) for i in r.interests]
    if opted_in:
        return Decided(r.line, "new", _said([f"opted in to {_channels(opted_in)}", *r.notes]))
    return Decided(r.line, "new", _said(["no consent evidence: a contact, never messaged", *r.notes]), True)


def _update(tx: Tx, ctx: Context, r: Parsed, known: Known, writes: _Writes, dry_run: bool) -> Decided:
    s = known.supporter
    changes: dict[str, Any] = {}
    filled: list[str] = []
    replaced: list[str] = []
    notes = list(r.notes)

    def offer(column: str, value: Any, current: Any, label: str) -> None:
        if value is None or value == "":
            return
        if current is None or current == "":
            changes[column] = value
            filled.append(label)
        elif ctx.overwrite and current != value:
            changes[column] = value
            replaced.append(label)

    offer("first_name", r.first_name, s.first_name, "first name")
    offer("last_name", r.last_name, known.last_name, "last name")
    if r.email and (s.email or "").lower() != r.email.lower():
        offer("email", r.email, s.email, "email")
    if r.postcode is not None:
        offer("postcode", r.postcode.postcode, s.postcode, "postcode")
        if "postcode" in changes:
            changes["area"] = r.postcode.outward
    offer("group_id", _group_for(ctx, r), s.group_id, "local group")
    if ctx.overwrite and r.language:
        offer("language", r.language, s.language, "language")
    for column, value, current, label in (("phone", r.phone, s.phone, "phone number"),
                                          ("telegram_id", r.telegram_id, s.telegram_id, "Telegram id")):
        if value is not None and current is None:
            changes[column] = value
            filled.append(label)
        elif value is not None and current != value:
            notes.append(f"kept their {label} (the file gives another)")
    if r.interests and (not known.interests or (ctx.overwrite and set(r.interests) != set(known.interests))):
        (replaced if known.interests else filled).append("interests")
        if known.interests:
            writes.replaced.append(s.id)
        writes.interests += [(s.id, i) for i in r.interests]
    addresses = {"sms": changes.get("phone", s.phone), "telegram": changes.get("telegram_id", s.telegram_id)}
    said: list[str] = []
    for channel in CHANNELS:
        claim = r.claims.get(channel)
        if claim is None or addresses[channel] is None:
            continue
        current = s.consent(channel)
        if claim.action == "opt_out" and current != "opted_out" or claim.action == "opt_in" and current == "none":
            said.append(("opted in to " if claim.action == "opt_in" else "opted out of ") + CHANNEL_NAMES[channel])
            if not dry_run:
                consent.record(tx, s, channel, claim.action, "import", claim.at, claim.wording_version,
                               import_id=ctx.import_id, method=claim.method)
        elif claim.action == "opt_in" and current == "opted_out":
            notes.append(f"opted out of {CHANNEL_NAMES[channel]}: stays opted out")
    if changes and not dry_run:
        store.update_supporter(tx, s.id, changes)
    if not (filled or replaced or said):
        return Decided(r.line, "unchanged", _said(["already a supporter: nothing to add", *notes]))
    return Decided(r.line, "updated", _said([f"filled {', '.join(filled)}" if filled else "",
                                             f"replaced {', '.join(replaced)}" if replaced else "", *said, *notes]))


def _opt_out(tx: Tx, ctx: Context, r: Parsed, by_phone: dict[str, Known], by_tg: dict[int, Known],
             hashes: dict[str, str], blocked: dict[str, str], writes: _Writes, dry_run: bool) -> Decided:
    """An opt-out made elsewhere: a supporter here is opted out on that channel; a number not known here
    goes on the suppression list, so that no import can add it."""
    at = r.opted_out_at or ctx.now
    opted, kept, listed, suppressed = [], [], [], []
    for channel, kind, known in (("sms", "phone", by_phone.get(r.phone or "")),
                                 ("telegram", "telegram", by_tg.get(r.telegram_id or 0))):
        if kind not in hashes:
            continue
        if known is not None:
            if known.supporter.consent(channel) == "opted_out":
                kept.append(channel)
                continue
            opted.append(channel)
            if not dry_run:
                consent.record(tx, known.supporter, channel, "opt_out", "import-opt-out", at, import_id=ctx.import_id)
        elif hashes[kind] in blocked:
            listed.append(channel)
        else:
            suppressed.append(channel)
            writes.suppress.append((hashes[kind], kind))
    if opted:
        return Decided(r.line, "updated", f"opted out of {_channels(opted)}")
    if suppressed:
        return Decided(r.line, "new", "not a supporter here: on the suppression list, so no import adds them")
    if kept:
        return Decided(r.line, "unchanged", f"already opted out of {_channels(kept)}")
    return Decided(r.line, "unchanged", "already on the suppression list")
