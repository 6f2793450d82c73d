"""A pseudo-locale run over the supporter's side: every reply a supporter gets comes through the catalogue.

A pseudo-language ("qps") is installed whose every sentence comes back wrapped in ⟦ ⟧. A supporter
who speaks it signs up on SMS and on Telegram, RSVPs to an event (and gets its reminder and the
question whether they came), answers an action alert DONE, opens the menu, sends something not
understood, a picture and (on Telegram) their phone number, keeps their data at DELETE, and sends
HELP, MYDATA and STOP. Every reply must then be wholly marked: with the marked sentences
(which may hold marked values, e.g. a status inside a sentence) and the data the test put in (names,
event titles, dates, links) taken out, no word is left, only numbers, punctuation and spacing.
A word left over is a text that bypassed `flows.core.texts`.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from flows.core import texts
from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from flows.values import dates
from storage import groups, supporters
from storage.broadcasts import Audience
from tests.flows import events_support as es
from tests.flows.test_catalogues import _Pseudo
from tests.harness import Harness

PSEUDO = "qps"
PHONE, TELEGRAM = "+447400777001", "7770001"
TITLE = "Housing rally"
ALERT_BODY = "Qps registration closes tonight."
ALERT_CTA = "Qps register to vote"
_MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
_WORD = re.compile(r"[^\W\d_]{2,}")


@pytest.fixture(autouse=True)
def pseudo_locale() -> Iterator[None]:
    texts.install(PSEUDO, _Pseudo())
    yield
    texts._installed.pop((PSEUDO, "muster"), None)


def _leftover(text: str, data: list[str]) -> str:
    """What is left of `text` once every marked sentence (innermost first) and every datum is gone."""
    for datum in sorted(data, key=len, reverse=True):
        text = text.replace(datum, " ")
    while _MARKED.search(text):
        text = _MARKED.sub(" ", text)
    return text


def _unmarked(messages: list[dict[str, Any]], data: list[str]) -> list[str]:
    """Every message text and button label with a word outside the catalogue's marks."""
    found = []
    for message in messages:
        for text in [message.get("text") or "", *(c["label"] for c in message.get("choices", []))]:
            if _WORD.search(_leftover(text, data)):
                found.append(text)
    return found


async def _speaker(h: Harness, channel: str, address: str) -> supporters.Supporter:
    """Someone whose language is the pseudo-locale, before their first message."""
    async with h.db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, channel, [address], h.clock.now()))[address]
        supporters.update(tx, person, language=PSEUDO)
    return person


class Run:
    """Talks to the bot and keeps every reply, with the data that may appear in it unmarked."""

    def __init__(self, h: Harness) -> None:
        self.h = h
        self.data = ["Muster", "Sam", "Manchester", "M1", TITLE, ALERT_BODY, "sam@example.org",
                     "https://example.org/privacy", PHONE, TELEGRAM, "https://t.me/muster_bot"]
        self.replies: list[tuple[str, str, dict[str, Any]]] = []

    async def say(self, channel: str, address: str, text: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        self.h.clock.advance(seconds=5)
        got = await self.h.say(channel, address, text, **kwargs)
        self.replies.extend((channel, text or str(kwargs.get("choice")), m) for m in got)
        return got

    def bypassed(self) -> list[str]:
        return [f"{channel} {sent!r}: {text!r}" for channel, sent, message in self.replies
                for text in _unmarked([message], self.data)]


async def test_the_leftover_check_finds_an_unmarked_sentence() -> None:
    marked = texts.t("events.you_said", PSEUDO, status=texts.t("events.status_going", PSEUDO))
    assert _unmarked([{"text": marked, "choices": [{"label": "⟦Going⟧", "key": "x"}]}], []) == []
    assert _unmarked([{"text": f"{marked}\nPlans change?"}], []) == [f"{marked}\nPlans change?"]
    assert _unmarked([{"text": "⟦Going⟧", "choices": [{"label": "Going", "key": "x"}]}], []) == ["Going"]


async def test_every_reply_a_supporter_gets_comes_through_the_catalogue(harness: Harness) -> None:
    h = harness
    run = Run(h)
    async with h.db.transaction() as tx:
        await groups.add(tx, "Manchester", ["M"], h.clock.now())
    await es.make_event(h, TITLE, venue="Friends Meeting House")
    run.data += ["Friends Meeting House", *(f(es.SAT_7PM, lang=PSEUDO)
                                            for f in (dates.full, dates.short, dates.day))]

    # sign-up on SMS
    await _speaker(h, "sms", PHONE)
    for text in ("JOIN", "Sam", "M1 1AE", "1 3", "sam@example.org", "YES"):
        await run.say("sms", PHONE, text)
    # sign-up on Telegram, with buttons
    await _speaker(h, "telegram", TELEGRAM)
    for text in ("/start", "Sam", "M1 1AE"):
        await run.say("telegram", TELEGRAM, text)
    for key in ("su:i:0", "su:done"):
        await run.say("telegram", TELEGRAM, choice=key)
    await run.say("telegram", TELEGRAM, "skip")
    await run.say("telegram", TELEGRAM, choice="su:yes")

    # RSVP to the event, on SMS by number and on Telegram by button
    await run.say("sms", PHONE, "EVENTS")
    await run.say("sms", PHONE, "1")
    await run.say("sms", PHONE, "1")
    listed = await run.say("telegram", TELEGRAM, "EVENTS")
    opened = await run.say("telegram", TELEGRAM, choice=listed[-1]["choices"][0]["key"])
    await run.say("telegram", TELEGRAM, choice=opened[-1]["choices"][0]["key"])
    await run.say("sms", PHONE, "MYEVENTS")

    # an action alert with a version in the supporter's language (the organiser's words, not the
    # catalogue's: they are data here), answered DONE (typed) and Done (pressed)
    now = h.clock.now()
    settings = FlowSettings(sms_quiet_hours="", languages=("en", PSEUDO))
    async with h.db.transaction() as tx:
        draft = await compose(tx, Actor(trusted=True), now, body="Registration closes tonight.", audience=Audience(),
                              kind="alert", cta_text="Register to vote", cta_link="https://www.gov.uk/register-to-vote",
                              bodies={PSEUDO: ALERT_BODY}, ctas={PSEUDO: ALERT_CTA}, settings=settings)
        alert = await broadcast_send.confirm(tx, draft, Actor(trusted=True), now, settings)
    await h.deliver()
    run.data += [ALERT_CTA, "https://www.gov.uk/register-to-vote"]
    for channel, address in (("sms", PHONE), ("telegram", TELEGRAM)):
        run.replies.extend((channel, "(alert)", m) for m in h.channels[channel].pop(address))
    await run.say("sms", PHONE, "DONE")
    await run.say("telegram", TELEGRAM, choice=f"alert:{alert.id}:done")

    # the event's reminder, and afterwards the attendance question, answered
    h.clock.advance(days=4, hours=6)
    await es.due(h)
    for channel, address in (("sms", PHONE), ("telegram", TELEGRAM)):
        run.replies.extend((channel, "(reminder)", m) for m in h.channels[channel].pop(address))
    h.clock.advance(days=1, hours=6)
    await es.due(h)
    for channel, address in (("sms", PHONE), ("telegram", TELEGRAM)):
        run.replies.extend((channel, "(attended?)", m) for m in h.channels[channel].pop(address))
    await run.say("sms", PHONE, "1")

    # the menu, a message not understood, a picture, a phone number shared on Telegram, DELETE kept
    await run.say("sms", PHONE, "MENU")
    await run.say("sms", PHONE, "what is this")
    await run.say("sms", PHONE, kind="media", num_media=1)
    await run.say("telegram", TELEGRAM, kind="contact", phone="447400777002", contact_user_id=int(TELEGRAM))
    run.data.append("+447400777002")
    await run.say("sms", PHONE, "DELETE")
    await run.say("sms", PHONE, "2")

    # HELP, MYDATA, STOP
    for channel, address in (("sms", PHONE), ("telegram", TELEGRAM)):
        for text in ("HELP", "MYDATA", "STOP"):
            await run.say(channel, address, text)

    sent = {sent for _, sent, _ in run.replies}
    assert {"JOIN", "/start", "EVENTS", "DONE", "HELP", "MYDATA", "STOP", "DELETE", "(alert)", "(reminder)",
            "(attended?)"} <= sent
    assert len(run.replies) > 25
    assert run.bypassed() == []
