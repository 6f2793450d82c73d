"""The menu: what a supporter sees when nothing else is going on.

One menu on every channel, in a fixed order, so a number means the same thing from one menu
to the next: 1 events near me, 2 my events, 3 my data, 4 delete my data, 5 help. After those,
someone not yet signed up is offered Join; an active supporter who sends JOIN again is offered
"Update my details" in the same place (flows/supporter/signup.py offer_update). Each entry's key
names the keyword it stands for (menu:myevents → MYEVENTS), so a button and the typed word agree.
"""
from __future__ import annotations

from flows.core.context import Context
from flows.core.types import Choice
from flows.supporter import inbox

# key → text key, the same for everyone, in this order.
ENTRIES: list[tuple[str, str]] = [
    ("menu:events", "menu.events"),
    ("menu:myevents", "menu.myevents"),
    ("menu:mydata", "menu.mydata"),
    ("menu:delete", "menu.delete"),
    ("menu:help", "menu.help"),
]
# Offered after ENTRIES to someone who has not finished signing up.
JOIN = ("menu:join", "menu.join")


def choices(ctx: Context, last: Choice | None = None) -> list[Choice]:
    """The menu's entries for this supporter; `last` (if any) takes the place Join has for others."""
    entries = [Choice(key, ctx.t(label)) for key, label in ENTRIES]
    if last is not None:
        entries.append(last)
    elif ctx.supporter.status != "active":
        entries.append(Choice(JOIN[0], ctx.t(JOIN[1])))
    return entries


async def show(ctx: Context) -> None:
    ctx.finish()
    ctx.reply(ctx.t("menu.title"), choices(ctx))


def help_text(ctx: Context) -> str:
    """The one help text, the same on every channel (HELP, INFO, /help, the menu's Help)."""
    return ctx.t("help.text", movement=ctx.settings.movement, privacy_url=ctx.settings.privacy_url)


async def help(ctx: Context) -> None:
    ctx.reply(help_text(ctx))


async def fallback(ctx: Context) -> None:
    """Nothing else understood the message: show the menu, and keep it for the organisers' inbox."""
    await inbox.keep(ctx)
    ctx.reply(f"{ctx.t('menu.unknown')} {ctx.t('menu.title')}", choices(ctx))


async def chosen(ctx: Context) -> None:
    """A menu button: dispatch to the keyword it stands for."""
    name = (ctx.choice or "").split(":", 1)[1].upper() if ":" in (ctx.choice or "") else ""
    handler = ctx.router.keyword(name)
    if handler is None:
        await show(ctx)
        return
    ctx.choice, ctx.picked = None, []
    await handler(ctx)
