"""Action alerts end to end: DONE / CAN'T typed or pressed, the last answer counts, the follow-up."""
from __future__ import annotations

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import reports as broadcast_report
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, followup
from flows.organiser.errors import BroadcastError
from storage import broadcast_results as results
from storage import broadcasts as store
from storage.broadcasts import Audience
from tests.flows.broadcast_support import group, person

ADMIN = Actor(trusted=True)
SETTINGS = FlowSettings(sms_quiet_hours="")
PHONE_A, PHONE_B, PHONE_C = "+447400200001", "+447400200002", "+447400200003"
TG = 5550001


async def _send_alert(harness, **audience) -> int:
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        draft = await compose(tx, ADMIN, now, body="Hi {first_name}, registration closes tonight.",
                              audience=Audience(**audience), kind="alert", cta_text="Register to vote",
                              cta_link="https://www.gov.uk/register-to-vote")
        b = await broadcast_send.confirm(tx, draft, ADMIN, now, SETTINGS)
    await harness.deliver()
    return b.id


async def _seed(harness):
    async with harness.db.transaction() as tx:
        leeds, york = await group(tx, "Leeds"), await group(tx, "York")
        await person(tx, phone_number=PHONE_A, name="Aisha", group=leeds)
        await person(tx, phone_number=PHONE_B, name="Ben", group=leeds)
        await person(tx, phone_number=PHONE_C, name="Cat", group=york)
        await person(tx, sms=None, telegram="opted_in", telegram_id=TG, name="Dev", group=york)
    return leeds, york


async def test_alert_text_buttons_and_answers(harness):
    await _seed(harness)
    alert = await _send_alert(harness)
    sms = harness.channels["sms"].pop(PHONE_A)[0]["text"]
    assert "Hi Aisha, registration closes tonight." in sms
    assert "Action: Register to vote https://www.gov.uk/register-to-vote" in sms
    assert "Reply DONE" in sms and sms.endswith("Reply STOP to stop.")
    tg = harness.channels["telegram"].pop(str(TG))[0]
    assert [c["key"] for c in tg["choices"]] == [f"alert:{alert}:done", f"alert:{alert}:cant"]
    assert "STOP" not in tg["text"]

    assert "Thank you" in await harness.texts("sms", PHONE_A, "Done!")
    assert "Thanks for letting us know" in await harness.texts("sms", PHONE_B, "can't")
    assert "Thank you" in await harness.texts("telegram", str(TG), choice=f"alert:{alert}:done")
    # Ben changes his mind: the last answer counts, still one response
    await harness.say("sms", PHONE_B, "DONE")
    async with harness.db.transaction() as tx:
        assert await results.responses(tx, alert) == {"done": 3}
        by_group = await results.completion_by_group(tx, alert)
        assert by_group == [("Leeds", 2, 2, 0), ("York", 2, 1, 0)]
        report = await broadcast_report.build(tx, await store.get(tx, alert), harness.clock.now())
    text = broadcast_report.describe(report, SETTINGS)
    assert "Done: 3 of 4" in text and "Leeds: 2/2 done (100%)" in text and "York: 1/2 done (50%)" in text


async def test_done_without_an_alert_is_answered_kindly(harness):
    await _seed(harness)
    assert "no action alert" in await harness.texts("sms", PHONE_A, "DONE")
    # a button for an alert they were never sent is not counted
    alert = await _send_alert(harness, groups=())
    assert "no action alert" in await harness.texts("sms", "+447400299999", "DONE")
    async with harness.db.transaction() as tx:
        assert await results.responses(tx, alert) == {}


async def test_follow_up_reaches_only_those_not_done_yet(harness):
    await _seed(harness)
    alert = await _send_alert(harness)
    for channel, address in (("sms", PHONE_A), ("sms", PHONE_B), ("sms", PHONE_C), ("telegram", str(TG))):
        harness.channels[channel].pop(address)
    await harness.say("sms", PHONE_A, "DONE")
    await harness.say("sms", PHONE_B, "CANT")
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        original = await store.get(tx, alert)
        draft = await followup(tx, ADMIN, original, now)
        assert draft.kind == "alert" and draft.cta_text == "Register to vote"
        b = await broadcast_send.confirm(tx, draft, ADMIN, now, SETTINGS)
        assert b.recipients == 2
    await harness.deliver()
    assert harness.channels["sms"].pop(PHONE_C) and harness.channels["telegram"].pop(str(TG))
    assert not harness.channels["sms"].pop(PHONE_A) and not harness.channels["sms"].pop(PHONE_B)
    # a bare DONE now answers the newest alert
    await harness.say("sms", PHONE_C, "DONE")
    async with harness.db.transaction() as tx:
        assert await results.responses(tx, b.id) == {"done": 1}
        assert await results.responses(tx, alert) == {"done": 1, "cant": 1}


async def test_a_follow_up_with_no_one_left_to_ask_is_refused_and_saves_nothing(harness):
    await _seed(harness)
    alert = await _send_alert(harness, channel="sms")
    for phone in (PHONE_A, PHONE_B, PHONE_C):
        await harness.say("sms", phone, "DONE")
    async with harness.db.transaction() as tx:
        before = len(await store.recent(tx))
        with pytest.raises(BroadcastError, match="no one to follow up"):
            await followup(tx, ADMIN, await store.fetch(tx, alert), harness.clock.now())
        assert len(await store.recent(tx)) == before
