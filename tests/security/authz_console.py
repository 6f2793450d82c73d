"""The console half of the authorisation matrix: every organiser command, button and group-chat command.

Each Scenario drives the real engine as one person and returns what that person was told; the
test then checks the reply (success or refusal) and the database (the effect, or no change at all).
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from tests.harness import Harness
from tests.security.authz_world import (
    CHATS,
    LEEDS,
    MEMBERS,
    PEOPLE,
    YORK,
    Person,
    World,
    outbox_to,
    value,
)

REFUSED = "is for organisers only"
YORK_TARGETS = ("other-group", "other-group-typed", "not-chat-admin")


@dataclass(frozen=True)
class Cell:
    action: str
    actor: str        # supporter | organiser (of Leeds) | admin
    target: str = ""  # own-group (Leeds) | other-group (York) | national | "" (none)
    allowed: bool = False

    @property
    def id(self) -> str:
        return "-".join(p for p in (self.action, self.actor, self.target) if p)

    @property
    def person(self) -> Person:
        return PEOPLE[self.actor]

    @property
    def group(self) -> str | None:
        """The local group acted on: None for a national event; Leeds when no target is named."""
        return None if self.target == "national" else YORK if self.target in YORK_TARGETS else LEEDS

    @property
    def other(self) -> str:
        """The group this action must not reach."""
        return LEEDS if self.group == YORK else YORK


def scoped(action: str, *extra: Cell) -> list[Cell]:
    """The standard four: a supporter, Leeds' organiser on Leeds and on York, an admin on York."""
    return [Cell(action, "supporter"), Cell(action, "organiser", "own-group", True),
            Cell(action, "organiser", "other-group"), Cell(action, "admin", "other-group", True), *extra]


Run = Callable[[Harness, World, Cell], Awaitable[str]]
Text = Callable[[World, Cell], str]
Effect = Callable[[Harness, World, Cell], Awaitable[None]]


@dataclass(frozen=True)
class Scenario:
    run: Run
    success: Text          # in the reply when allowed
    refusal: Text          # in the reply when refused
    effect: Effect | None  # asserts the change when allowed; None: read-only, nothing may change
    prepare: Run | None = None  # steps before the database is compared (e.g. a role taken away)


def _refused(command: str, scope_text: str) -> Text:
    return lambda w, c: f"{command} {REFUSED}" if c.actor == "supporter" else scope_text


# -- driving the engine ---------------------------------------------------------------------------
async def _said(h: Harness, cell: Cell, text: str = "", **kwargs: Any) -> list[dict[str, Any]]:
    return await h.say("telegram", cell.person.telegram, text, **kwargs)


async def texts(h: Harness, cell: Cell, *steps: str | tuple[str, str]) -> str:
    """Send each step (text, or ("choice", key)) in turn; everything said back, joined."""
    out = []
    for step in steps:
        if isinstance(step, tuple):
            messages = await _said(h, cell, choice=step[1])
        else:
            messages = await _said(h, cell, step)
        out += [m["text"] for m in messages]
    return "\n\n".join(out)


def _key(messages: list[dict[str, Any]], suffix: str) -> str | None:
    return next((c["key"] for m in messages for c in m.get("choices", []) if c["key"].endswith(suffix)), None)


async def compose(h: Harness, cell: Cell, *steps: str) -> str:
    """Compose a broadcast or alert, and press "Send now" on its preview if one is offered."""
    out, messages = [], []
    for step in steps:
        messages = await _said(h, cell, step)
        out += [m["text"] for m in messages]
    now = _key(messages, ":now")
    if now:
        out += [m["text"] for m in await _said(h, cell, choice=now)]
    return "\n\n".join(out)


def audience_of(cell: Cell) -> str:
    """Everyone, or the target group; with the linked group chats either way."""
    return "all chats" if cell.target == "all" else f"group:{cell.group} chats"


async def status_of(h: Harness, table: str, row_id: int) -> str:
    return await value(h, f"SELECT status FROM {table} WHERE id = ?", (row_id,))


async def reached_only_target(h: Harness, cell: Cell, chats: bool = False) -> None:
    """The target group's member (and chat, when asked for) got one message; the other group nothing."""
    assert await outbox_to(h, MEMBERS[cell.group]) == 1
    assert await outbox_to(h, CHATS[cell.group]) == int(chats)
    assert await outbox_to(h, MEMBERS[cell.other]) == 0
    assert await outbox_to(h, CHATS[cell.other]) == 0


# -- the console commands -------------------------------------------------------------------------
async def run_help(h: Harness, w: World, c: Cell) -> str:
    return await texts(h, c, "/help")


async def run_newevent(h: Harness, w: World, c: Cell) -> str:
    pick: str | tuple[str, str]
    if c.target == "other-group-typed":
        pick = YORK
    else:
        pick = ("choice", f"newevent:g:{w.groups[c.group] if c.group else 0}")
    return await texts(h, c, "/newevent", "Canvass", "Sat 11am", "yes", "Market Street", "10", pick)


async def effect_newevent(h: Harness, w: World, c: Cell) -> None:
    group_id = await value(h, "SELECT group_id FROM events WHERE title = 'Canvass'")
    assert await value(h, "SELECT COUNT(*) FROM events WHERE title = 'Canvass'") == 1
    assert group_id == (w.groups[c.group] if c.group else None)


async def run_events(h: Harness, w: World, c: Cell) -> str:
    return await texts(h, c, "/events")


def _events_refusal(w: World, c: Cell) -> str:
    # A supporter gets the supporters' list; Leeds' organiser gets their own list, without York.
    return "no upcoming events near you" if c.actor == "supporter" else f"#{w.draft_event[LEEDS]} "


async def run_broadcast(h: Harness, w: World, c: Cell) -> str:
    return await compose(h, c, "/broadcast Rally on Saturday", audience_of(c))


async def run_alert(h: Harness, w: World, c: Cell) -> str:
    return await compose(h, c, "/alert Polls close at 10pm", "Vote https://example.org/polls", "SKIP", audience_of(c))


def _effect_sent(kind: str) -> Effect:
    async def check(h: Harness, w: World, c: Cell) -> None:
        newest = await value(h, "SELECT MAX(id) FROM broadcasts")
        assert await value(h, "SELECT kind FROM broadcasts WHERE id = ?", (newest,)) == kind
        assert await status_of(h, "broadcasts", newest) in ("sending", "sent")  # sent once every message is settled
        assert await value(h, "SELECT scope_groups FROM broadcasts WHERE id = ?", (newest,)) == \
            f"[{w.groups[c.group]}]"
        await reached_only_target(h, c, chats=True)
    return check


def _manage(sub: str, ids: str) -> Run:
    async def run(h: Harness, w: World, c: Cell) -> str:
        arg = "" if sub == "list" else f" {getattr(w, ids)[c.group]}"
        return await texts(h, c, f"/broadcast {sub}{arg}")
    return run


async def effect_cancel(h: Harness, w: World, c: Cell) -> None:
    assert await status_of(h, "broadcasts", w.scheduled[c.group]) == "cancelled"


async def effect_followup(h: Harness, w: World, c: Cell) -> None:
    newest = await value(h, "SELECT MAX(id) FROM broadcasts")
    assert newest != w.sent_alert[c.group]
    audience = await value(h, "SELECT audience FROM broadcasts WHERE id = ?", (newest,))
    assert json.loads(audience)["alert_id"] == w.sent_alert[c.group]
    assert await status_of(h, "broadcasts", newest) == "draft"


BEYOND = "reaches beyond your local groups"
OWN_GROUPS = "You can only message your own local groups"

SCENARIOS: dict[str, Scenario] = {
    "help": Scenario(run_help, lambda w, c: "Organiser commands:", lambda w, c: "STOP", None),
    "newevent": Scenario(run_newevent, lambda w, c: "Saved as draft",
                         _refused("/newevent", "you can only create events for Leeds"), effect_newevent),
    "events": Scenario(run_events, lambda w, c: f"#{w.draft_event[c.group]} ", _events_refusal, None),
    "broadcast": Scenario(run_broadcast, lambda w, c: "is on its way (2 messages)", _refused("/broadcast", OWN_GROUPS),
                          _effect_sent("broadcast")),
    "alert": Scenario(run_alert, lambda w, c: "is on its way (2 messages)", _refused("/alert", OWN_GROUPS),
                      _effect_sent("alert")),
    "broadcast-list": Scenario(
        _manage("list", "draft_broadcast"), lambda w, c: f"#{w.draft_broadcast[c.group]} broadcast draft",
        _refused("/broadcast", "broadcast draft"), None),
    "broadcast-preview": Scenario(_manage("preview", "draft_broadcast"),
                                  lambda w, c: f"Preview of broadcast #{w.draft_broadcast[c.group]}",
                                  _refused("/broadcast", BEYOND), None),
    "broadcast-report": Scenario(_manage("report", "draft_broadcast"),
                                 lambda w, c: f"Report for broadcast #{w.draft_broadcast[c.group]}",
                                 _refused("/broadcast", BEYOND), None),
    "broadcast-cancel": Scenario(_manage("cancel", "scheduled"),
                                 lambda w, c: f"Broadcast #{w.scheduled[c.group]} cancelled",
                                 _refused("/broadcast", BEYOND), effect_cancel),
    "broadcast-followup": Scenario(_manage("followup", "sent_alert"), lambda w, c: "Preview of action alert #",
                                   _refused("/broadcast", BEYOND), effect_followup),
}

MATRIX: list[Cell] = [
    Cell("help", "supporter"), Cell("help", "organiser", allowed=True), Cell("help", "admin", allowed=True),
    *scoped("newevent", Cell("newevent", "organiser", "other-group-typed"), Cell("newevent", "organiser", "national"),
            Cell("newevent", "admin", "national", True)),
    *scoped("events"),
    *scoped("broadcast", Cell("broadcast", "organiser", "all", True)),
    *scoped("alert"),
    *[cell for sub in ("list", "preview", "report", "cancel", "followup") for cell in scoped(f"broadcast-{sub}")],
]

# Where each console command is covered: the test fails when flows/console/commands.py COMMANDS grows a
# command that is not listed here.
COMMAND_ROWS = {
    "/help": ["help"], "/newevent": ["newevent"], "/events": ["events"], "/alert": ["alert"],
    "/broadcast": ["broadcast", "broadcast-list", "broadcast-preview", "broadcast-report", "broadcast-cancel",
                   "broadcast-followup"],
}
# Commands anyone may use (each answers a supporter with the supporters' version); every other is guarded.
OPEN_COMMANDS = {"/help", "/events"}
