"""Organiser buttons (evadm:…, bc:…), /linkgroup in a group chat, and roles taken away mid-flow.

The second half of the console matrix (see authz_console.py for Cell and Scenario).
"""
from __future__ import annotations

from tests.harness import Harness
from tests.security.authz_console import (
    BEYOND,
    REFUSED,
    Cell,
    Scenario,
    audience_of,
    compose,
    reached_only_target,
    scoped,
    status_of,
    texts,
)
from tests.security.authz_world import CHAT, World, revoke, value

# -- buttons: evadm:<action>:<event id> -----------------------------------------------------------
EVADM = {  # action → (which event, success text, effect)
    "pub": ("draft_event", "Published #{id}", "confirmed"),
    "ann": ("live_event", "Announcement queued for 1 supporter (1 by SMS, 0 on Telegram) and 1 group chat",
            "announced"),
    "who": ("live_event", "No RSVPs yet", None),
    "cap": ("live_event", "How many places for #{id}", None),
    "cancel": ("live_event", "Cancel #{id}", None),
    "cx": ("live_event", "Cancelled #{id}", "cancelled"),
    "keep": ("live_event", "#{id} stays on", None),
    "skip": ("live_event", "Event #{id} is published", None),
}


def _event_id(w: World, c: Cell, which: str) -> int:
    return w.national_draft if c.target == "national" else getattr(w, which)[c.group]


def _evadm(action: str) -> Scenario:
    which, success, change = EVADM[action]

    async def run(h: Harness, w: World, c: Cell) -> str:
        return await texts(h, c, ("choice", f"evadm:{action}:{_event_id(w, c, which)}"))

    async def effect(h: Harness, w: World, c: Cell) -> None:
        event_id = _event_id(w, c, which)
        if change == "announced":
            assert await value(h, "SELECT announced_at FROM events WHERE id = ?", (event_id,))
            await reached_only_target(h, c, chats=True)
        else:
            assert await status_of(h, "events", event_id) == change

    return Scenario(run, lambda w, c: success.format(id=_event_id(w, c, which)),
                    lambda w, c: f"/events {REFUSED}", effect if change else None)


# -- buttons: bc:<broadcast id>:<action> on a preview ----------------------------------------------
def _bc(action: str) -> Scenario:
    ids = "alert" if action == "urgent" else "draft_broadcast"
    follow = {"later": ["tomorrow 18:00", "at"], "urgent": ["URGENT"]}.get(action, [])
    success = {"now": "is on its way (1 message)", "later": "is scheduled for", "urgent": "is on its way (1 message)",
               "drop": "Discarded draft"}[action]
    status = {"now": "sending", "later": "scheduled", "urgent": "sending", "drop": "cancelled"}[action]

    async def run(h: Harness, w: World, c: Cell) -> str:
        b = getattr(w, ids)[c.group]
        steps: list[str | tuple[str, str]] = [("choice", f"bc:{b}:{action}")]
        steps += [("choice", f"bc:{b}:{s}") if s == "at" else s for s in follow]
        return await texts(h, c, *steps)

    async def effect(h: Harness, w: World, c: Cell) -> None:
        b = getattr(w, ids)[c.group]
        assert await status_of(h, "broadcasts", b) in ((status, "sent") if status == "sending" else (status,))
        if status == "sending":
            await reached_only_target(h, c)
        if action == "urgent":
            assert await value(h, "SELECT urgent FROM broadcasts WHERE id = ?", (b,)) == 1

    def refusal(w: World, c: Cell) -> str:
        if c.actor == "supporter":
            return f"/broadcast {REFUSED}"
        return BEYOND if c.target == "other-group" else "Only an admin can mark an action alert urgent"

    return Scenario(run, lambda w, c: success, refusal, effect)


# -- /linkgroup in a Telegram group chat -----------------------------------------------------------
async def run_linkgroup(h: Harness, w: World, c: Cell) -> str:
    await h.send("telegram", c.person.telegram, f"/linkgroup {c.group}", kind="group_command", chat_id=CHAT,
                 title="A chat", command="linkgroup", chat_admin=c.target != "not-chat-admin")
    await h.deliver()
    assert h.channels["telegram"].pop(c.person.telegram) == []  # answered in the chat, never privately
    return "\n\n".join(m["text"] for m in h.channels["telegram"].pop(str(CHAT)))


async def effect_linkgroup(h: Harness, w: World, c: Cell) -> None:
    assert await value(h, "SELECT group_id FROM telegram_groups WHERE chat_id = ?", (CHAT,)) == w.groups[c.group]


def _linkgroup_refusal(w: World, c: Cell) -> str:
    if c.target == "not-chat-admin":
        return "Only an admin of this chat can link it"
    return f"Only an organiser of {c.group} can link this chat"


# -- a role taken away in the middle of a flow -----------------------------------------------------
async def prepare_revoked_newevent(h: Harness, w: World, c: Cell) -> str:
    said = await texts(h, c, "/newevent", "Canvass", "Sat 11am", "yes", "Market Street", "10")
    await revoke(h, c.person)
    return said


async def run_revoked_newevent(h: Harness, w: World, c: Cell) -> str:
    return await texts(h, c, ("choice", f"newevent:g:{w.groups[c.group]}"))


async def prepare_revoked_broadcast(h: Harness, w: World, c: Cell) -> str:
    said = await texts(h, c, "/broadcast Rally on Saturday")
    await revoke(h, c.person)
    return said


async def run_revoked_broadcast(h: Harness, w: World, c: Cell) -> str:
    return await compose(h, c, audience_of(c))


async def prepare_revoked(h: Harness, w: World, c: Cell) -> str:
    await revoke(h, c.person)
    return ""


async def run_revoked_bc(h: Harness, w: World, c: Cell) -> str:
    return await texts(h, c, ("choice", f"bc:{w.draft_broadcast[c.group]}:now"))


def _revoked(action: str) -> list[Cell]:
    return [Cell(action, "organiser", "own-group"), Cell(action, "admin", "other-group")]



SCENARIOS: dict[str, Scenario] = {
    **{f"evadm-{a}": _evadm(a) for a in EVADM},
    **{f"bc-{a}": _bc(a) for a in ("now", "later", "urgent", "drop")},
    "linkgroup": Scenario(run_linkgroup, lambda w, c: f"now linked to {c.group}", _linkgroup_refusal,
                          effect_linkgroup),
    "revoked-newevent": Scenario(run_revoked_newevent, lambda w, c: "Saved as draft",
                                 lambda w, c: f"/newevent {REFUSED}", None, prepare_revoked_newevent),
    "revoked-broadcast": Scenario(run_revoked_broadcast, lambda w, c: "on its way",
                                  lambda w, c: "Only organisers can send broadcasts", None, prepare_revoked_broadcast),
    "revoked-bc-now": Scenario(run_revoked_bc, lambda w, c: "on its way", lambda w, c: f"/broadcast {REFUSED}", None,
                               prepare_revoked),
}

MATRIX: list[Cell] = [
    *[cell for a in EVADM for cell in scoped(f"evadm-{a}")],
    Cell("evadm-pub", "organiser", "national"), Cell("evadm-pub", "admin", "national", True),
    *scoped("bc-now"), *scoped("bc-later"), *scoped("bc-drop"),
    Cell("bc-urgent", "supporter"), Cell("bc-urgent", "organiser", "own-group"),
    Cell("bc-urgent", "organiser", "other-group"), Cell("bc-urgent", "admin", "other-group", True),
    *scoped("linkgroup", Cell("linkgroup", "admin", "not-chat-admin")),
    *_revoked("revoked-newevent"), *_revoked("revoked-broadcast"), *_revoked("revoked-bc-now"),
]

# Where each button prefix, event kind and flow of flows/core/routes.py is covered; the test fails
# when the routing table grows one that is not listed here.
ORGANISER_CHOICES = {"evadm": [f"evadm-{a}" for a in EVADM], "bc": ["bc-now", "bc-later", "bc-urgent", "bc-drop"]}
# Supporters' own buttons; "menu" re-dispatches to KEYWORDS (so to the guarded commands): see the guard test.
SUPPORTER_CHOICES = {"menu", "join", "event", "rsvp", "attend", "alert"}
ORGANISER_EVENTS = {"group_command": ["linkgroup"]}
# Sent by the platform itself (or about the sender's own account), not organiser actions.
PLATFORM_EVENTS = {"media", "blocked", "unblocked", "group_added", "group_removed", "group_join", "group_migrated",
                   "contact"}
ORGANISER_FLOWS = {"newevent": ["revoked-newevent"], "broadcast": ["revoked-broadcast", "revoked-bc-now"]}
SUPPORTER_FLOWS = {"signup", "privacy", "web_signup"}
