"""Due-work with a fake clock: reminders, change and cancellation notices, the attendance question."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.core.settings import FlowSettings
from flows.due import event_notices
from storage import consent, supporters
from storage import events as store
from tests.flows import events_support as es
from tests.harness import Harness

FRI_10AM = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)
SAT_5PM = datetime(2026, 11, 7, 17, 0, tzinfo=UTC)
PHONE, TG = "+447400000001", "5001"


async def _going(h: Harness, event_id: int, channel: str = "sms", address: str = PHONE, code: str = "g") -> None:
    await es.supporter(h, channel, address)
    await h.say(channel, address, choice=f"rsvp:{event_id}:{code}")


def _texts(h: Harness, channel: str = "sms", address: str = PHONE) -> list[str]:
    return [m["text"] for m in h.channels[channel].pop(address)]


async def test_both_reminders_go_once_each_across_a_restart(tmp_path, clock):
    h = await Harness.create(tmp_path, clock=clock)
    event = await es.make_event(h)
    await _going(h, event.id)
    await _going(h, event.id, "telegram", TG, code="m")  # maybe: reminded too
    assert await es.due(h) == 0
    clock.set(FRI_10AM - timedelta(minutes=1))
    assert await es.due(h) == 0
    clock.set(FRI_10AM)
    assert await es.due(h) == 2
    assert await es.due(h) == 0
    sms = _texts(h)
    assert len(sms) == 1 and sms[0].startswith("Reminder: Housing rally\nWhen: Saturday 7 November 2026, 19:00")
    assert len(_texts(h, "telegram", TG)) == 1
    await h.close()

    h = await Harness.create(tmp_path, clock=clock)  # a restart: same database file, new engine
    clock.set(FRI_10AM + timedelta(hours=3))
    assert await es.due(h) == 0
    clock.set(SAT_5PM)
    assert await es.due(h) == 2
    assert len(_texts(h)) == 1
    await h.close()
    h = await Harness.create(tmp_path, clock=clock)
    clock.set(SAT_5PM + timedelta(minutes=30))
    assert await es.due(h) == 0
    assert _texts(h) == []
    async with h.db.transaction() as tx:
        keys = [r[0] for r in await tx.query("SELECT dedupe_key FROM outbox WHERE dedupe_key LIKE 'remind:%'")]
    assert sorted(keys) == sorted(
        f"remind:{event.id}:{sid}:{kind}:2026-11-07" for sid in (1, 2) for kind in ("day-before@10:00", "2h")
    )
    await h.close()


async def test_reminders_never_go_after_the_start(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    clock.set(es.SAT_7PM + timedelta(minutes=1))  # down from Monday until after the start
    assert await es.due(harness) == 0
    assert _texts(harness) == []


async def test_after_downtime_only_the_latest_due_reminder_goes(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    clock.set(SAT_5PM + timedelta(minutes=30))  # both were due while down; the event hasn't started
    assert await es.due(harness) == 1
    clock.advance(minutes=10)
    assert await es.due(harness) == 0
    assert len(_texts(harness)) == 1


async def test_no_reminder_that_fell_due_before_the_rsvp(harness, clock):
    event = await es.make_event(harness)
    clock.set(es.SAT_7PM - timedelta(hours=1))
    await _going(harness, event.id)
    _texts(harness)
    assert await es.due(harness) == 0


async def test_moved_after_the_first_reminder(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    clock.set(FRI_10AM)
    assert await es.due(harness) == 1
    _texts(harness)
    # Within the same day: a change notice, but the day-before reminder is not sent again.
    clock.set(FRI_10AM + timedelta(hours=1))
    assert await es.edit(harness, event.id, starts_at=es.SAT_7PM + timedelta(hours=1),
                         ends_at=es.SAT_7PM + timedelta(hours=3))
    assert await es.due(harness) == 1
    assert await es.due(harness) == 0
    assert _texts(harness)[0].startswith("Change to Housing rally. It is now:\nWhen: Saturday 7 November 2026, 20:00")
    # To the next Saturday: a change notice now, the day-before reminder for the new date once, then the 2h one.
    new_start = es.SAT_7PM + timedelta(days=7)
    assert await es.edit(harness, event.id, starts_at=new_start, ends_at=new_start + timedelta(hours=2))
    assert await es.due(harness) == 1
    assert "Saturday 14 November 2026, 19:00" in _texts(harness)[0]
    clock.set(SAT_5PM)  # the old 2h slot: nothing any more
    assert await es.due(harness) == 0
    clock.set(FRI_10AM + timedelta(days=7))
    assert await es.due(harness) == 1
    assert await es.due(harness) == 0
    clock.set(new_start - timedelta(hours=2))
    assert await es.due(harness) == 1
    texts = _texts(harness)
    assert len(texts) == 2 and all("Saturday 14 November 2026, 19:00" in t for t in texts)


async def test_a_place_change_is_noticed_once_but_does_not_resend_reminders(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    clock.set(FRI_10AM)
    assert await es.due(harness) == 1
    assert await es.edit(harness, event.id, venue="Town Hall")
    assert await es.edit(harness, event.id, title="Housing rally!") is False  # not a move
    assert await es.due(harness) == 1
    assert await es.due(harness) == 0
    texts = _texts(harness)
    assert "Where: Town Hall" in texts[-1]


async def test_change_and_cancellation_notices_go_once_to_the_right_people(harness, clock):
    event = await es.make_event(harness, capacity=1)
    await _going(harness, event.id)                                   # going
    await _going(harness, event.id, "telegram", "5002", code="w")     # waitlisted (full)
    await _going(harness, event.id, "telegram", "5003", code="m")     # maybe
    await _going(harness, event.id, "telegram", "5004", code="d")     # declined: not told
    await _going(harness, event.id, "telegram", "5005", code="m")
    async with harness.db.transaction() as tx:                        # opted out since: not told
        person = await supporters.find(tx, "telegram", "5005")
        consent.record(tx, person, "telegram", "opt_out", "keyword", clock.now())
    await harness.deliver()
    for channel in harness.channels.values():
        channel.delivered.clear()
    assert (await es.rsvp_of(harness, event.id, 2)).status == "waitlisted"

    await es.edit(harness, event.id, venue="Town Hall")
    assert await es.due(harness) == 3
    assert await es.due(harness) == 0
    await _going(harness, event.id, "telegram", "5006", code="m")     # RSVPs after the change: no notice
    assert await es.due(harness) == 0
    for address in ("5002", "5003"):
        assert _texts(harness, "telegram", address)[0].startswith("Change to Housing rally")
    assert _texts(harness, "telegram", "5004") == [] and _texts(harness, "telegram", "5005") == []

    async with harness.db.transaction() as tx:
        await store.set_status(tx, await store.get(tx, event.id), "cancelled", clock.now())
    assert await es.due(harness) == 4
    assert await es.due(harness) == 0
    assert _texts(harness)[-1].startswith("Sorry, Housing rally on Saturday 7 November 2026, 19:00 has been cancelled")
    clock.set(FRI_10AM)
    assert await es.due(harness) == 0  # no reminders for a cancelled event


async def test_the_attendance_question_and_its_answer(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    await _going(harness, event.id, "telegram", TG)
    await _going(harness, event.id, "telegram", "5003", code="m")  # maybe: not asked
    clock.set(event.end + timedelta(minutes=59))
    for channel in harness.channels.values():
        channel.delivered.clear()
    assert await es.due(harness) == 0  # reminders are over, the hour has not passed
    clock.set(event.end + timedelta(hours=1))
    assert await es.due(harness) == 2
    assert await es.due(harness) == 0
    asked = harness.channels["telegram"].pop(TG)
    assert asked[0]["text"] == "Did you make it to Housing rally?"
    assert [c["key"] for c in asked[0]["choices"]] == [f"attend:{event.id}:y", f"attend:{event.id}:n"]
    assert "Thanks for coming" in (await harness.texts("telegram", TG, choice=f"attend:{event.id}:y"))
    assert _texts(harness) == []  # 22:00: SMS waits for the end of quiet hours
    clock.set(datetime(2026, 11, 8, 9, 0, tzinfo=UTC))
    await harness.deliver()
    assert "1 Yes" in _texts(harness)[0]
    await harness.say("sms", PHONE, "2")
    assert _texts(harness, "telegram", "5003") == []
    async with harness.db.transaction() as tx:
        assert await store.report(tx, event.id) == {
            "going": 2, "maybe": 1, "declined": 0, "waitlisted": 0, "attended": 1, "no_show": 1, "unknown": 0,
        }


async def test_the_attendance_question_is_not_asked_days_later(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    clock.set(event.end + timedelta(days=3))
    _texts(harness)
    assert await es.due(harness) == 0


async def test_notices_only_on_a_channel_opted_in_and_never_to_the_erased(harness, clock):
    event = await es.make_event(harness)
    await es.supporter(harness, "sms", "+447400000007", opted_in=False)
    await harness.say("sms", "+447400000007", choice=f"rsvp:{event.id}:g")
    await _going(harness, event.id, "telegram", "5008")
    async with harness.db.transaction() as tx:
        await tx.execute("UPDATE supporters SET status = 'erased' WHERE telegram_id = 5008")
    clock.set(FRI_10AM)
    assert await es.due(harness) == 0


@pytest.mark.parametrize("spec, names", [
    ("day-before@10:00,2h", ["day-before@10:00", "2h"]),
    ("2d-before@18:30, 30m", ["2d-before@18:30", "30m"]),
    ("", []),
])
def test_reminder_settings(spec, names):
    assert [k.name for k in event_notices.reminder_kinds(spec)] == names


@pytest.mark.parametrize("spec", ["tomorrow", "day-before@25:00", "0h", "2h,2h"])
def test_bad_reminder_settings_are_refused(spec):
    with pytest.raises(ValueError):
        event_notices.reminder_kinds(spec)


async def test_configured_reminders_are_used(harness, clock):
    event = await es.make_event(harness)
    await _going(harness, event.id)
    settings = FlowSettings(event_reminders="30m")
    clock.set(FRI_10AM)
    assert await es.due(harness, settings) == 0
    clock.set(es.SAT_7PM - timedelta(minutes=30))
    assert await es.due(harness, settings) == 1
