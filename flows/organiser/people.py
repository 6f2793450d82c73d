"""Supporters as organisers find, read and change them, for every front.

Who reaches whom is flows.organiser.access's rule: an organiser of local groups reaches those
groups' supporters; a national organiser, an admin and the command line reach everyone. A
supporter outside an organiser's reach is, to them, not there (UnknownSupporter, as for an
unknown or erased one). Erased supporters are never listed or shown.

Changes an organiser may make on a supporter's behalf: move them to a group within their reach
(to no group, or any group, for national organisers and admins), add or take away an interest
from the configured list, and opt them out of a channel, with the reason, written to the consent
log as any opt-out is (queued bulk messages on that channel are cancelled). Nobody is ever
opted *in* on their behalf: consent is only ever the supporter's own. Each change is audited.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from flows.core.texts import LANGUAGE_NAMES, available
from flows.organiser import audit
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError, SupporterError, UnknownSupporter
from flows.supporter.interests import label_in
from flows.values import phones, postcodes
from storage import consent, interests, people, supporters
from storage.db import Tx, parse_ts
from storage.people import Attending, ConsentEvent, Cursor, Filters, Listed, Match, Received, Referrals
from storage.supporters import CHANNELS, Supporter

PAGE = 50
MAX_SEARCH = 100
REASON_LENGTH = (3, 300)
CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram"}
CONSENT_NAMES = {"opted_in": "opted in", "opted_out": "opted out", "not_asked": "not asked"}
_OUTWARD = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?$")
_PHONE_LIKE = re.compile(r"^[+\d][\d\s()-]*$")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Query:
    """A search as a front received it: every field a string, '' when not given."""
    text: str = ""
    group: str = ""        # a group id, or 'none' for supporters with no group
    interest: str = ""
    channel: str = ""      # 'sms' or 'telegram'
    consent: str = ""      # 'sms:opted_in', 'telegram:not_asked', …
    joined_from: str = ""  # YYYY-MM-DD, UTC days, both ends included
    joined_to: str = ""
    language: str = ""     # 'en', 'cy'
    sort: str = "newest"   # or 'name'
    after: str = ""        # the next page's cursor: the last row's sort key and id
    after_id: str = ""


@dataclass(frozen=True)
class Results:
    rows: list[Listed]
    next: Cursor | None  # where the next page starts; None on the last page
    match: Match | None  # what the search box was read as
    groups: list[tuple[int, str]]  # the groups the organiser may filter by
    national: bool  # may see (and filter for) supporters with no group


@dataclass(frozen=True)
class Profile:
    supporter: Supporter
    group_name: str | None
    interests: list[str]
    offered: list[str]  # configured interests they do not have yet
    consent: list[ConsentEvent]
    events: list[Attending]
    received: list[Received]
    referrals: Referrals
    recruiter_visible: bool  # the recruiter is in the organiser's reach too
    move_to: list[tuple[int, str]]  # the groups the organiser may move them to
    may_unassign: bool  # may take them out of every group (national organisers and admins)
    may_opt_out: list[str] = field(default_factory=list)  # channels not yet opted out of


def interest_label(key: str, lang: str = "en") -> str:
    return label_in(lang, key)


def _fold(text: str) -> str:
    """Lower case as the database folds it for sorting and prefix search (ASCII letters only)."""
    return text.translate(_ASCII_LOWER)


def interpret(text: str, region: str = "GB") -> Match | None:
    """What the search box holds: an email address (or its start, or '@domain'), phone digits,
    a postcode or outward code, or else the start of a name."""
    text = " ".join(text.split())
    if not text:
        return None
    if len(text) > MAX_SEARCH:
        raise SupporterError("people.error_search_long", limit=MAX_SEARCH)
    if "@" in text:
        folded = _fold(text.replace(" ", ""))
        return Match("email", folded, anywhere=folded.startswith("@"))
    if _PHONE_LIKE.match(text):
        digits = re.sub(r"\D", "", text)
        if len(digits) < 3:
            raise SupporterError("people.error_digits")
        # Typed as dialled: the start of numbers as stored (E.164), read from the phone index.
        if text.startswith("00") and len(digits) > 2:
            return Match("phone", f"+{digits[2:]}")
        if text.startswith("+"):
            return Match("phone", f"+{digits}")
        if text.startswith("0") and len(digits) > 1:
            return Match("phone", f"{phones.country_prefix(region)}{digits[1:]}")
        return Match("phone", digits, anywhere=True, telegram_id=int(digits))
    if any(c.isdigit() for c in text):
        upper = text.upper()
        found = postcodes.parse(upper)
        if found:
            return Match("postcode", found.postcode, exact=True)
        if _OUTWARD.match(upper):
            return Match("outward", upper)
        return Match("postcode", upper)
    return Match("name", _fold(text))


def _day(text: str, what: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SupporterError(f"people.error_date_{what}") from None


def _cursor(query: Query) -> Cursor | None:
    if not query.after_id:
        return None
    if not query.after_id.isdigit() or len(query.after) > 200:
        raise SupporterError("people.error_page")
    if query.sort == "newest":
        try:
            parse_ts(query.after)
        except ValueError:
            raise SupporterError("people.error_page") from None
    return Cursor(query.after, int(query.after_id))


def filters(actor: Actor, query: Query, configured: tuple[str, ...], region: str = "GB") -> Filters:
    """The search as storage filters, within the actor's reach; SupporterError for nonsense,
    ScopeError for a group beyond their reach."""
    limit = actor.scope()
    group_id, no_group = None, False
    if query.group == "none":
        if limit is not None:
            raise ScopeError("people.error_no_group_scope")
        no_group = True
    elif query.group:
        if not query.group.isdigit():
            raise SupporterError("people.error_choose_group")
        group_id = int(query.group)
        if limit is not None and group_id not in limit:
            raise ScopeError("people.error_not_yours")
    if query.interest and query.interest not in configured:
        raise SupporterError("people.error_choose_interest")
    if query.channel and query.channel not in CHANNELS:
        raise SupporterError("people.error_choose_channel")
    wanted = None
    if query.consent:
        channel, _, state = query.consent.partition(":")
        if channel not in CHANNELS or state not in people.CONSENT_STATES:
            raise SupporterError("people.error_choose_consent")
        wanted = (channel, state)
    first, last = _day(query.joined_from, "first"), _day(query.joined_to, "last")
    if first and last and first > last:
        raise SupporterError("people.error_dates_order")
    if query.sort not in people.SORTS:
        raise SupporterError("people.error_sort")
    if query.language and query.language not in available():
        raise SupporterError("people.error_language")
    return Filters(
        match=interpret(query.text, region), groups=limit, group_id=group_id, no_group=no_group,
        interest=query.interest or None, channel=query.channel or None, consent=wanted,
        language=query.language or None, joined_from=datetime.combine(first, time(), UTC) if first else None,
        joined_before=datetime.combine(last + timedelta(days=1), time(), UTC) if last else None,
    )


async def search(tx: Tx, actor: Actor, query: Query, configured: tuple[str, ...], region: str = "GB") -> Results:
    """One page of the supporters in the actor's reach that match the query."""
    wanted = filters(actor, query, configured, region)
    rows, after = await people.search(tx, wanted, query.sort, _cursor(query), PAGE)
    limit = actor.scope()
    return Results(rows, after, wanted.match, await people.group_names(tx, limit), limit is None)


async def group_choices(tx: Tx, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the groups the actor reaches, by name."""
    return await people.group_names(tx, actor.scope())


async def _reach(tx: Tx, actor: Actor, supporter_id: int) -> Supporter:
    """The supporter, if the actor reaches them (UnknownSupporter otherwise)."""
    found = await supporters.get(tx, supporter_id)
    limit = actor.scope()
    if found is None or found.status == "erased" or (limit is not None and found.group_id not in limit):
        raise UnknownSupporter(f"There is no supporter #{supporter_id} among yours.")
    return found


async def profile(tx: Tx, actor: Actor, supporter_id: int, configured: tuple[str, ...]) -> Profile:
    """Everything a supporter's page shows."""
    person = await _reach(tx, actor, supporter_id)
    limit = actor.scope()
    groups = await people.group_names(tx, limit)
    group_name = next((name for gid, name in groups if gid == person.group_id), None)
    if group_name is None and person.group_id is not None:
        group_name = dict(await people.group_names(tx, (person.group_id,))).get(person.group_id)
    held = await interests.of(tx, person.id)
    referrals = await people.referrals(tx, person.id, person.referred_by)
    recruiter_visible = (referrals.recruited_by is not None and not referrals.recruiter_erased
                         and (limit is None or referrals.recruiter_group_id in limit))
    return Profile(
        supporter=person, group_name=group_name, interests=held,
        offered=[i for i in configured if i not in held],
        consent=await people.consent_history(tx, person.id), events=await people.attending(tx, person.id),
        received=await people.received(tx, person.id), referrals=referrals, recruiter_visible=recruiter_visible,
        move_to=[(gid, name) for gid, name in groups if gid != person.group_id],
        may_unassign=limit is None and person.group_id is not None,
        may_opt_out=[c for c in CHANNELS if person.consent(c) != "opted_out"],
    )


async def move(tx: Tx, actor: Actor, supporter_id: int, group_id: int | None, now: datetime) -> str | None:
    """Move a supporter to another local group (None: to no group); returns the new group's name."""
    person = await _reach(tx, actor, supporter_id)
    limit = actor.scope()
    if group_id is None:
        if limit is not None:
            raise ScopeError("people.error_out_of_groups")
        name = None
    else:
        if limit is not None and group_id not in limit:
            raise ScopeError("people.error_move_own")
        name = dict(await people.group_names(tx, (group_id,))).get(group_id)
        if name is None:
            raise SupporterError("people.error_group_gone")
    if person.group_id == group_id:
        raise SupporterError("people.error_in_group")
    was = person.group_id
    supporters.update(tx, person, group_id=group_id)
    audit.note(tx, actor, now, "supporter.move", target=f"supporter:{person.id}",
               detail=f"group {was if was is not None else 'none'} → {group_id if group_id is not None else 'none'}")
    return name


async def add_interest(tx: Tx, actor: Actor, supporter_id: int, interest: str, configured: tuple[str, ...],
                       now: datetime) -> bool:
    """Give them one of the configured interests; False when they had it already."""
    person = await _reach(tx, actor, supporter_id)
    if interest not in configured:
        raise SupporterError("people.error_choose_interest")
    added = await interests.add(tx, person.id, interest)
    if added:
        audit.note(tx, actor, now, "supporter.interest_add", target=f"supporter:{person.id}", detail=interest)
    return added


async def remove_interest(tx: Tx, actor: Actor, supporter_id: int, interest: str, now: datetime) -> bool:
    """Take an interest away (any they have, offered or not any more); False when they had not got it."""
    person = await _reach(tx, actor, supporter_id)
    removed = await interests.remove(tx, person.id, interest)
    if removed:
        audit.note(tx, actor, now, "supporter.interest_remove", target=f"supporter:{person.id}",
                   detail=interest[:40])
    return removed


async def opt_out(tx: Tx, actor: Actor, supporter_id: int, channel: str, reason: str, now: datetime) -> None:
    """Opt them out of a channel on their behalf, saying why: the consent log records it (source
    'organiser', with the reason), like any opt-out it cancels bulk messages still queued on that
    channel, and the audit log records who did it (not the reason, which may name them)."""
    person = await _reach(tx, actor, supporter_id)
    if channel not in CHANNELS:
        raise SupporterError("people.error_choose_channel")
    reason = " ".join(reason.split())
    shortest, longest = REASON_LENGTH
    if len(reason) < shortest:
        raise SupporterError("people.error_reason")
    if len(reason) > longest:
        raise SupporterError("people.error_reason_long", limit=longest)
    if person.consent(channel) == "opted_out":
        raise SupporterError("people.error_opted_out", channel=CHANNEL_NAMES[channel])
    consent.record(tx, person, channel, "opt_out", "organiser", now, reason=reason)
    audit.note(tx, actor, now, "supporter.opt_out", target=f"supporter:{person.id}", detail=f"channel {channel}")


async def set_language(tx: Tx, actor: Actor, supporter_id: int, language: str, now: datetime) -> bool:
    """The language they are written to in (as CYMRAEG or ENGLISH would set it); False when it was already."""
    person = await _reach(tx, actor, supporter_id)
    if language not in LANGUAGE_NAMES:
        raise SupporterError("people.error_language")
    if person.language == language and person.language_stated:
        return False
    before = person.language
    supporters.update(tx, person, language=language)  # stated now, English included
    audit.note(tx, actor, now, "supporter.language", target=f"supporter:{person.id}",
               detail=f"language {before} → {language}")
    return True
