"""Composing broadcasts and action alerts: the draft, its audience, its text and its time.

What the organiser typed is read here (audience filters, times, placeholders) and saved as a
draft; sending it is flows.organiser.sending's job. Every front (the CLI, the chat console)
calls these inside one transaction; who may reach whom is flows.organiser.access's rule.
"""
from __future__ import annotations

import difflib
import json
import logging
import shlex
import textwrap
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.organiser import audit
from flows.organiser.access import Actor, check_access, scoped
from flows.organiser.errors import BodyError, BroadcastError, ScopeError
from flows.organiser.events import check_view
from flows.values import dates, segments
from flows.values.templates import Template, TemplateError, compile_template
from storage import broadcasts as store
from storage import events as events_store
from storage import groups
from storage import suppression as suppression_list
from storage.broadcasts import Audience, Broadcast
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)

CONFIRM_BY_COUNT = 1000  # above this many messages, the organiser types the count to confirm
REPEATS = ("none", "daily", "weekly")
CHANNELS = ("sms", "telegram")
KIND_WORDS = {"broadcast": "broadcast", "alert": "action alert"}  # how each kind is named to organisers


def state(b: Broadcast) -> str:
    """A broadcast's state in the words every front uses: a draft thrown away is "discarded"
    (stored as cancelled, never started or stopped), not "cancelled"."""
    if b.status == "cancelled" and not b.started_at and not b.finished_at:
        return "discarded"
    return b.status


def headline(b: Broadcast, width: int = 40) -> str:
    """The start of its text on one line, cut at a word with an ellipsis."""
    return textwrap.shorten(" ".join(b.body.split()), width, placeholder="…")


# -- reading what the organiser asked for --------------------------------------------------
AUDIENCE_HELP = (
    "all | group:NAME[,NAME] | interest:WORD[,WORD] | channel:sms|telegram | "
    "event:ID[:going,maybe,…] | alert:ID[:done|cant|not_yet] | chats | every"
)


_KEYS = ("group", "interest", "channel", "event", "rsvp", "alert")
_BARE = ("all", "everyone", "every", "every-channel", "chats")


def _tokens(text: str) -> list[str]:
    """'group:Manchester Central (demo),Leeds interest:housing chats' → one token per filter: a word
    that starts no filter of its own carries on the group names before it, so a name with spaces
    needs no quotes (quotes still work)."""
    try:
        words = shlex.split(text)
    except ValueError:  # an apostrophe in a name (King's Lynn) is not a quote
        words = text.split()
    tokens: list[str] = []
    for word in words:
        key, colon, _ = word.partition(":")
        starts = (colon and key.lower() in _KEYS) or word.lower() in _BARE
        if not starts and tokens and tokens[-1].lower().startswith("group:"):
            tokens[-1] += " " + word
        else:
            tokens.append(word)
    return tokens


async def find_group(tx: Tx, name: str) -> int:
    """A local group's id by its name (any case, spaces and all) or number; BroadcastError naming
    the closest names when there is no such group."""
    group = await groups.by_name(tx, name)
    if group is None and name.isdigit():
        group = await groups.get(tx, int(name))
    if group is not None:
        return group.id
    names = [g.name for g in await groups.list_all(tx)]
    folded = {n.casefold(): n for n in names}
    close = [n for n in names if name.casefold() in n.casefold()]
    close += [folded[n] for n in difflib.get_close_matches(name.casefold(), folded, n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    hint = f" Did you mean {' or '.join(repr(n) for n in close)}?" if close else ""
    raise BroadcastError(f"There is no local group called {name!r}.{hint}")


async def parse_audience(tx: Tx, text: str) -> tuple[Audience, bool]:
    """'group:Manchester Central (demo) interest:housing chats' → (Audience, every_channel)."""
    found: dict[str, Any] = {}
    every = False
    for token in _tokens(text or "all"):
        key, _, value = token.partition(":")
        key = key.lower()
        values = [v.strip() for v in value.split(",") if v.strip()]
        if key in ("all", "everyone") and not value:
            continue
        if key in ("every", "every-channel") and not value:
            every = True
        elif key == "chats" and not value:
            found["chats"] = True
        elif key == "group" and values:
            ids = list(found.get("groups", ()))
            for name in values:
                ids.append(await find_group(tx, name))
            found["groups"] = tuple(dict.fromkeys(ids))
        elif key == "interest" and values:
            found["interests"] = tuple(v.lower() for v in values)
        elif key == "channel" and value.lower() in CHANNELS:
            found["channel"] = value.lower()
        elif key in ("event", "rsvp") and value:
            event, _, statuses = value.partition(":")
            wanted = tuple(s.strip().lower() for s in statuses.split(",") if s.strip())
            if not event.isdigit() or set(wanted) - set(store.RSVP_FILTERS):
                raise BroadcastError("Write the event filter as event:ID or event:ID:going,maybe "
                                     "(also declined, waitlisted, attended).")
            found["event_id"], found["rsvp"] = int(event), wanted
        elif key == "alert" and value:
            alert, _, response = value.partition(":")
            response = (response or "not_yet").lower().replace("'", "")
            if not alert.isdigit() or response not in store.ALERT_FILTERS:
                raise BroadcastError("Write the alert filter as alert:ID:done, alert:ID:cant or alert:ID:not_yet.")
            found["alert_id"], found["response"] = int(alert), response
        else:
            raise BroadcastError(f"I don't understand {token!r} in the audience. Use: {AUDIENCE_HELP}")
    return Audience(**found), every


def parse_time(text: str, now: datetime, tz: str) -> datetime | None:
    """'now' → None; otherwise the next such local time: '2026-11-05 18:00', 'tomorrow 18:30',
    'Mon 09:00' (next Monday once this one has passed), '18:00' (today, or tomorrow once passed)."""
    text = (text or "").strip()
    if text.lower() in ("", "now"):
        return None
    try:
        return dates.parse(text, now, tz)
    except dates.DateError as exc:
        words = set(text.lower().replace(",", " ").split())
        if exc.reason == "past" and exc.when is not None and words & set(dates.WEEKDAYS):
            return exc.when + timedelta(days=7)
        if exc.reason == "past":
            raise BroadcastError("That time has already passed; give a time in the future.") from None
    try:
        return dates.parse(f"today {text}", now, tz)
    except dates.DateError as exc:
        if exc.reason == "past" and exc.when is not None:
            return exc.when + timedelta(days=1)
    raise BroadcastError("I couldn't read that time. Try '2026-11-05 18:00' or 'tomorrow 18:30'.")


def local(moment: datetime, tz: str) -> str:
    """'Thu 5 Nov 2026 18:00 GMT': how a time is echoed back to the organiser."""
    value = moment.astimezone(ZoneInfo(tz))
    return f"{value:%a} {value.day} {value:%b %Y %H:%M %Z}"


# -- composing ------------------------------------------------------------------------------
def draft(
    actor: Actor, now: datetime, *, body: str, audience: Audience, every: bool = False,
    kind: str = "broadcast", cta_text: str | None = None, cta_link: str | None = None,
    deadline: datetime | None = None, normalise: bool = True,
) -> Broadcast:
    """The broadcast as typed so far, checked and scoped but not saved (id 0): what a live preview
    shows before anything is kept. BroadcastError (BodyError for the text) says what to change."""
    if not actor.is_organiser:
        raise ScopeError("Only organisers can send broadcasts.")
    if kind not in KIND_WORDS:
        raise BroadcastError("A broadcast is a broadcast or an action alert.")
    body = (body or "").strip()
    if not body:
        raise BodyError("The message is empty.")
    try:
        compile_template(body)
    except TemplateError as exc:
        raise BodyError(str(exc)) from None
    cta_text = (cta_text or "").strip() or None
    if kind == "alert" and not cta_text:
        raise BroadcastError("An action alert needs a call to action, e.g. 'Register to vote'.")
    cta_link = (cta_link or "").strip() or None
    if cta_link and not cta_link.startswith(("https://", "http://")):
        raise BroadcastError("The link must start with https://")
    if deadline is not None and deadline <= now:
        raise BroadcastError("The deadline has already passed; give one still to come.")
    audience = scoped(actor, audience)
    b = Broadcast(0, kind, body, audience.to_json(), "every" if every else "last", "draft", None, "none", None, 0,
                  int(normalise), cta_text, cta_link, ts(deadline) if deadline else None, actor.label,
                  actor.notify_channel, actor.notify_address, json.dumps(list(audience.groups)), 0, 0, 0, ts(now),
                  None, None)
    try:
        segments.check_body(message(b, "sms", FlowSettings()).render())
    except ValueError as exc:
        raise BodyError(str(exc)) from None
    return b


async def compose(
    tx: Tx, actor: Actor, now: datetime, *, body: str, audience: Audience, every: bool = False,
    kind: str = "broadcast", cta_text: str | None = None, cta_link: str | None = None,
    deadline: datetime | None = None, normalise: bool = True,
) -> Broadcast:
    """Check and save a draft; nothing is sent until it is confirmed."""
    b = draft(actor, now, body=body, audience=audience, every=every, kind=kind, cta_text=cta_text,
              cta_link=cta_link, deadline=deadline, normalise=normalise)
    await check_reach(tx, actor, b.filters)
    saved = await store.create(tx, now, **{k: v for k, v in b.__dict__.items()
                                           if k in store.EDITABLE and v is not None and k != "created_at"})
    groups_ = b.filters.groups
    reach = f"groups {','.join(map(str, groups_))}" if groups_ else "everyone"
    audit.note(tx, actor, now, "broadcast.compose", target=f"broadcast:{saved.id}",
               detail=f"{kind} draft to {reach}")
    return saved


def message(b: Broadcast, channel: str, settings: FlowSettings) -> Template:
    """The template a recipient on `channel` gets: body, the alert's call to action, SMS stop line."""
    body, cta = b.body, b.cta_text
    if b.normalise:
        body = segments.normalise(body)[0]
        cta = segments.normalise(cta)[0] if cta else cta
    template = compile_template(body)
    if b.kind == "alert":
        extra = "\n\n" + t("broadcasts.alert_cta", cta=cta) + (f" {b.cta_link}" if b.cta_link else "")
        if b.deadline:
            extra += "\n" + t("broadcasts.alert_deadline", deadline=local(parse_ts(b.deadline), settings.timezone))
        extra += "\n" + t("broadcasts.alert_reply")
        template = template.then(extra)
    if channel == "sms":
        template = template.then("\n" + t("broadcasts.sms_stop"))
    return template


def alert_choices(b: Broadcast) -> list[list[str]] | None:
    if b.kind != "alert":
        return None
    return [[f"alert:{b.id}:done", t("alerts.done_button")], [f"alert:{b.id}:cant", t("alerts.cant_button")]]


async def suppressed_ids(tx: Tx, salt: str | None) -> list[int]:
    """Supporters whose phone or Telegram id is on the erasure suppression list."""
    hashes = await store.suppression_hashes(tx)
    if not hashes or not salt:
        return []
    found: set[int] = set()
    for kind in hashes:
        for sid, value in await store.addresses(tx, kind):
            if suppression_list.digest(salt, kind, value) in hashes[kind]:
                found.add(sid)
    return sorted(found)


async def followup(tx: Tx, actor: Actor, alert: Broadcast, now: datetime, body: str | None = None) -> Broadcast:
    """A draft of the same alert to everyone who got it and has not answered yet."""
    if alert.kind != "alert":
        raise BroadcastError(f"Broadcast {alert.id} is not an action alert.")
    check_access(actor, alert)
    original = alert.filters
    audience = Audience(groups=original.groups, channel=original.channel, alert_id=alert.id, response="not_yet")
    if not sum((await store.count(tx, audience, alert.channel_mode == "every")).values()):
        raise BroadcastError(f"Everyone who got action alert #{alert.id} has answered it or can no longer be "
                             "reached: there is no one to follow up.")
    deadline = parse_ts(alert.deadline) if alert.deadline else None
    return await compose(
        tx, actor, now, body=body or alert.body, audience=audience, every=alert.channel_mode == "every",
        kind="alert", cta_text=alert.cta_text, cta_link=alert.cta_link,
        deadline=deadline if deadline and deadline > now else None, normalise=bool(alert.normalise),
    )


# -- what the console lists and checks ------------------------------------------------------------
# The console's list filters: what each shows (a discarded draft and a missed one count as cancelled).
SHOWN = {"all": (), "draft": ("draft",), "scheduled": ("scheduled",), "sending": ("sending",), "sent": ("sent",),
         "cancelled": ("cancelled", "missed")}


def _seeing(actor: Actor) -> tuple[int, ...] | None:
    if not actor.is_organiser:
        raise ScopeError("Only organisers can see broadcasts.")
    return actor.scope()


async def listing(tx: Tx, actor: Actor, *, shown: str = "all", kind: str | None = None, before: int | None = None,
                  limit: int = 50) -> list[Broadcast]:
    """The broadcasts the actor may act on (check_access's rule), newest first, `limit` at a time."""
    if shown not in SHOWN:
        raise BroadcastError(f"Show one of: {', '.join(SHOWN)}.")
    return await store.listing(tx, groups=_seeing(actor), statuses=SHOWN[shown], kind=kind, before=before,
                               limit=limit)


async def tally(tx: Tx, actor: Actor) -> dict[str, int]:
    """How many of the actor's broadcasts each list filter shows."""
    counts = await store.status_counts(tx, _seeing(actor))
    return {name: sum(counts.get(s, 0) for s in statuses) if statuses else sum(counts.values())
            for name, statuses in SHOWN.items()}


async def one(tx: Tx, actor: Actor, broadcast_id: int) -> Broadcast:
    """A broadcast the actor may act on: LookupError when there is none, ScopeError when not theirs."""
    b = await store.get(tx, broadcast_id)
    if b is None:
        raise LookupError(f"no broadcast #{broadcast_id}")
    check_access(actor, b)
    return b


async def check_reach(tx: Tx, actor: Actor, audience: Audience) -> None:
    """The event and the action alert an audience names must be ones the actor may see (the
    recipients are limited to their groups anyway; this keeps others' RSVPs and answers private)."""
    if audience.event_id is not None:
        event = await events_store.get(tx, audience.event_id)
        if event is None:
            raise BroadcastError(f"There is no event #{audience.event_id}.")
        check_view(actor, event)
    if audience.alert_id is not None:
        alert = await store.get(tx, audience.alert_id)
        if alert is None or alert.kind != "alert" or alert.status not in ("sending", "sent"):
            raise BroadcastError(f"There is no action alert #{audience.alert_id} that has been sent.")
        check_access(actor, alert)
