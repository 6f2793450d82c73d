"""The routing table, in the fixed order of the design:

1. events that are not text (contact shared, bot blocked, …) by their kind;
2. opt-out / opt-in / help keywords — before anything else can answer;
3. other global keywords and organiser commands (MENU, EVENTS, MYDATA, /newevent, …);
4. buttons whose key names their own handler ("rsvp:12:yes"), wherever they were pressed;
5. the step the supporter's active flow is waiting on;
6. the fallback: the menu.

Flows add themselves here; nothing else decides who answers.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.console import broadcasts as broadcast_console
from flows.console import commands as console
from flows.console import events as event_admin
from flows.core import keywords
from flows.core.context import Context, Handler
from flows.supporter import alerts, consent, events, identity, media, menu, privacy, referrals, signup, telegram_groups
from flows.supporter.language import KEYWORDS as LANGUAGE_KEYWORDS
from flows.supporter.web_signup import FLOW as WEB_SIGNUP
from flows.supporter.web_signup import STEPS as WEB_SIGNUP_STEPS
from flows.verdicts import telegram_status


@dataclass(frozen=True)
class Flow:
    name: str
    steps: Mapping[str, Handler] = field(default_factory=dict)
    # For a step, the reads it is about to make (Context.tx's reads, not yet awaited), which the
    # engine runs with those of the batch's other messages (Tx.read_ahead). Only ever a saving:
    # a read not asked for after all costs its share of one round trip, and one not named here
    # is made when the step asks.
    ahead: Mapping[str, Callable[[Context], list[Awaitable[Any]]]] = field(default_factory=dict)


# Non-text inbound kinds → handler.
EVENTS: dict[str, Handler] = {
    "media": media.received,
    "blocked": telegram_status.blocked,
    "unblocked": telegram_status.unblocked,
    "group_added": telegram_groups.added,
    "group_removed": telegram_groups.removed,
    "group_join": telegram_groups.member_joined,
    "group_command": telegram_groups.command,
    "group_migrated": telegram_groups.migrated,
    "contact": identity.contact_shared,
}
# Consent keywords, matched on the whole message only (as the providers do).
CONSENT: dict[str, Handler] = {}
CONSENT.update(consent.handlers())
# Global keywords and commands, matched on the whole message, then on its first word.
KEYWORDS: dict[str, Handler] = {
    "MENU": menu.show,
    "/MENU": menu.show,
    "HELP": menu.help,
    "INFO": menu.help,
    "/HELP": menu.help,
    "MYDATA": privacy.mydata,
    "/MYDATA": privacy.mydata,
    "DELETE": privacy.delete,
    "/DELETE": privacy.delete,
    "INVITE": referrals.invite,
    "/INVITE": referrals.invite,
}
KEYWORDS.update({"EVENTS": events.list_upcoming, "MYEVENTS": events.mine, "/MYEVENTS": events.mine})
# RSVP on its own: the events there are to RSVP to, as EVENTS gives.
KEYWORDS.update({"RSVP": events.list_upcoming, "/RSVP": events.list_upcoming})
# Action alert answers (flows/supporter/alerts.py); CAN'T is read as CANT.
# A language chosen at any time (flows/supporter/language.py).
KEYWORDS.update(LANGUAGE_KEYWORDS)
KEYWORDS.update({"DONE": alerts.done, "CANT": alerts.cant, "CANNOT": alerts.cant})
KEYWORDS.update(alerts.KEYWORDS_CY)
# Organiser commands (flows/console/commands.py COMMANDS), each behind a role check.
KEYWORDS.update(console.keywords())
# Sign-up: JOIN [referral code]; /start [deep-link payload] (bare /start is a consent keyword).
KEYWORDS.update({"JOIN": signup.join, "/JOIN": signup.join, "/START": consent.start})
# Choice-key prefixes (before the first ':') handled wherever the button was pressed.
CHOICES: dict[str, Handler] = {
    "menu": menu.chosen,
    "join": signup.chosen,
}
FLOWS: dict[str, Flow] = {}
FLOWS["signup"] = Flow("signup", signup.STEPS, signup.AHEAD)
CHOICES.update({
    "event": events.show, "rsvp": events.answer, "attend": events.attendance, "evadm": event_admin.chosen,
})
FLOWS[event_admin.FLOW] = Flow(event_admin.FLOW, event_admin.STEPS)
FLOWS[privacy.FLOW] = Flow(privacy.FLOW, {"confirm": privacy.confirm})
# A sign-up or RSVP made on the web or through the API, waiting for YES by text.
FLOWS[WEB_SIGNUP] = Flow(WEB_SIGNUP, WEB_SIGNUP_STEPS)
FLOWS[broadcast_console.FLOW] = Flow(broadcast_console.FLOW, broadcast_console.STEPS)
CHOICES.update({"alert": alerts.chosen, "bc": broadcast_console.chosen})
# Flows in which an organiser writes free text (a title, a message): read as what it is, never as a stop request.
ORGANISER_FLOWS = frozenset({event_admin.FLOW, broadcast_console.FLOW})


def is_consent(ctx: Context) -> bool:
    """An opt-out/opt-in/help keyword: always handled, even for a sender being throttled."""
    return ctx.choice is None and ctx.word in CONSENT


def read_ahead(ctx: Context) -> list[Awaitable[Any]]:
    """What the step this message's conversation waits on is about to read (Flow.ahead)."""
    flow = FLOWS.get(ctx.conversation.flow or "")
    ahead = flow.ahead.get(ctx.conversation.step or "") if flow and ctx.inbound.kind == "message" else None
    return ahead(ctx) if ahead else []


async def route(ctx: Context) -> None:
    if ctx.inbound.kind != "message":
        handler = EVENTS.get(ctx.inbound.kind)
        if handler:
            await handler(ctx)
        return
    whole = ctx.word
    if ctx.choice is None and whole in CONSENT:
        await CONSENT[whole](ctx)
        return
    if ctx.choice is None and whole:
        head, args = keywords.split(ctx.text)
        handler = KEYWORDS.get(whole) or KEYWORDS.get(head)
        if handler:
            ctx.args = "" if whole in KEYWORDS else args
            await handler(ctx)
            return
    if ctx.choice is not None:
        prefix = ctx.choice.split(":", 1)[0]
        if prefix in CHOICES:
            await CHOICES[prefix](ctx)
            return
    await _step_or_menu(ctx)


async def _step_or_menu(ctx: Context) -> None:
    """The step the supporter's active flow waits on, or else the menu's fallback.

    Before either, a message that plainly asks to stop ("please stop texting me") gets the one
    question naming STOP (flows/supporter/consent.py stop_request), unless an organiser's own flow
    is waiting for text they are writing.
    """
    conv = ctx.conversation
    if ctx.choice is None and conv.flow not in ORGANISER_FLOWS and keywords.stop_request(ctx.word):
        await consent.stop_request(ctx)
        return
    flow = FLOWS.get(conv.flow or "")
    step = flow.steps.get(conv.step or "") if flow else None
    if step:
        await step(ctx)
        return
    if conv.flow:
        ctx.finish()  # a flow or step that no longer exists: start over rather than stick
    await menu.fallback(ctx)


class Table:
    """The routing table as a step that hands a message on sees it (Context.router)."""

    def keyword(self, name: str) -> Handler | None:
        return KEYWORDS.get(name)

    async def pass_on(self, ctx: Context) -> None:
        """A word that turned out not to be a consent keyword: route it as routing would have without it."""
        handler = KEYWORDS.get(ctx.word)
        if handler:
            await handler(ctx)
            return
        await _step_or_menu(ctx)


TABLE = Table()
