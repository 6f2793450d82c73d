"""The organiser console: commands only organisers may use, checked against our database every time.

Features add their commands to COMMANDS; routes.py turns each into a keyword. A command's
`roles` lists who may use it ("admin", "organiser"); an empty tuple means everyone.
"""
from __future__ import annotations

from typing import NamedTuple

from flows.console import broadcasts as broadcast_console
from flows.console import events as event_admin
from flows.core.context import Context, Handler
from flows.supporter import menu

ORGANISERS = ("admin", "organiser")


class Command(NamedTuple):
    handler: Handler
    description: str  # a text key in flows/core/texts, e.g. "console.help_desc"
    roles: tuple[str, ...] = ORGANISERS


async def help(ctx: Context) -> None:
    """Organisers see their commands; everyone else gets the supporters' help."""
    held = {r.role for r in await ctx.roles()}
    if not held:
        await menu.help(ctx)
        return
    lines = [f"{name} — {ctx.t(cmd.description)}" for name, cmd in sorted(COMMANDS.items())
             if not cmd.roles or held & set(cmd.roles)]
    ctx.reply("\n".join([ctx.t("console.help_title"), *lines, "", ctx.t("console.help_footer")]))


# name (with its slash) → command. Add yours here.
COMMANDS: dict[str, Command] = {
    "/help": Command(help, "console.help_desc", ()),
    "/newevent": Command(event_admin.new_event, "events.cmd_newevent"),
    # open to all: supporters who type /events get the supporters' list
    "/events": Command(event_admin.list_events, "events.cmd_events", ()),
    "/broadcast": Command(broadcast_console.broadcast, "broadcasts.cmd_broadcast"),
    "/alert": Command(broadcast_console.alert, "broadcasts.cmd_alert"),
}


def guarded(name: str) -> Handler:
    """The command's handler behind a role check that reads our database on every use."""
    async def run(ctx: Context) -> None:
        command = COMMANDS[name]
        if command.roles and not {r.role for r in await ctx.roles()} & set(command.roles):
            ctx.say("console.refused", command=name)
            return
        await command.handler(ctx)

    return run


def keywords() -> dict[str, Handler]:
    """Every command as a routing keyword ("/NEWEVENT" → its guarded handler)."""
    return {name.upper(): guarded(name) for name in COMMANDS}
