"""The menu: what a supporter sees when nothing else is going on."""
from __future__ import annotations

from flows.core.context import Context
from flows.core.types import Choice
from flows.supporter import inbox

# Filled by the flows that provide menu entries: key → (text key, handler name in CHOICES).
ENTRIES: list[tuple[str, str]] = [("menu:help", "menu.help")]
ENTRIES.append(("menu:events", "menu.events"))
ENTRIES.append(("menu:join", "menu.join"))


def _choices(ctx: Context) -> list[Choice]:
    return [Choice(key, ctx.t(label)) for key, label in ENTRIES]


async def show(ctx: Context) -> None:
    ctx.finish()
    ctx.reply(ctx.t("menu.title"), _choices(ctx))


async def help(ctx: Context) -> None:
    ctx.reply(ctx.t("help.text", movement=ctx.settings.movement, privacy_url=ctx.settings.privacy_url))


async def fallback(ctx: Context) -> None:
    """Nothing else understood the message: show the menu, and keep it for the organisers' inbox."""
    await inbox.keep(ctx)
    ctx.reply(f"{ctx.t('menu.unknown')} {ctx.t('menu.title')}", _choices(ctx))


async def chosen(ctx: Context) -> None:
    """A menu button: dispatch to the keyword it stands for."""
    name = (ctx.choice or "").split(":", 1)[1].upper() if ":" in (ctx.choice or "") else ""
    handler = ctx.router.keyword(name)
    if handler is None:
        await show(ctx)
        return
    ctx.choice, ctx.picked = None, []
    await handler(ctx)
