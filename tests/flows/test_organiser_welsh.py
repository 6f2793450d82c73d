"""An organiser whose language is Welsh: refusals, the broadcast preview (its SMS line and the
figures per language), kinds and states, an event's counts and the capacity question, all in
Welsh with the plural form each number takes; and a pseudo-locale run over the organiser's chat
console, which shows every text they get comes through the catalogue."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from flows.core import texts
from flows.core.settings import FlowSettings
from flows.core.texts import plural, t
from flows.organiser import events as event_ops
from flows.organiser import groups as group_ops
from flows.organiser import reports, sending, signin
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, draft, kind_word, state_word
from flows.organiser.errors import BodyError, BroadcastError, GroupError, SupporterError, refusal
from storage import broadcasts as store
from storage import events as events_store
from storage import supporters
from storage.broadcasts import Audience
from tests.flows import events_support as es
from tests.flows.broadcast_support import person
from tests.flows.broadcast_support import wales as seed_wales
from tests.flows.test_catalogues import _Pseudo
from tests.flows.test_pseudo_locale import _unmarked
from tests.harness import Harness

ORG = "42"
WALES = FlowSettings(sms_quiet_hours="", languages=("en", "cy"))
WELSH = "Helo {first_name}, mae'r rali ddydd Sadwrn. Dewch â ffrind i'r ŵyl!"
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def _speaks(h: Harness, channel: str, address: str, lang: str) -> None:
    """The organiser at `address` reads `lang`."""
    async with h.db.transaction() as tx:
        found = (await supporters.find_or_create_many(tx, channel, [address], h.clock.now()))[address]
        supporters.update(tx, found, language=lang)


@pytest.fixture
async def wales(tmp_path, clock):
    h = await Harness.create(tmp_path, settings=WALES, clock=clock)
    async with h.db.transaction() as tx:
        await seed_wales(tx, int(ORG))
    await _speaks(h, "telegram", ORG, "cy")
    yield h
    await h.close()


def test_a_refusal_is_english_as_a_string_and_welsh_for_a_welsh_reader():
    with pytest.raises(BodyError) as empty:
        draft(Actor(trusted=True), NOW, body="  ", audience=Audience())
    assert str(empty.value) == "The message is empty."
    assert refusal(empty.value, "cy") == "Mae'r neges yn wag."
    with pytest.raises(BroadcastError) as offered:
        draft(Actor(trusted=True), NOW, body="Hi", audience=Audience(), bodies={"cy": "Helo"},
              settings=FlowSettings(languages=("en",)))
    assert str(offered.value) == ("There is no Welsh (Cymraeg) version to give: this deployment's "
                                  "MUSTER_LANGUAGES offers English only.")
    assert refusal(offered.value, "cy") == ("Does dim fersiwn Cymraeg i'w rhoi: mae MUSTER_LANGUAGES y gosodiad "
                                            "hwn yn cynnig Saesneg yn unig.")
    assert refusal(ValueError("plain"), "cy") == "plain"  # not a catalogue refusal: as it is


def test_a_count_to_confirm_takes_its_plural_form_in_welsh():
    for n, form in ((1001, "o bobl"), (1002, "o bobl")):
        error = BroadcastError("broadcasts.error_count", people=lambda lang, n=n: plural("person", n, lang), total=n)
        assert str(error) == f"This goes to {n:,} people: type {n} to confirm."
        assert form in refusal(error, "cy")
    # Welsh's six forms, zero to many
    assert [plural("person", n, "cy") for n in (0, 1, 2, 3, 6, 7)] == [
        "0 pobl", "1 person", "2 berson", "3 pherson", "6 pherson", "7 o bobl"]
    assert [plural("place", n, "cy") for n in (1, 2, 10)] == ["1 lle", "2 le", "10 o leoedd"]


def test_kinds_and_states_are_named_in_the_organisers_language():
    assert (kind_word("alert"), kind_word("alert", "cy")) == ("action alert", "rhybudd gweithredu")
    assert (state_word("sent"), state_word("sent", "cy")) == ("sent", "wedi'i anfon")


async def test_a_welsh_organiser_gets_a_broadcast_error_in_welsh_in_the_chat(wales):
    await wales.say("telegram", ORG, "/broadcast Hello")
    await wales.say("telegram", ORG, "SKIP")
    said = await wales.texts("telegram", ORG, "group:Nowhere")
    assert "Does dim grŵp lleol o'r enw 'Nowhere'." in said
    assert "There is no local group" not in said


async def test_a_welsh_organisers_preview_gives_the_sms_line_and_figures_per_language_in_welsh(wales):
    async with wales.db.transaction() as tx:
        b = await compose(tx, Actor(trusted=True), wales.clock.now(), body="Hi {first_name}, the rally is on.",
                          audience=Audience(), bodies={"cy": WELSH}, settings=WALES)
        p = await sending.preview(tx, b, wales.clock.now(), WALES)
    english = sending.describe(p, WALES)
    welsh = sending.describe(p, WALES, "cy")
    assert "SMS: GSM-7 and UCS-2" not in welsh and "English: 1 by SMS" in english
    assert sending.sms_figures(p, "cy") in welsh and sending.sms_figures(p, "cy") != sending.sms_figures(p)
    assert plural("segment", 3, "cy") in sending.sms_figures(p, "cy")
    lines = [sending.language_figures(f, p, WALES, "cy") for f in p.languages]
    assert lines[0].startswith("English: ") and lines[1].startswith("Cymraeg: ")
    assert plural("segment", 2, "cy") in lines[1] and "segments" not in lines[1]
    assert t("broadcasts.preview_title", "cy", kind="darllediad", id=b.id) in welsh
    assert sending.ucs2_note("cy", sending.outside_gsm7(b)["cy"], "cy") in welsh
    # through the chat console, the organiser's language
    await wales.say("telegram", ORG, "/broadcast Hi {first_name}, the rally is on Saturday.")
    await wales.say("telegram", ORG, WELSH)
    shown = await wales.texts("telegram", ORG, "all")
    assert t("broadcasts.preview_sample", "cy") in shown and "Sample:" not in shown
    assert "Cymraeg: 1" in shown and "Welsh (Cymraeg)" not in shown
    async with wales.db.transaction() as tx:
        latest = (await store.recent(tx))[0]
    started = await wales.texts("telegram", ORG, choice=f"bc:{latest.id}:now")
    assert plural("message", 2, "cy") in started and "Darllediad" in started


async def test_an_events_counts_and_the_capacity_question_in_welsh(wales):
    event = await es.make_event(wales, capacity=10)
    async with wales.db.transaction() as tx:
        for n in range(3):
            sid = await person(tx, phone_number=f"+4474009000{n:02d}", name=f"P{n}")
            await events_store.set_rsvp(tx, event.id, sid, "going", "sms", wales.clock.now())
    question = event_ops.CapacityQuestion(3, 1)
    assert str(question).startswith("3 people are already going, more than the new 1 place: ")
    assert refusal(question, "cy").startswith("3 pherson yn dod yn barod, mwy na'r 1 lle newydd")
    told = event_ops.Announcement(2, 1, 2, None, "Europe/London")
    assert told.summary() == "3 supporters (2 by SMS, 1 on Telegram) and 2 group chats"
    assert told.summary("cy") == f"{plural('supporter', 3, 'cy')} (2 drwy SMS, 1 ar Telegram) a 2 sgwrs grŵp"
    await wales.say("telegram", ORG, choice=f"evadm:cap:{event.id}")
    asked = await wales.texts("telegram", ORG, "1")
    assert "3 pherson yn dod i #" in asked and "1 lle" in asked and "people" not in asked


# -- the pseudo-locale over the organiser's chat console ------------------------------------------
PSEUDO = "qps"
BODY = "Qps meeting tonight"


@pytest.fixture
def pseudo_locale() -> Iterator[None]:
    texts.install(PSEUDO, _Pseudo())
    yield
    texts._installed.pop((PSEUDO, "muster"), None)


async def test_every_reply_an_organiser_gets_in_the_chat_comes_through_the_catalogue(harness, pseudo_locale):
    h = harness
    await es.organiser(h, "admin", telegram_id=int(ORG))
    await _speaks(h, "telegram", ORG, PSEUDO)
    async with h.db.transaction() as tx:
        await person(tx, phone_number="+447400200001", name="Sam")
    event = await es.make_event(h, "Qps rally", capacity=10)
    async with h.db.transaction() as tx:
        for n in range(3):
            sid = await person(tx, phone_number=f"+4474009100{n:02d}", name=f"Qps{n}")
            await events_store.set_rsvp(tx, event.id, sid, "going", "sms", h.clock.now())
    replies: list[dict[str, Any]] = []

    async def say(text: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        h.clock.advance(seconds=5)
        got = await h.say("telegram", ORG, text, **kwargs)
        replies.extend(got)
        return got

    await say("/help")
    await say("/broadcast")
    await say(BODY)
    await say("group:Nowhere")  # a refusal
    preview = await say("all")
    keys = [c["key"] for m in preview for c in m.get("choices", [])]
    await say(choice=keys[0])  # send now
    await say("/broadcast list")
    await say("/broadcast cancel 1")  # already gone: a refusal
    await say("/events")
    await say(choice=f"evadm:cap:{event.id}")
    asked = await say("1")  # below the 3 going: the question
    await say(choice=[c["key"] for m in asked for c in m.get("choices", [])][1])  # move them to the waitlist
    await say("/broadcast report 1")
    await say("/broadcast preview 1")
    await say(choice=f"evadm:who:{event.id}")
    await say("/alert")
    await say(BODY)
    await say("Qps sign it")
    await say("SKIP")
    alert = await say("all")
    await say(choice=[c["key"] for m in alert for c in m.get("choices", [])][0])
    await say("/broadcast followup 2")
    await say("/newevent")
    for text in ("Qps picnic", "Sat 14:00"):
        await say(text)
    await say(choice=[c["key"] for c in replies[-1].get("choices", [])][0])  # yes, that time
    for text in ("ONLINE", "https://example.org/picnic", "40"):
        await say(text)
    data = [BODY, "Nowhere", "Qps rally", "Sam", "Qps0", "Qps1", "Qps2", "GSM-7", "UCS-2", "Friends Meeting House",
            "/broadcast", "/events", "/newevent", "/alert", "/help", "/signin", "/linkgroup"]
    # the samples are the message as its (English) recipients get it: data here
    data += ["Qps picnic", "https://example.org/picnic", t("broadcasts.alert_cta", cta="Qps sign it"),
             t("broadcasts.alert_reply")]
    left = _unmarked(replies, data)
    assert left == []


async def test_an_event_refusal_and_why_attendance_is_closed_in_welsh(harness):
    with pytest.raises(event_ops.EventError) as long:
        event_ops.check("title", "x" * 130, NOW)
    assert (str(long.value), long.value.field) == ("at most 120 characters (this one has 130)", "title")
    assert refusal(long.value, "cy") == "120 nod ar y mwyaf (mae gan hwn 130)"
    event = await es.make_event(harness)
    now = harness.clock.now()
    assert event_ops.attendance_closed(event, now) == (
        "attendance can be marked from Sat 7 Nov 18:00 GMT, an hour before the start")
    assert event_ops.attendance_closed(event, now, "cy") == (
        "gellir nodi presenoldeb o Sad 7 Tach 18:00 GMT, awr cyn y dechrau")


async def test_a_welsh_organiser_gets_a_broadcasts_report_in_welsh(wales):
    async with wales.db.transaction() as tx:
        b = await compose(tx, Actor(trusted=True), wales.clock.now(), body="Hello", audience=Audience(),
                          kind="alert", cta_text="Register", settings=WALES)
        report = await reports.build(tx, b, wales.clock.now())
    english = reports.describe(report, WALES)
    assert english.startswith(f"Report for action alert #{b.id} (draft)") and "(+0 group chats)" in english
    welsh = reports.describe(report, WALES, "cy")
    assert welsh.startswith(f"Adroddiad: rhybudd gweithredu #{b.id} (drafft)")
    assert f"(+{plural('chat', 0, 'cy')})" in welsh


def test_group_team_and_inbox_refusals_have_their_welsh():
    with pytest.raises(GroupError) as bad:
        group_ops.parse_areas("M1, Narnia")
    assert str(bad.value).startswith("not postcode areas or outward codes: ")
    assert refusal(bad.value, "cy").startswith("nid ardaloedd cod post na chodau allanol: ")
    held = GroupError("groups.error_still_has", group="Leeds", held=group_ops._held(2, 1))
    assert str(held) == "Leeds still has 2 organiser roles and 1 event: move or remove them first."
    assert refusal(held, "cy").startswith("Mae gan Leeds ")


def test_a_supporter_list_refusal_has_its_welsh():
    error = SupporterError("people.error_date_first")
    assert str(error) == "The first date should look like 2026-03-31."
    assert refusal(error, "cy") == "Dylai'r dyddiad cyntaf edrych fel 2026-03-31."


async def test_a_welsh_organisers_sign_in_link_comes_in_welsh(wales):
    async with wales.db.transaction() as tx:
        assert await signin.send_link(tx, signin.Identity("telegram", ORG), wales.clock.now(), "https://m.example")
        (payload,) = [json.loads(r[0]) for r in await tx.query("SELECT payload FROM outbox")]
    assert "Eich dolen i fewngofnodi" in payload["text"] and f"am {plural('minute', 10, 'cy')}" in payload["text"]
