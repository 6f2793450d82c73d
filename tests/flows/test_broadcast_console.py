"""`/broadcast` and `/alert` in the organiser console, through the engine and sandbox channels."""
from __future__ import annotations

from datetime import UTC

from flows.core.settings import FlowSettings
from flows.organiser import sending as broadcast_send
from storage import broadcasts as store
from tests.flows.broadcast_support import group, organiser, person

ORG = "42"


async def _setup(harness, role: str = "admin", group_name: str | None = None):
    async with harness.db.transaction() as tx:
        gid = await group(tx, group_name) if group_name else None
        await organiser(tx, role, telegram_id=int(ORG), group_id=gid)
        await person(tx, phone_number="+447400100001", name="Aisha", group=gid)
        await person(tx, sms=None, telegram="opted_in", telegram_id=7001, name="Ben")
    return gid


def _keys(messages):
    return [c["key"] for m in messages for c in m.get("choices", [])]


async def test_compose_preview_and_send_now(harness):
    await _setup(harness)
    said = await harness.texts("telegram", ORG, "/broadcast")
    assert "What should the message say?" in said and "{first_name}" in said
    assert "Who should get it?" in await harness.texts("telegram", ORG, "Hi {first_name}, rally on Saturday!")
    preview = await harness.say("telegram", ORG, "all")
    text = preview[0]["text"]
    assert "1 by SMS, 1 on Telegram" in text and "Hi Aisha, rally on Saturday!" in text
    keys = _keys(preview)
    assert keys[0].endswith(":now") and keys[-1].endswith(":drop")
    assert "on its way (2 messages)" in await harness.texts("telegram", ORG, choice=keys[0])
    await harness.deliver()
    assert harness.channels["sms"].pop("+447400100001")[0]["text"].startswith("Hi Aisha, rally")
    assert harness.channels["telegram"].pop("7001")[0]["text"] == "Hi Ben, rally on Saturday!"


async def test_unknown_placeholder_is_refused_while_composing(harness):
    await _setup(harness)
    await harness.say("telegram", ORG, "/broadcast Hi {first_name.__class__}")
    said = await harness.texts("telegram", ORG, "all")
    assert "not a placeholder we know" in said and "What should the message say?" in said
    async with harness.db.transaction() as tx:
        assert await store.recent(tx) == []


async def test_schedule_echoes_local_time(harness):
    await _setup(harness)
    await harness.say("telegram", ORG, "/broadcast Canvassing tomorrow")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    assert "When should it go?" in await harness.texts("telegram", ORG, choice=keys[1])
    echo = await harness.say("telegram", ORG, "2026-11-05 18:00")
    assert "Thu 5 Nov 2026 18:00 GMT" in echo[0]["text"]
    said = await harness.texts("telegram", ORG, choice=_keys(echo)[0])
    assert "scheduled for Thu 5 Nov 2026 18:00 GMT" in said
    async with harness.db.transaction() as tx:
        (b,) = await store.recent(tx)
        assert b.status == "scheduled" and b.send_at.startswith("2026-11-05T18:00")


async def test_alert_over_sms_with_numbered_choices(harness):
    async with harness.db.transaction() as tx:
        await organiser(tx, "admin", phone_number="+447400999000")
        await person(tx, phone_number="+447400100001", name="Aisha")
    await harness.say("sms", "+447400999000", "/alert Polls close at 10pm")
    said = await harness.texts("sms", "+447400999000", "Vote for your candidate https://example.org/polls")
    assert "By when?" in said
    await harness.say("sms", "+447400999000", "SKIP")
    preview = await harness.texts("sms", "+447400999000", "all")
    assert "Action: Vote for your candidate https://example.org/polls" in preview and "1 Send now" in preview
    assert "on its way" in await harness.texts("sms", "+447400999000", "1")
    await harness.deliver()
    assert "Reply DONE" in harness.channels["sms"].pop("+447400100001")[0]["text"]


async def test_local_organiser_cannot_reach_other_groups(harness):
    await _setup(harness, role="organiser", group_name="Leeds")
    async with harness.db.transaction() as tx:
        await group(tx, "York")
    await harness.say("telegram", ORG, "/broadcast Hello")
    refused = await harness.texts("telegram", ORG, "group:York")
    assert "only message your own local groups" in refused and "Who should get it?" in refused
    preview = await harness.texts("telegram", ORG, "all")
    assert "1 by SMS, 0 on Telegram" in preview  # only Aisha is in Leeds


async def test_non_organisers_are_refused(harness):
    said = await harness.texts("telegram", "999", "/broadcast Hello everyone")
    assert "for organisers only" in said
    said = await harness.texts("telegram", "999", choice="bc:1:now")
    assert "for organisers only" in said


async def test_large_broadcast_needs_the_count_typed(harness):
    await _setup(harness)
    async with harness.db.transaction() as tx:
        await tx.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
            "INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
            "SELECT '+4474007' || printf('%05d', i), 'active', 'opted_in', 'sms', 'x' FROM n"
        )
    await harness.say("telegram", ORG, "/broadcast Big news")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    assert "type the number 1002" in await harness.texts("telegram", ORG, choice=keys[0])
    assert "type 1002 to confirm" in await harness.texts("telegram", ORG, "1000")
    assert "on its way (1,002 messages)" in await harness.texts("telegram", ORG, "1002")


async def test_report_cancel_and_list_commands(harness):
    await _setup(harness)
    await harness.say("telegram", ORG, "/broadcast Hello")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    await harness.send("telegram", ORG, choice=keys[0])  # queued, not yet delivered
    async with harness.db.transaction() as tx:
        (b,) = await store.recent(tx)

    async def ask(text: str) -> str:  # answers to the organiser only: the broadcast stays queued
        await harness.send("telegram", ORG, text)
        await harness.dispatcher.drain_once("telegram", ORG)
        return "\n".join(m["text"] for m in harness.channels["telegram"].pop(ORG))

    assert f"#{b.id} broadcast sending" in await ask("/broadcast list")
    assert "cancelled: 2 messages not yet sent will not go" in await ask(f"/broadcast cancel {b.id}")
    report = await ask(f"/broadcast report {b.id}")
    assert "(cancelled)" in report and "cancelled: 2" in report
    assert harness.channels["sms"].pop("+447400100001") == []


async def test_followup_command_previews_a_new_alert(harness):
    await _setup(harness)
    async with harness.db.transaction() as tx:
        from flows.organiser.access import Actor
        from flows.organiser.broadcasts import compose
        from storage.broadcasts import Audience

        admin = Actor(trusted=True)
        now = harness.clock.now()
        draft = await compose(tx, admin, now, body="Sign the petition", audience=Audience(), kind="alert",
                              cta_text="Sign")
        alert = await broadcast_send.confirm(tx, draft, admin, now, FlowSettings(sms_quiet_hours=""))
    await harness.deliver()
    await harness.say("sms", "+447400100001", "DONE")
    preview = await harness.texts("telegram", ORG, f"/broadcast followup {alert.id}")
    assert "0 by SMS, 1 on Telegram" in preview


async def test_weekly_schedule_in_the_console(harness):
    await _setup(harness)
    await harness.say("telegram", ORG, "/broadcast Weekly news")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    await harness.say("telegram", ORG, choice=keys[1])
    echo = await harness.say("telegram", ORG, "weekly Mon 09:00")
    assert "Mon 9 Nov 2026 09:00 GMT, then every week" in echo[0]["text"]
    assert "scheduled" in await harness.texts("telegram", ORG, choice=_keys(echo)[0])
    async with harness.db.transaction() as tx:
        (b,) = await store.recent(tx)
        assert b.repeat == "weekly" and b.status == "scheduled"


async def test_urgent_alert_in_quiet_hours_needs_urgent_typed(harness):
    from datetime import datetime

    harness.clock.set(datetime(2026, 11, 2, 22, 0, tzinfo=UTC))
    await _setup(harness)
    await harness.say("telegram", ORG, "/alert Polls close at 10pm")
    await harness.say("telegram", ORG, "Vote now")
    await harness.say("telegram", ORG, "SKIP")
    preview = await harness.say("telegram", ORG, "all")
    assert "SMS messages will wait until Tue 3 Nov 2026 09:00 GMT" in preview[0]["text"]
    keys = _keys(preview)
    urgent_key = next(k for k in keys if k.endswith(":urgent"))
    assert "Type URGENT" in await harness.texts("telegram", ORG, choice=urgent_key)
    assert "Not sent" in await harness.texts("telegram", ORG, "yes")
    assert "Type URGENT" in await harness.texts("telegram", ORG, choice=urgent_key)
    assert "on its way" in await harness.texts("telegram", ORG, "URGENT")
    await harness.deliver()
    assert "Polls close" in harness.channels["sms"].pop("+447400100001")[0]["text"]  # not held till 09:00


async def test_no_urgent_button_for_local_organisers(harness):
    from datetime import datetime

    harness.clock.set(datetime(2026, 11, 2, 22, 0, tzinfo=UTC))
    await _setup(harness, role="organiser", group_name="Leeds")
    await harness.say("telegram", ORG, "/alert Polls close at 10pm")
    await harness.say("telegram", ORG, "Vote now")
    await harness.say("telegram", ORG, "SKIP")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    assert not any(k.endswith(":urgent") for k in keys)
    await harness.say("telegram", ORG, choice=keys[0])
    await harness.deliver()
    assert harness.channels["sms"].pop("+447400100001") == []  # waits for 09:00


async def test_a_group_name_with_spaces_needs_no_quotes_and_a_wrong_one_names_close_matches(harness):
    await _setup(harness, group_name="Manchester Central (demo)")
    await harness.say("telegram", ORG, "/broadcast Meeting tonight")
    preview = await harness.texts("telegram", ORG, "group:Manchester Central (demo) channel:sms")
    assert "1 by SMS, 0 on Telegram" in preview
    await harness.say("telegram", ORG, "/broadcast Meeting tonight")
    said = await harness.texts("telegram", ORG, "group:Manchester")
    assert "no local group called 'Manchester'" in said and "Did you mean 'Manchester Central (demo)'" in said
    assert "Who should get it?" in said  # asked again, nothing saved
    said = await harness.texts("telegram", ORG, "group:Manchster Central (demo)")
    assert "Did you mean 'Manchester Central (demo)'" in said


async def test_the_organisers_groups_are_offered_as_buttons(harness):
    gid = await _setup(harness, role="organiser", group_name="King's Lynn")
    asked = await harness.say("telegram", ORG, "/broadcast Meeting tonight")
    labels = {c["label"]: c["key"] for m in asked for c in m.get("choices", [])}
    assert set(labels) == {"All my groups", "King's Lynn"}
    preview = await harness.texts("telegram", ORG, choice=labels["King's Lynn"])
    assert "1 by SMS, 0 on Telegram" in preview
    async with harness.db.transaction() as tx:
        assert (await store.recent(tx))[0].filters.groups == (gid,)
    await harness.say("telegram", ORG, "/broadcast Meeting again")
    assert "1 by SMS" in await harness.texts("telegram", ORG, "group:King's Lynn")
