"""Consent keywords and the consent log: what is recorded, and what is (not) sent."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flows.core.settings import FlowSettings
from flows.core.types import Reply
from flows.supporter.consent import OPT_OUT
from storage import consent as consent_log
from storage import outbox, supporters
from tests.harness import Harness

PHONE = "+447400123456"


async def _signup(h, channel: str, address: str, consent: str = "yes") -> None:
    for text in ("JOIN", "Sam", "skip", "skip", "skip", consent):
        await h.say(channel, address, text)


async def _log(h, channel: str, address: str) -> list[tuple]:
    async with h.db.transaction() as tx:
        person = await supporters.find(tx, channel, address)
        rows = await consent_log.history(tx, person.id)
        return person, [(r["channel"], r["action"], r["source"], r["wording_version"]) for r in rows]


async def test_signup_yes_records_flow_opt_in_with_the_wording_version(harness) -> None:
    await _signup(harness, "sms", PHONE)
    person, rows = await _log(harness, "sms", PHONE)
    assert rows == [("sms", "opt_in", "flow", "signup-consent-v1")]
    assert (person.status, person.sms_consent, person.telegram_consent) == ("active", "opted_in", "none")


async def test_signup_no_records_nothing_but_signs_up(harness) -> None:
    await _signup(harness, "telegram", "77", consent="no")
    person, rows = await _log(harness, "telegram", "77")
    assert rows == []
    assert (person.status, person.telegram_consent) == ("active", "none")


@pytest.mark.parametrize("word", [w for w in OPT_OUT if w != "/STOP"] + ["stop!", " Opt-Out ", "stop all"])
async def test_every_sms_opt_out_word_opts_out_with_one_confirmation(harness, word) -> None:
    await _signup(harness, "sms", PHONE)
    first = await harness.say("sms", PHONE, word)
    again = await harness.say("sms", PHONE, word)
    later = await harness.say("sms", PHONE, "MENU")
    assert len(first) == 1 and "START" in first[0]["text"]
    assert again == [] and later == []
    _, rows = await _log(harness, "sms", PHONE)
    assert rows[1:] == [("sms", "opt_out", "keyword", None)]


async def test_stop_cancels_broadcasts_already_queued_for_them(harness) -> None:
    await _signup(harness, "sms", PHONE)
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, "sms", PHONE)
        for priority in (outbox.BULK, outbox.NOTICE):
            outbox.enqueue(tx, "sms", PHONE, Reply(f"Rally! ({priority})").to_payload(), harness.clock.now(),
                           supporter_id=person.id, priority=priority,
                           not_before=harness.clock.now() + timedelta(hours=1))
    said = await harness.say("sms", PHONE, "STOP")
    assert len(said) == 1 and "START" in said[0]["text"]  # the confirmation still goes
    harness.clock.advance(hours=2)
    await harness.deliver()
    assert harness.channels["sms"].pop(PHONE) == []
    async with harness.db.transaction() as tx:
        cancelled = "SELECT COUNT(*) FROM outbox WHERE status = 'cancelled' AND error_code = 'opted_out'"
        assert await tx.scalar(cancelled) == 2


async def test_start_and_yes_opt_back_in_only_when_opted_out(harness) -> None:
    await _signup(harness, "sms", PHONE)
    await harness.say("sms", PHONE, "STOP")
    assert "Welcome back" in await harness.texts("sms", PHONE, "unstop")
    await harness.say("sms", PHONE, "STOP")
    assert "Welcome back" in await harness.texts("sms", PHONE, "Yes.")
    assert "didn't understand" in await harness.texts("sms", PHONE, "YES")  # not opted out: no opt-in
    _, rows = await _log(harness, "sms", PHONE)
    assert [r[1:3] for r in rows] == [
        ("opt_in", "flow"), ("opt_out", "keyword"), ("opt_in", "keyword"), ("opt_out", "keyword"),
        ("opt_in", "keyword"),
    ]


async def test_stop_on_one_channel_leaves_the_other(harness) -> None:
    await _signup(harness, "telegram", "77")
    assert "/start" in await harness.texts("telegram", "77", "/stop")
    person, rows = await _log(harness, "telegram", "77")
    assert rows[-1] == ("telegram", "opt_out", "keyword", None)
    assert person.sms_consent == "none"


async def test_telegram_cancel_leaves_the_flow_without_opting_out(harness) -> None:
    await harness.say("telegram", "77", "/start")
    assert "left" in await harness.texts("telegram", "77", "CANCEL")
    person, rows = await _log(harness, "telegram", "77")
    assert rows == [] and person.telegram_consent == "none"


async def test_stop_mid_signup_ends_the_flow(harness) -> None:
    await harness.say("sms", PHONE, "JOIN")
    await harness.say("sms", PHONE, "STOP")
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, "sms", PHONE)
        flow = await tx.scalar("SELECT flow FROM conversations WHERE supporter_id = ?", (person.id,))
    assert flow is None and person.sms_consent == "opted_out"


async def test_advanced_opt_out_records_but_sends_nothing_on_sms(tmp_path, clock) -> None:
    h = await Harness.create(tmp_path, settings=FlowSettings(twilio_advanced_opt_out=True), clock=clock)
    try:
        await _signup(h, "sms", PHONE)
        assert await h.say("sms", PHONE, "STOP") == []
        assert await h.say("sms", PHONE, "START") == []
        assert await h.say("sms", PHONE, "HELP") == []
        _, rows = await _log(h, "sms", PHONE)
        assert [r[1] for r in rows] == ["opt_in", "opt_out", "opt_in"]
        # Telegram is not Twilio's: it still gets its confirmation.
        assert "/start" in await h.texts("telegram", "9", "/stop")
    finally:
        await h.close()


async def test_help_says_who_we_are_how_to_stop_and_the_privacy_notice(harness) -> None:
    text = await harness.texts("sms", PHONE, "info")
    assert "Muster" in text and "STOP" in text and "https://example.org/privacy" in text
