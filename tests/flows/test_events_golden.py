"""Golden transcripts for events: tests/golden/events/*.txt replayed through the real engine.

A transcript is lines of:
    @ setup NAME            the scenario's data (SETUPS below)
    @ advance 90m | 2h | 1d a FakeClock step;  @ due   the event due-work runs
    > CHANNEL ADDRESS: TEXT one inbound text;  > CHANNEL ADDRESS [KEY]  a pressed button
    < …                     what was delivered (to the sender; `<< CHANNEL ADDRESS` heads others)
Set UPDATE_GOLDEN=1 to rewrite the files from what the bot says now (then read the diff).
"""
from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from storage import events as store
from tests.flows import events_support as es
from tests.flows.golden_support import collect
from tests.harness import Harness

FOLDER = Path(__file__).resolve().parent.parent / "golden" / "events"
_INPUT = re.compile(r"^> (sms|telegram) (\S+?)(?: \[([^\]]+)\])?(?:: (.*))?$")
_STEP = re.compile(r"^(\d+)([mhd])$")


async def _listing(h: Harness) -> None:
    leeds = await es.group(h, "Leeds", ["LS1", "LS2"])
    other = await es.group(h, "Manchester", ["M1"])
    await es.make_event(h, "National day of action", starts=es.SAT_7PM + timedelta(days=1), venue="Parliament Square")
    await es.make_event(h, "Leeds tenants' meeting", group_id=leeds.id, capacity=30,
                        venue="Leeds Civic Hall", instructions="Side entrance, first floor.")
    await es.make_event(h, "Manchester canvass", group_id=other.id)
    await es.make_event(h, "Draft planning session", status="draft")
    await es.make_event(h, "Last week's rally", starts=es.SAT_7PM - timedelta(days=14))
    await es.supporter(h, "sms", "+447400000001", group_id=leeds.id)
    await es.supporter(h, "telegram", "5001", group_id=leeds.id)


async def _waitlist(h: Harness) -> None:
    await es.make_event(h, "Phone bank", capacity=1, venue="Unite office", instructions="Bring a charged phone.")
    await es.supporter(h, "sms", "+447400000001")
    await es.supporter(h, "telegram", "5002")


async def _organisers(h: Harness) -> None:
    leeds = await es.group(h, "Leeds", ["LS1"])
    await es.group(h, "Manchester", ["M1"])
    await es.organiser(h, "admin", telegram_id=9001)
    await es.organiser(h, "organiser", phone="+447400000099", group_id=leeds.id)
    await es.supporter(h, "sms", "+447400000002", group_id=leeds.id)
    await es.supporter(h, "telegram", "5003", group_id=leeds.id)


async def _door(h: Harness) -> None:
    """A Leeds organiser's published phone bank with three people going and one maybe, a draft to
    announce, and the web console's address set (the attendee list links to the event's page)."""
    h.engine.settings = replace(h.engine.settings, public_url="https://muster.example.org")
    leeds = await es.group(h, "Leeds", ["LS1"])
    await es.organiser(h, "organiser", phone="+447400000099", group_id=leeds.id)
    event = await es.make_event(h, "Phone bank", group_id=leeds.id, venue="Unite office")
    await es.make_event(h, "Street stall", group_id=leeds.id, venue="Briggate", status="draft",
                        starts=es.SAT_7PM + timedelta(days=7))
    people = [("sms", "+447400000001", "Ann", "going"), ("telegram", "5001", "Bob", "going"),
              ("sms", "+447400000002", "Cat", "going"), ("telegram", "5002", "Dee", "maybe")]
    for channel, address, name, status in people:
        person = await es.supporter(h, channel, address, group_id=leeds.id, name=name)
        h.clock.advance(minutes=1)
        async with h.db.transaction() as tx:
            await store.set_rsvp(tx, event.id, person.id, status, channel, h.clock.now())


SETUPS: dict[str, Callable[[Harness], Awaitable[None]]] = {
    "listing": _listing, "waitlist": _waitlist, "organisers": _organisers, "door": _door,
}


async def replay(h: Harness, script: str) -> str:
    out: list[str] = []
    for line in script.splitlines():
        if line.startswith("<") or not line.strip():
            continue
        out.append(line)
        if line.startswith("#"):
            continue
        if line.startswith("@ setup "):
            await SETUPS[line.split()[2]](h)
        elif line.startswith("@ advance "):
            amount, unit = _STEP.match(line.split()[2]).groups()
            h.clock.advance(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: int(amount)})
        elif line.strip() == "@ due":
            await es.due(h)
            out.extend(collect(h, None))
        else:
            match = _INPUT.match(line)
            assert match, f"unreadable transcript line: {line!r}"
            channel, address, choice, text = match.groups()
            await h.send(channel, address, text or "", choice=choice)
            await h.deliver()
            out.extend(collect(h, (channel, address)))
        if not line.startswith("#"):
            out.append("")
    return "\n".join(out).rstrip() + "\n"


@pytest.mark.parametrize("path", sorted(FOLDER.glob("*.txt")), ids=lambda p: p.stem)
async def test_transcript(path: Path, harness: Harness) -> None:
    expected = path.read_text(encoding="utf-8")
    actual = await replay(harness, expected)
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(actual, encoding="utf-8")
        return
    assert actual == expected, f"{path.name} differs; rerun with UPDATE_GOLDEN=1 and review the diff"


def test_every_scenario_has_a_transcript() -> None:
    assert {p.stem for p in FOLDER.glob("*.txt")} >= {
        "list_rsvp_sms", "list_rsvp_telegram", "change_and_cancel", "waitlist_promotion",
        "newevent", "organiser_scope", "full_event_sms", "places_and_attendees",
    }
