"""Events in the chat console: the /newevent guided flow, and /events with RSVP counts and buttons
to publish, announce, see the attendees (with a link to the event in the web console), change the
number of places and cancel. flows.organiser.events does the creating, editing, publishing,
announcing and cancelling, and holds the rules each step of the flow checks its answer against.

An organiser scoped to local groups may only create and manage those groups' events;
admins and unscoped organisers may do anything. Roles are read from our database at
every step, never remembered from an earlier message.
"""
from __future__ import annotations

import logging
from typing import Any

from flows.console.broadcasts import actor
from flows.core.context import Context
from flows.core.texts import DEFAULT_LANGUAGE, plural
from flows.core.types import Choice
from flows.organiser.access import Actor, scope
from flows.organiser.errors import EventError, ScopeError
from flows.organiser.events import (
    MAX_TITLE,
    MAX_VENUE,
    Announcement,
    CapacityQuestion,
    announce,
    announce_preview,
    attendees,
    cancel,
    check,
    check_access,
    create,
    edit,
    publish,
)
from flows.supporter import events as ev
from flows.values import dates
from storage import events as store
from storage import groups
from storage.db import parse_ts, ts
from storage.organisers import Role

log = logging.getLogger(__name__)

FLOW = "newevent"
# -- /newevent --------------------------------------------------------------------------
async def _roles_or_stop(ctx: Context) -> list[Role] | None:
    roles = await ctx.roles()
    if not roles:
        ctx.finish()
        ctx.say("console.refused", command="/newevent")
        return None
    return roles


async def new_event(ctx: Context) -> None:
    """/newevent — start the guided flow."""
    ctx.begin(FLOW, "title")
    ctx.say("events.new_title")


def _answer(ctx: Context) -> str:
    """A pressed choice's last part ('newevent:yes' → 'yes'), or the typed text."""
    if ctx.choice and ctx.choice.startswith(f"{FLOW}:"):
        return ctx.choice.split(":", 1)[1]
    return ctx.text.strip()


async def step_title(ctx: Context) -> None:
    try:
        title = check("title", ctx.text, ctx.now)
    except EventError:
        ctx.miss()
        ctx.say("events.new_title_again", limit=MAX_TITLE)
        return
    ctx.conversation.data["title"] = title
    ctx.goto("when")
    ctx.say("events.new_when")


async def step_when(ctx: Context) -> None:
    try:
        moment = dates.parse(ctx.text, ctx.now, ctx.settings.timezone)
    except dates.DateError as exc:
        ctx.miss()
        if exc.reason == "past" and exc.when is not None:
            ctx.say("events.new_when_past", when=dates.full(exc.when, ctx.settings.timezone))
        else:
            ctx.say(f"events.new_when_{exc.reason}")
        return
    ctx.conversation.data["starts_at"] = ts(moment)
    ctx.goto("when_ok")
    ctx.reply(ctx.t("events.new_when_confirm", when=dates.full(moment, ctx.settings.timezone)), [
        Choice(f"{FLOW}:yes", ctx.t("events.yes")), Choice(f"{FLOW}:no", ctx.t("events.no_retype")),
    ])


async def step_when_ok(ctx: Context) -> None:
    answer = _answer(ctx).lower()
    if answer in ("yes", "y", "ok", "correct"):
        try:
            check("starts_at", parse_ts(ctx.conversation.data["starts_at"]), ctx.now)
        except EventError:
            ctx.goto("when")
            ctx.say("events.new_when_past", when=dates.full(parse_ts(ctx.conversation.data["starts_at"])))
            return
        ctx.goto("place")
        ctx.say("events.new_place")
    elif answer in ("no", "n"):
        ctx.goto("when")
        ctx.say("events.new_when")
    else:
        ctx.miss()
        ctx.reply(ctx.t("events.new_when_yes_no"), [
            Choice(f"{FLOW}:yes", ctx.t("events.yes")), Choice(f"{FLOW}:no", ctx.t("events.no_retype")),
        ])


async def step_place(ctx: Context) -> None:
    text = ctx.text.strip()
    if not text:
        ctx.miss()
        ctx.say("events.new_place")
        return
    if text.lower() == "online":
        ctx.conversation.data["online"] = True
        ctx.goto("link")
        ctx.say("events.new_link")
        return
    try:
        check("venue", text, ctx.now)  # refused, not cut
    except EventError:
        ctx.miss()
        ctx.say("events.new_place_too_long", limit=MAX_VENUE)
        return
    ctx.conversation.data["venue"] = text
    ctx.goto("capacity")
    ctx.say("events.new_capacity")


async def step_link(ctx: Context) -> None:
    text = ctx.text.strip()
    if text.lower() != "skip":
        try:
            ctx.conversation.data["online_url"] = check("online_url", text, ctx.now)
        except EventError:
            ctx.miss()
            ctx.say("events.new_link_again")
            return
    else:
        ctx.conversation.data["venue"] = ctx.t("events.online")
    ctx.goto("capacity")
    ctx.say("events.new_capacity")


async def step_capacity(ctx: Context) -> None:
    text = ctx.text.strip().lower()
    try:
        capacity = None if text in ("none", "no", "no limit", "unlimited", "skip", "0") else check(
            "capacity", int(text) if text.isdigit() else text, ctx.now)
    except EventError:
        ctx.miss()
        ctx.say("events.new_capacity_again")
        return
    ctx.conversation.data["capacity"] = capacity
    roles = await _roles_or_stop(ctx)
    if roles is None:
        return
    ctx.goto("group")
    await _offer_groups(ctx, scope(roles))


async def _offer_groups(ctx: Context, limit: list[int] | None) -> None:
    found = [g for g in await groups.list_all(ctx.tx) if limit is None or g.id in limit]
    choices = [Choice(f"{FLOW}:g:{g.id}", g.name) for g in found[:9]]
    if limit is None:
        choices.append(Choice(f"{FLOW}:g:0", ctx.t("events.national")))
    ctx.reply(ctx.t("events.new_group"), choices)


async def step_group(ctx: Context) -> None:
    roles = await _roles_or_stop(ctx)
    if roles is None:
        return
    answer = _answer(ctx)
    group_id: int | None
    if answer.startswith("g:") and answer[2:].isdigit():
        group_id = int(answer[2:]) or None
    elif answer.lower() in ("national", "none"):
        group_id = None
    else:
        found = await groups.by_name(ctx.tx, answer)
        if found is None:
            ctx.miss()
            ctx.say("events.new_group_unknown", name=answer[:60])
            await _offer_groups(ctx, scope(roles))
            return
        group_id = found.id
    data = ctx.conversation.data
    try:
        event = await create(
            ctx.tx, await actor(ctx), ctx.now, title=data["title"], starts_at=parse_ts(data["starts_at"]),
            timezone=ctx.settings.timezone, venue=data.get("venue"), online_url=data.get("online_url"),
            capacity=data.get("capacity"), group_id=group_id,
        )
    except ScopeError:
        ctx.miss()
        names = [g.name for g in await groups.list_all(ctx.tx) if g.id in (scope(roles) or [])]
        ctx.say("events.new_scope", groups=", ".join(names))
        await _offer_groups(ctx, scope(roles))
        return
    except EventError as exc:
        if exc.field == "starts_at":  # the time came while the rest was asked
            ctx.goto("when")
            ctx.say("events.new_when_past", when=dates.full(parse_ts(data["starts_at"]), ctx.settings.timezone))
            return
        if exc.field != "group_id":
            raise
        ctx.miss()
        ctx.say("events.new_group_unknown", name=answer[:60])
        await _offer_groups(ctx, scope(roles))
        return
    await _saved(ctx, event)


async def _saved(ctx: Context, event: store.Event) -> None:
    group = await groups.get(ctx.tx, event.group_id) if event.group_id else None
    ctx.conversation.data["event_id"] = event.id
    ctx.goto("publish")
    ctx.reply(ctx.t(
        "events.new_saved", id=event.id, title=event.title, when=ev.when(event), place=ev.place(event),
        capacity=event.capacity or ctx.t("events.no_limit"), group=group.name if group else ctx.t("events.national"),
    ), [Choice(f"evadm:pub:{event.id}", ctx.t("events.publish_button")),
        Choice(f"{FLOW}:draft", ctx.t("events.draft_button"))])


async def step_publish(ctx: Context) -> None:
    if _answer(ctx).lower() in ("draft", "keep"):
        ctx.say("events.kept_draft", id=ctx.conversation.data.get("event_id"))
        ctx.finish()
        return
    ctx.miss()
    ctx.say("events.publish_or_draft")


async def step_places(ctx: Context) -> None:
    """The new number of places for an event chosen with Places #N (evadm:cap:N)."""
    event = await store.get(ctx.tx, int(ctx.conversation.data.get("event_id", 0)))
    who = await actor(ctx)
    if event is None or not who.roles or not _reaches(who, event):
        ctx.finish()
        ctx.say("console.refused", command="/events")
        return
    text = ctx.text.strip().lower()
    try:
        capacity = None if text in ("none", "no", "no limit", "unlimited", "0") else check(
            "capacity", int(text) if text.isdigit() else text, ctx.now)
    except EventError:
        ctx.miss()
        ctx.say("events.places_again")
        return
    ctx.finish()
    await _set_places(ctx, who, event, capacity, None)


STEPS: dict[str, Any] = {
    "title": step_title, "when": step_when, "when_ok": step_when_ok, "place": step_place,
    "link": step_link, "capacity": step_capacity, "group": step_group, "publish": step_publish,
    "places": step_places,
}


# -- /events and the organiser's buttons -------------------------------------------------------
# evadm:pub|ann|skip|cancel|cx|keep|who|cap:<id>, and evadm:xk|xw:<id>:<places> for the answer to
# a capacity below the people already going (keep them all, or move the extra ones to the waitlist).
MAX_NAMES = 30  # per RSVP state in the attendee list: an SMS is at most 1,600 characters


async def list_events(ctx: Context) -> None:
    """/events — upcoming and draft events in the organiser's scope, with RSVP counts."""
    roles = await ctx.roles()
    if not roles:
        await ev.list_upcoming(ctx)
        return
    limit = scope(roles)
    found = await store.listing(ctx.tx, ctx.now, limit, roles[0].id if roles else None)
    if not found:
        ctx.say("events.admin_none")
        return
    tally = await store.counts(ctx.tx, [e.id for e in found])
    lines: list[str] = [ctx.t("events.admin_list")]
    choices: list[Choice] = []
    for e in found:
        c = tally[e.id]
        lines.append(ctx.t(
            "events.admin_line", id=e.id, label=ev.label(e), status=ctx.t(f"events.state_{e.status}"),
            going=c.get("going", 0), maybe=c.get("maybe", 0), waitlisted=c.get("waitlisted", 0),
            capacity=f"/{e.capacity}" if e.capacity else "",
        ))
        if len(choices) > 6:
            continue
        choices.append(Choice(f"evadm:who:{e.id}", ctx.t("events.attendees_id_button", id=e.id)))
        if e.status == "draft":
            choices.append(Choice(f"evadm:pub:{e.id}", ctx.t("events.publish_id_button", id=e.id)))
        elif e.status == "confirmed" and e.start > ctx.now:
            choices.append(Choice(f"evadm:cancel:{e.id}", ctx.t("events.cancel_id_button", id=e.id)))
    ctx.reply("\n".join(lines), choices)


def _reaches(who: Actor, event: store.Event) -> bool:
    try:
        check_access(who, event)
    except ScopeError:
        return False
    return True


def _lang(ctx: Context) -> str:
    return ctx.supporter.language or DEFAULT_LANGUAGE


def _counted(ctx: Context, word: str, n: int) -> str:
    """'3 people', '1 place': a counted phrase in the organiser's language."""
    return plural(word, n, _lang(ctx))


def _wait(ctx: Context, told: Announcement) -> str:
    wait = told.sms_wait(_lang(ctx))
    return ctx.t("events.sms_wait", wait=wait) if wait else ""


async def _attendee_list(ctx: Context, who: Actor, event: store.Event) -> None:
    """The counts, the names by RSVP state (the waitlist in its order), and the web console's page."""
    rows = await attendees(ctx.tx, who, event)
    c = (await store.tallies(ctx.tx, [event.id]))[event.id]
    lines = [ctx.t("events.attendees_head", id=event.id, title=event.title, when=ev.when(event),
                   status=ctx.t(f"events.state_{event.status}"), going=c["going"],
                   capacity=f"/{event.capacity}" if event.capacity else "", maybe=c["maybe"],
                   waitlisted=c["waitlisted"], attended=c["attended"])]
    for status in ("going", "waitlisted", "maybe", "declined"):
        names = [r["first_name"] or ctx.t("events.no_name") for r in rows if r["status"] == status]
        if status == "waitlisted":
            names = [f"{n}. {name}" for n, name in enumerate(names, 1)]
        if names:
            shown = names[:MAX_NAMES] + ([ctx.t("events.attendees_more", n=len(names) - MAX_NAMES)]
                                         if len(names) > MAX_NAMES else [])
            lines.append(ctx.t(f"events.attendees_{status}", names=", ".join(shown)))
    if not rows:
        lines.append(ctx.t("events.attendees_none"))
    if ctx.settings.public_url:
        lines.append(ctx.t("events.web_link", url=f"{ctx.settings.public_url.rstrip('/')}/console/events/{event.id}"))
    choices = []
    if event.status != "cancelled":
        choices.append(Choice(f"evadm:cap:{event.id}", ctx.t("events.places_id_button", id=event.id)))
    if event.status == "confirmed" and event.start > ctx.now:
        choices.append(Choice(f"evadm:cancel:{event.id}", ctx.t("events.cancel_id_button", id=event.id)))
    ctx.reply("\n".join(lines), choices)


async def _set_places(ctx: Context, who: Actor, event: store.Event, capacity: int | None, extra: str | None) -> None:
    """Change the number of places; below the people going, ask first (keep them, or waitlist the extra)."""
    try:
        done = await edit(ctx.tx, who, event, ctx.now, settings=ctx.settings, extra=extra, capacity=capacity)
    except CapacityQuestion as asked:
        ctx.reply(ctx.t("events.places_question", people=_counted(ctx, "person_is", asked.going), id=event.id,
                        title=event.title, places=_counted(ctx, "place", asked.capacity), extra=asked.extra), [
            Choice(f"evadm:xk:{event.id}:{asked.capacity}", ctx.t("events.places_keep_button")),
            Choice(f"evadm:xw:{event.id}:{asked.capacity}",
                   ctx.t("events.places_waitlist_button", extra=asked.extra)),
        ])
        return
    except EventError:
        ctx.say("events.places_again")
        return
    lines = [ctx.t("events.places_saved", id=event.id, title=event.title,
                   capacity=event.capacity or ctx.t("events.no_limit"))]
    if done.kept:
        lines.append(ctx.t("events.places_kept", kept=done.kept))
    if done.waitlisted:
        lines.append(ctx.t("events.places_moved", moved=_counted(ctx, "person", len(done.waitlisted))))
    if done.promoted:
        lines.append(ctx.t("events.places_promoted", promoted=_counted(ctx, "person", len(done.promoted))))
    ctx.reply("\n".join(lines))


async def chosen(ctx: Context) -> None:
    """evadm:<action>:<id>[:<places>] — publish, announce (or not), attendees, places, cancel (after a
    confirmation), wherever pressed."""
    parts = (ctx.choice or "").split(":")
    who = await actor(ctx)
    ok = len(parts) in (3, 4) and all(p.isdigit() for p in parts[2:])
    event = await store.get(ctx.tx, int(parts[2])) if ok else None
    if event is None or not who.roles or not _reaches(who, event):
        ctx.say("console.refused", command="/events")
        return
    if ctx.conversation.flow == FLOW:
        ctx.finish()
    action = parts[1]
    if action == "pub":
        if event.status == "cancelled":
            ctx.say("events.admin_cancelled", id=event.id)
            return
        if event.status == "draft":
            await publish(ctx.tx, who, event, ctx.now)
        told = await announce_preview(ctx.tx, who, event, ctx.now, ctx.settings)
        ctx.reply(ctx.t("events.published", id=event.id, title=event.title, audience=told.summary(_lang(ctx)),
                        wait=_wait(ctx, told)), [
            Choice(f"evadm:ann:{event.id}", ctx.t("events.announce_button")),
            Choice(f"evadm:skip:{event.id}", ctx.t("events.not_now_button")),
        ])
    elif action == "ann":
        if event.status != "confirmed":
            ctx.say("events.admin_not_published", id=event.id)
            return
        if event.announced_at:
            ctx.say("events.already_announced", id=event.id)
            return
        told = await announce(ctx.tx, who, event, ctx.now, ctx.settings)
        ctx.say("events.announced", audience=told.summary(_lang(ctx)), wait=_wait(ctx, told))
    elif action == "who":
        await _attendee_list(ctx, who, event)
    elif action == "cap" and event.status != "cancelled":
        ctx.begin(FLOW, "places", {"event_id": event.id})
        ctx.say("events.places_ask", id=event.id, title=event.title,
                going=await store.count_going(ctx.tx, event.id))
    elif action in ("xk", "xw") and len(parts) != 4:
        ctx.say("events.places_ask", id=event.id, title=event.title,
                going=await store.count_going(ctx.tx, event.id))
        ctx.begin(FLOW, "places", {"event_id": event.id})
    elif action in ("xk", "xw") and event.status != "cancelled":
        await _set_places(ctx, who, event, int(parts[3]), "keep" if action == "xk" else "waitlist")
    elif action == "cancel" and event.status != "cancelled":
        ctx.reply(ctx.t("events.cancel_confirm", id=event.id, title=event.title), [
            Choice(f"evadm:cx:{event.id}", ctx.t("events.cancel_yes_button")),
            Choice(f"evadm:keep:{event.id}", ctx.t("events.cancel_no_button")),
        ])
    elif action == "cx" and event.status != "cancelled":
        await cancel(ctx.tx, who, event, ctx.now)
        ctx.say("events.cancelled_admin", id=event.id, title=event.title)
    elif action in ("cancel", "cx", "cap", "xk", "xw"):
        ctx.say("events.admin_cancelled_already", id=event.id)
    elif action == "keep":
        ctx.say("events.kept", id=event.id)
    else:
        ctx.say("events.not_announced", id=event.id)
