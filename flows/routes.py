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

from dataclasses import dataclass, field

from flows import keywords, menu
from flows.context import Context, Handler


@dataclass(frozen=True)
class Flow:
    name: str
    steps: dict[str, Handler] = field(default_factory=dict)


# Non-text inbound kinds → handler.
EVENTS: dict[str, Handler] = {}
# Consent keywords, matched on the whole message only (as the providers do).
CONSENT: dict[str, Handler] = {}
# Global keywords and commands, matched on the whole message, then on its first word.
KEYWORDS: dict[str, Handler] = {
    "MENU": menu.show,
    "HELP": menu.help,
    "INFO": menu.help,
    "/HELP": menu.help,
}
# Choice-key prefixes (before the first ':') handled wherever the button was pressed.
CHOICES: dict[str, Handler] = {
    "menu": menu.chosen,
}
FLOWS: dict[str, Flow] = {}


async def route(ctx: Context) -> None:
    if ctx.inbound.kind != "message":
        handler = EVENTS.get(ctx.inbound.kind)
        if handler:
            await handler(ctx)
        return
    whole = keywords.normalise(ctx.text)
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
    conv = ctx.conversation
    flow = FLOWS.get(conv.flow or "")
    step = flow.steps.get(conv.step or "") if flow else None
    if step:
        await step(ctx)
        return
    if conv.flow:
        ctx.finish()  # a flow or step that no longer exists: start over rather than stick
    await menu.fallback(ctx)
