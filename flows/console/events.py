"""Events in the chat console: the /newevent guided flow, and /events with RSVP counts and buttons
to publish and announce (flows.organiser.events does the publishing and announcing).

An organiser scoped to local groups may only create and manage those groups' events;
admins and unscoped organisers may do anything. Roles are read from our database at
every step, never remembered from an earlier message.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from flows.console.broadcasts import actor
from flows.core.context import Context
from flows.core.types import Choice
from flows.organiser.access import allowed, scope
from flows.organiser.events import (
    DEFAULT_LENGTH,
    MAX_TITLE,
    MAX_VENUE,
    announce,
    audience_size,
    new_public_id,
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
_URL = re.compile(r"^https?://\S+$", re.IGNORECASE)
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
    title = ctx.text.strip()
    if not title or len(title) > MAX_TITLE:
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
        if parse_ts(ctx.conversation.data["starts_at"]) <= ctx.now:
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
    if len(text) > MAX_VENUE:  # refused, not cut: a shortened address could send people to the wrong place
        ctx.miss()
        ctx.say("events.new_place_too_long", limit=MAX_VENUE)
        return
    ctx.conversation.data["venue"] = text
    ctx.goto("capacity")
    ctx.say("events.new_capacity")


async def step_link(ctx: Context) -> None:
    text = ctx.text.strip()
    if text.lower() != "skip" and not _URL.match(text):
        ctx.miss()
        ctx.say("events.new_link_again")
        return
    if text.lower() != "skip":
        ctx.conversation.data["online_url"] = text
    else:
        ctx.conversation.data["venue"] = ctx.t("events.online")
    ctx.goto("capacity")
    ctx.say("events.new_capacity")


async def step_capacity(ctx: Context) -> None:
    text = ctx.text.strip().lower()
    if text in ("none", "no", "no limit", "unlimited", "skip", "0"):
        capacity = None
    elif text.isdigit() and 0 < int(text) <= 100_000:
        capacity = int(text)
    else:
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
    if not allowed(roles, group_id):
        ctx.miss()
        names = [g.name for g in await groups.list_all(ctx.tx) if g.id in (scope(roles) or [])]
        ctx.say("events.new_scope", groups=", ".join(names))
        await _offer_groups(ctx, scope(roles))
        return
    await _create(ctx, group_id)


async def _create(ctx: Context, group_id: int | None) -> None:
    data = ctx.conversation.data
    roles = await ctx.roles()
    starts = parse_ts(data["starts_at"])
    event = await store.create(
        ctx.tx, public_id=new_public_id(), title=data["title"], starts_at=starts,
        ends_at=starts + DEFAULT_LENGTH, now=ctx.now, timezone=ctx.settings.timezone,
        created_by=roles[0].id if roles else None, venue=data.get("venue"),
        online_url=data.get("online_url"), capacity=data.get("capacity"), group_id=group_id,
    )
    group = await groups.get(ctx.tx, group_id) if group_id else None
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


STEPS: dict[str, Any] = {
    "title": step_title, "when": step_when, "when_ok": step_when_ok, "place": step_place,
    "link": step_link, "capacity": step_capacity, "group": step_group, "publish": step_publish,
}


# -- /events and the organiser's buttons (evadm:pub|ann|skip|cancel|cx|keep:<id>) -------------
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
        if e.status == "draft" and len(choices) < 8:
            choices.append(Choice(f"evadm:pub:{e.id}", ctx.t("events.publish_id_button", id=e.id)))
        elif e.status == "confirmed" and e.start > ctx.now and len(choices) < 8:
            choices.append(Choice(f"evadm:cancel:{e.id}", ctx.t("events.cancel_id_button", id=e.id)))
    ctx.reply("\n".join(lines), choices)


async def chosen(ctx: Context) -> None:
    """evadm:<action>:<id> — publish, announce (or not), cancel (after a confirmation), wherever pressed."""
    parts = (ctx.choice or "").split(":")
    roles = await ctx.roles()
    event = await store.get(ctx.tx, int(parts[2])) if len(parts) == 3 and parts[2].isdigit() else None
    if not roles or event is None or not allowed(roles, event.group_id):
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
            await publish(ctx.tx, await actor(ctx), event, ctx.now)
        people, chats = await audience_size(ctx.tx, event)
        ctx.reply(ctx.t("events.published", id=event.id, title=event.title, people=people, chats=chats), [
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
        people, chats = await announce(ctx.tx, await actor(ctx), event, ctx.now, ctx.settings)
        ctx.say("events.announced", people=people, chats=chats)
    elif action == "cancel" and event.status != "cancelled":
        ctx.reply(ctx.t("events.cancel_confirm", id=event.id, title=event.title), [
            Choice(f"evadm:cx:{event.id}", ctx.t("events.cancel_yes_button")),
            Choice(f"evadm:keep:{event.id}", ctx.t("events.cancel_no_button")),
        ])
    elif action == "cx" and event.status != "cancelled":
        await store.set_status(ctx.tx, event, "cancelled", ctx.now)
        ctx.say("events.cancelled_admin", id=event.id, title=event.title)
    elif action in ("cancel", "cx"):
        ctx.say("events.admin_cancelled_already", id=event.id)
    elif action == "keep":
        ctx.say("events.kept", id=event.id)
    else:
        ctx.say("events.not_announced", id=event.id)
