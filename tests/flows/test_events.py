"""Events through the engine: RSVP rules, waitlist, scope, announcements and the calendar file."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar

from flows.core.settings import FlowSettings
from flows.core.types import Reply
from flows.values import calendar
from storage import events as store
from tests.flows import events_support as es
from tests.harness import Harness

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


async def test_one_reply_is_an_rsvp_and_a_second_changes_it(harness):
    event = await es.make_event(harness)
    person = await es.supporter(harness, "sms", "+447400000001")
    text = await harness.texts("sms", "+447400000001", choice=f"rsvp:{event.id}:g")
    assert text.startswith("You're going to Housing rally!")
    assert (await es.rsvp_of(harness, event.id, person.id)).status == "going"
    await harness.say("sms", "+447400000001", choice=f"rsvp:{event.id}:d")
    assert (await es.rsvp_of(harness, event.id, person.id)).status == "declined"


async def test_sms_confirmation_links_the_calendar_when_there_is_a_public_url(tmp_path, clock):
    h = await Harness.create(tmp_path, FlowSettings(public_url="https://muster.example.org/"), clock)
    event = await es.make_event(h)
    text = await h.texts("sms", "+447400000001", choice=f"rsvp:{event.id}:g")
    assert f"https://muster.example.org/events/{event.public_id}.ics" in text
    await h.close()


async def test_rsvp_to_a_draft_cancelled_or_started_event_is_refused(harness, clock):
    draft = await es.make_event(harness, status="draft")
    cancelled = await es.make_event(harness, "Old plan", status="cancelled")
    started = await es.make_event(harness, "Now", starts=clock.now() - timedelta(minutes=5))
    assert "isn't available" in await harness.texts("telegram", "1", choice=f"rsvp:{draft.id}:g")
    assert "has been cancelled" in await harness.texts("telegram", "1", choice=f"rsvp:{cancelled.id}:g")
    assert "already started" in await harness.texts("telegram", "1", choice=f"rsvp:{started.id}:g")
    assert "isn't available" in await harness.texts("telegram", "1", choice="rsvp:999:g")
    async with harness.db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM rsvps") == 0


async def test_a_forged_or_garbled_key_gets_the_list(harness):
    await es.make_event(harness)
    assert "Upcoming events" in await harness.texts("telegram", "1", choice="rsvp:1:zz")


async def test_waitlist_is_first_come_first_served_and_capacity_rises_promote(harness, clock):
    event = await es.make_event(harness, capacity=1)
    for n in range(1, 4):
        await es.supporter(harness, "telegram", str(n))
        clock.advance(minutes=1)
        await harness.say("telegram", str(n), choice=f"rsvp:{event.id}:w" if n > 1 else f"rsvp:{event.id}:g")
    assert [(await es.rsvp_of(harness, event.id, n)).status for n in (1, 2, 3)] == ["going", "waitlisted", "waitlisted"]
    await harness.say("telegram", "1", choice=f"rsvp:{event.id}:m")
    assert [(await es.rsvp_of(harness, event.id, n)).status for n in (1, 2, 3)] == ["maybe", "going", "waitlisted"]
    assert harness.channels["telegram"].pop("2")[0]["text"].startswith("Good news")
    # An old "join the waitlist" button never takes a place away.
    await harness.say("telegram", "2", choice=f"rsvp:{event.id}:w")
    assert (await es.rsvp_of(harness, event.id, 2)).status == "going"
    # Going when a place is free skips the waitlist offer.
    await harness.say("telegram", "2", choice=f"rsvp:{event.id}:d")
    assert (await es.rsvp_of(harness, event.id, 3)).status == "going"
    assert "Sorry" in (await harness.texts("telegram", "1", choice=f"rsvp:{event.id}:g"))


async def test_events_lists_at_most_five_own_group_first(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    for n in range(4):
        await es.make_event(harness, f"National {n}", starts=es.SAT_7PM - timedelta(days=1, hours=n))
    for n in range(3):
        await es.make_event(harness, f"Leeds {n}", group_id=leeds.id, starts=es.SAT_7PM + timedelta(hours=n))
    await es.supporter(harness, "telegram", "7", group_id=leeds.id)
    labels = [c["label"] for c in (await harness.say("telegram", "7", "EVENTS"))[0]["choices"]]
    assert len(labels) == 5
    assert [label.split(" · ")[1] for label in labels] == ["Leeds 0", "Leeds 1", "Leeds 2", "National 3", "National 2"]


async def test_scoped_organiser_cannot_press_their_way_into_another_group(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    other = await es.group(harness, "Manchester", ["M1"])
    await es.organiser(harness, "organiser", telegram_id=77, group_id=leeds.id)
    theirs = await es.make_event(harness, "Manchester canvass", group_id=other.id, status="draft")
    for text in ("/newevent", "Canvass", "Sat 11am", "yes", "Market Street", "10"):
        await harness.say("telegram", "77", text)
    refused = await harness.texts("telegram", "77", choice=f"newevent:g:{other.id}")
    assert "you can only create events for Leeds" in refused
    refused = await harness.texts("telegram", "77", choice="newevent:g:0")  # national: admins only
    assert "you can only create events for Leeds" in refused
    assert "organisers only" in await harness.texts("telegram", "77", choice=f"evadm:pub:{theirs.id}")
    assert "Saved as draft" in await harness.texts("telegram", "77", choice=f"newevent:g:{leeds.id}")
    async with harness.db.transaction() as tx:
        assert (await store.get(tx, theirs.id)).status == "draft"
        assert (await store.get(tx, theirs.id + 1)).group_id == leeds.id


async def test_a_supporter_cannot_press_organiser_buttons(harness):
    event = await es.make_event(harness, status="draft")
    assert "organisers only" in await harness.texts("telegram", "5", choice=f"evadm:pub:{event.id}")
    assert "upcoming events" in await harness.texts("telegram", "5", "/events")  # their own list


async def test_announcement_goes_once_to_opted_in_group_members_and_linked_chats(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    other = await es.group(harness, "York", ["YO1"])
    await es.organiser(harness, telegram_id=9001)
    event = await es.make_event(harness, group_id=leeds.id)
    await es.supporter(harness, "sms", "+447400000001", group_id=leeds.id)
    await es.supporter(harness, "telegram", "2", group_id=leeds.id)
    await es.supporter(harness, "telegram", "3", group_id=leeds.id, opted_in=False)
    await es.supporter(harness, "telegram", "4", group_id=other.id)
    async with harness.db.transaction() as tx:
        for chat, group_id in ((-1001, leeds.id), (-1002, other.id)):
            await tx.execute("INSERT INTO telegram_groups (chat_id, group_id, linked_at) VALUES (?, ?, 'x')",
                             (chat, group_id))
    text = await harness.texts("telegram", "9001", choice=f"evadm:ann:{event.id}")
    assert text == "Announcement queued for 2 supporters (1 by SMS, 1 on Telegram) and 1 group chat."
    assert "already been announced" in await harness.texts("telegram", "9001", choice=f"evadm:ann:{event.id}")
    sent = {a: [m["text"] for m in msgs] for a, msgs in harness.channels["telegram"].delivered.items()}
    assert set(sent) == {"2", "-1001"} and "message @muster_bot" in sent["-1001"][0]
    assert harness.channels["sms"].pop("+447400000001")[0]["text"].startswith("New event: Housing rally")
    # On SMS a number answers the announcement.
    assert "You're going" in await harness.texts("sms", "+447400000001", "1")


# -- the calendar file ------------------------------------------------------------------------
async def test_ics_parses_back_with_utc_times_and_no_private_address(harness):
    start = datetime(2027, 7, 1, 18, 0, tzinfo=UTC)  # 19:00 in London
    event = await es.make_event(harness, starts=start, venue="Hall", address="1 Secret Lane",
                                postcode="LS1 1AA", address_public=0, description="Bring friends")
    parsed = Calendar.from_ical(calendar.ics(event, NOW))
    [item] = parsed.walk("VEVENT")
    assert item.decoded("dtstart") == start and item.decoded("dtend") == start + timedelta(hours=2)
    assert item.decoded("dtstart").utcoffset() == timedelta(0)
    assert str(item["summary"]) == "Housing rally" and str(item["location"]) == "Hall"
    assert b"Secret Lane" not in calendar.ics(event, NOW)
    async with harness.db.transaction() as tx:
        await store.update(tx, event, NOW, address_public=1)
    assert "1 Secret Lane, LS1 1AA" in str(Calendar.from_ical(calendar.ics(event, NOW)).walk("VEVENT")[0]["location"])


async def test_telegram_confirmation_carries_a_parseable_ics_document(harness):
    event = await es.make_event(harness)
    await harness.send("telegram", "42", choice=f"rsvp:{event.id}:g")
    async with harness.db.transaction() as tx:
        payload = await tx.scalar("SELECT payload FROM outbox WHERE address = '42'")
    document = Reply.from_payload(payload).document
    assert (document.filename, document.mime) == (f"event-{event.id}.ics", "text/calendar")
    [item] = Calendar.from_ical(document.content).walk("VEVENT")
    assert item.decoded("dtstart") == es.SAT_7PM and str(item["uid"]) == f"{event.public_id}@muster"


async def test_sms_announcements_wait_for_the_end_of_quiet_hours(harness, clock):
    await es.organiser(harness, telegram_id=9001)
    event = await es.make_event(harness)
    await es.supporter(harness, "sms", "+447400000001")
    clock.set(datetime(2026, 11, 2, 22, 30, tzinfo=UTC))
    await harness.say("telegram", "9001", choice=f"evadm:ann:{event.id}")
    assert harness.channels["sms"].pop("+447400000001") == []
    clock.set(datetime(2026, 11, 3, 9, 0, tzinfo=UTC))
    await harness.deliver()
    assert harness.channels["sms"].pop("+447400000001")[0]["text"].startswith("New event")
