"""Welsh golden transcripts: tests/golden/cymraeg/*.txt replayed through the real engine and compared.

The events transcripts' format (tests/flows/test_events_golden.py), with two more directives:
    @ setup NAME            the scenario's data (SETUPS below)
    @ telegram-language cy  Telegram messages from here on carry the app's language_code
    @ alert                 an action alert, with its Welsh version, goes to every supporter
    @ advance 90m | 2h | 1d a FakeClock step
    > CHANNEL ADDRESS: TEXT one inbound text;  > CHANNEL ADDRESS [KEY]  a pressed button
    < …                     what was delivered (to the sender; `<< CHANNEL ADDRESS` heads others)
A Telegram request for the phone number shows as `< [share phone]`; random referral codes as XXXXXX.
Set UPDATE_GOLDEN=1 to rewrite the files from what the bot says now (then read the diff, in Welsh).
"""
from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import supporters
from storage.broadcasts import Audience
from tests.flows import events_support as es
from tests.flows.golden_support import collect
from tests.harness import Harness

FOLDER = Path(__file__).resolve().parent.parent / "golden" / "cymraeg"
_INPUT = re.compile(r"^> (sms|telegram) (\S+?)(?: \[([^\]]+)\])?(?:: (.*))?$")
_STEP = re.compile(r"^(\d+)([mhd])$")
WALES = FlowSettings(sms_quiet_hours="", languages=("en", "cy"))


async def _welsh(h: Harness, channel: str, address: str, name: str, group_id: int | None = None) -> None:
    person = await es.supporter(h, channel, address, group_id=group_id, name=name)
    async with h.db.transaction() as tx:
        supporters.update(tx, person, language="cy", postcode="CF10 1AA" if group_id else None)


async def _cardiff(h: Harness) -> None:
    """A local group for Cardiff's CF10, and one for Gwynedd's LL55."""
    await es.group(h, "Caerdydd", ["CF10"])
    await es.group(h, "Arfon", ["LL55"])


async def _rali(h: Harness) -> None:
    """Cardiff's housing rally on Saturday, with two Welsh speakers in the Cardiff group."""
    cardiff = await es.group(h, "Caerdydd", ["CF10"])
    await es.make_event(h, "Rali tai Caerdydd", group_id=cardiff.id, capacity=50, venue="Neuadd y Ddinas",
                        instructions="Dewch â baner os oes gennych chi un.")
    await _welsh(h, "sms", "+447400000101", "Siân", cardiff.id)
    await _welsh(h, "telegram", "6101", "Rhys", cardiff.id)


async def _cefnogwyr(h: Harness) -> None:
    """Two Welsh speakers, one on SMS and one on Telegram, both opted in."""
    cardiff = await es.group(h, "Caerdydd", ["CF10"])
    await _welsh(h, "sms", "+447400000101", "Siân", cardiff.id)
    await _welsh(h, "telegram", "6101", "Rhys", cardiff.id)


SETUPS: dict[str, Callable[[Harness], Awaitable[None]]] = {
    "cardiff": _cardiff, "rali": _rali, "cefnogwyr": _cefnogwyr,
}


async def _alert(h: Harness) -> None:
    now = h.clock.now()
    admin = Actor(trusted=True)
    async with h.db.transaction() as tx:
        draft = await compose(
            tx, admin, now, body="Hi {first_name}, registration closes on Friday.", audience=Audience(),
            kind="alert", cta_text="Register to vote", cta_link="https://www.gov.uk/register-to-vote",
            bodies={"cy": "Helo {first_name}, mae'r cofrestru'n cau ddydd Gwener."},
            ctas={"cy": "Cofrestrwch i bleidleisio"}, settings=WALES,
        )
        await broadcast_send.confirm(tx, draft, admin, now, WALES)
    await h.deliver()


async def replay(h: Harness, script: str) -> str:
    out: list[str] = []
    telegram_language: str | None = None
    for line in script.splitlines():
        if line.startswith("<") or not line.strip():
            continue
        out.append(line)
        if line.startswith("#"):
            continue
        if line.startswith("@ setup "):
            await SETUPS[line.split()[2]](h)
        elif line.startswith("@ telegram-language "):
            telegram_language = line.split()[2]
        elif line.strip() == "@ alert":
            await _alert(h)
            out.extend(collect(h, None))
        elif line.startswith("@ advance "):
            amount, unit = _STEP.match(line.split()[2]).groups()  # type: ignore[union-attr]
            h.clock.advance(**{{"m": "minutes", "h": "hours", "d": "days"}[unit]: int(amount)})
        else:
            match = _INPUT.match(line)
            assert match, f"unreadable transcript line: {line!r}"
            channel, address, choice, text = match.groups()
            extra = {"language": telegram_language} if channel == "telegram" and telegram_language else {}
            h.clock.advance(seconds=5)
            await h.send(channel, address, text or "", choice=choice, **extra)
            await h.deliver()
            out.extend(collect(h, (channel, address)))
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
        "signup_sms_wales", "signup_telegram_cy", "rsvp_event", "alert_gwneud", "stop_welsh", "cymorth_mydata",
    }
