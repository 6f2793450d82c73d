"""The organisers' inbox: what is kept of a supporter's messages, answering, closing, who may, erasure."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from flows.organiser import inbox
from flows.organiser.access import Actor
from flows.organiser.errors import InboxError, ScopeError
from storage import inbox as store
from storage import outbox
from tests.flows.events_support import group, organiser, supporter
from tests.harness import Harness

PHONE = "+447700900111"
TG = "5550001"
QUESTION = "Is the rally on Saturday step-free? My mum uses a wheelchair"


async def _items(h: Harness) -> list[store.Item]:
    async with h.db.transaction() as tx:
        return await inbox.items(tx, Actor(trusted=True), handled_since=h.clock.now() - timedelta(days=1))


async def _outbox(h: Harness, supporter_id: int) -> list[tuple[str, int, str]]:
    async with h.db.transaction() as tx:
        rows = await tx.query("SELECT payload, priority, not_before FROM outbox WHERE supporter_id = ? ORDER BY id",
                              (supporter_id,))
    return [(json.loads(r["payload"])["text"], r["priority"], r["not_before"]) for r in rows]


async def _ask(h: Harness, channel: str, address: str, text: str = QUESTION) -> store.Item:
    """The supporter writes something the bot does not understand; returns the newest item."""
    await h.say(channel, address, text)
    return (await _items(h))[0]


async def test_an_unknown_message_is_kept_once_and_still_answered_with_the_menu(harness: Harness) -> None:
    h = harness
    person = await supporter(h, "sms", PHONE, name="Ada")
    reply = await h.texts("sms", PHONE, f"  {QUESTION} ", provider_id="SM1")
    assert reply.startswith("Sorry, I didn't understand that. What would you like to do?")
    await h.send("sms", PHONE, QUESTION, provider_id="SM1")  # the provider retries the webhook
    [item] = await _items(h)
    assert (item.supporter_id, item.channel, item.text, item.received_at) == (person.id, "sms", QUESTION, h.clock.now())
    assert (item.status, item.handled_by, item.handled_at, item.answer) == ("open", None, None, None)
    assert item.first_name == "Ada"
    async with h.db.transaction() as tx:
        assert await inbox.open_count(tx, Actor(trusted=True)) == 1
    # The same words sent again are a second message, and a second item.
    await h.say("sms", PHONE, QUESTION)
    assert [i.text for i in await _items(h)] == [QUESTION, QUESTION]


async def test_yes_that_answers_nothing_is_kept(harness: Harness) -> None:
    """A YES passed on by the consent keywords (not an opt-in here) is the supporter's own words."""
    await supporter(harness, "telegram", TG)
    await harness.say("telegram", TG, "yes")
    assert [i.text for i in await _items(harness)] == ["yes"]


async def test_buttons_keywords_commands_empty_and_organisers_are_not_kept(harness: Harness) -> None:
    h = harness
    await supporter(h, "telegram", TG)
    for text in ("MENU", "events", "Help!", "MYEVENTS", "", "   ", "?!", "👍", "/frobnicate now"):
        await h.say("telegram", TG, text)
    await h.say("telegram", TG, choice="menu:help")
    await h.say("telegram", TG, "hello", choice="gone:12")  # a stale button that nothing handles any more
    await h.say("telegram", TG, "MENU")
    await h.say("telegram", TG, "1")  # a number standing for a choice the menu offered
    await organiser(h, "organiser", phone=PHONE)
    await supporter(h, "sms", PHONE)
    assert "didn't understand" in await h.texts("sms", PHONE, "braodcast hello")  # an organiser's typo
    assert await _items(h) == []


async def test_a_throttled_sender_is_not_kept(harness: Harness) -> None:
    h = harness
    await supporter(h, "telegram", TG)
    for _ in range(h.engine.settings.inbound_per_minute):
        await h.send("telegram", TG, "MENU")
    for text in ("please help", "yes"):  # over the limit: the YES is still routed, as a consent word
        assert (await h.send("telegram", TG, text)).throttled is (text != "yes")
    assert await _items(h) == []
    h.clock.advance(minutes=2)
    await h.send("telegram", TG, "please help")
    assert [i.text for i in await _items(h)] == ["please help"]


async def test_answering_queues_one_message_and_marks_the_item_answered(harness: Harness) -> None:
    h = harness
    leeds = await group(h, "Leeds", ["LS"])
    role = await organiser(h, "organiser", telegram_id=77, group_id=leeds.id)
    me = Actor((role,), "web:organiser:3")
    person = await supporter(h, "telegram", TG, group_id=leeds.id)
    item = await _ask(h, "telegram", TG)
    before = await _outbox(h, person.id)

    h.clock.advance(minutes=5)
    async with h.db.transaction() as tx:
        done = await inbox.answer(tx, me, item.id, "  Yes, there is a ramp at the side door.  ", h.clock.now(),
                                  h.engine.settings)
        assert await inbox.open_count(tx, me) == 0
    assert (done.status, done.handled_by, done.handled_at, done.answer) == (
        "answered", "web:organiser:3", h.clock.now(), "Yes, there is a ramp at the side door.")
    new = (await _outbox(h, person.id))[len(before):]
    assert [(text, priority) for text, priority, _ in new] == [("Yes, there is a ramp at the side door.",
                                                                outbox.INTERACTIVE)]
    await h.deliver()
    assert [m["text"] for m in h.channels["telegram"].pop(TG)] == ["Yes, there is a ramp at the side door."]

    async with h.db.transaction() as tx:  # once answered, it is not answered again, nor closed
        with pytest.raises(InboxError, match=r"already answered by web:organiser:3"):
            await inbox.answer(tx, me, item.id, "Again", h.clock.now(), h.engine.settings)
        with pytest.raises(InboxError, match="already answered"):
            await inbox.mark_done(tx, me, item.id, h.clock.now())
        assert [i.id for i in await inbox.items(tx, me)] == []
        assert [i.id for i in await inbox.items(tx, me, handled_since=h.clock.now())] == [item.id]
    assert len(await _outbox(h, person.id)) == len(before) + 1


async def test_an_sms_answer_waits_for_the_end_of_quiet_hours(harness: Harness) -> None:
    h = harness
    person = await supporter(h, "sms", PHONE)
    h.clock.set(h.clock.now().replace(hour=22))
    item = await _ask(h, "sms", PHONE)
    async with h.db.transaction() as tx:
        await inbox.answer(tx, Actor(trusted=True), item.id, "We'll call you tomorrow.", h.clock.now(),
                           h.engine.settings)
    text, _, not_before = (await _outbox(h, person.id))[-1]
    assert text == "We'll call you tomorrow." and not_before.startswith("2026-11-03T09:00")


async def test_an_empty_or_overlong_answer_is_refused(harness: Harness) -> None:
    h = harness
    await supporter(h, "sms", PHONE)
    item = await _ask(h, "sms", PHONE)
    async with h.db.transaction() as tx:
        for text, message in (("  ", "empty"), ("x" * 1601, "at most 1,600")):
            with pytest.raises(InboxError, match=message):
                await inbox.answer(tx, Actor(trusted=True), item.id, text, h.clock.now(), h.engine.settings)
        assert (await inbox.get(tx, Actor(trusted=True), item.id)).status == "open"
        with pytest.raises(InboxError, match="no message #999"):
            await inbox.get(tx, Actor(trusted=True), 999)


async def test_an_opted_out_channel_is_refused_and_the_item_can_be_closed(harness: Harness) -> None:
    h = harness
    person = await supporter(h, "sms", PHONE)
    item = await _ask(h, "sms", PHONE)
    await h.say("sms", PHONE, "STOP")
    before = await _outbox(h, person.id)
    admin = Actor(trusted=True)
    async with h.db.transaction() as tx:
        with pytest.raises(InboxError, match="opted out of messages on SMS"):
            await inbox.answer(tx, admin, item.id, "Hello?", h.clock.now(), h.engine.settings)
    async with h.db.transaction() as tx:
        assert (await inbox.get(tx, admin, item.id)).status == "open"
        closed = await inbox.mark_done(tx, admin, item.id, h.clock.now())
        assert (closed.status, closed.handled_by, closed.answer) == ("done", "cli", None)
        with pytest.raises(InboxError, match="already marked done by cli"):
            await inbox.mark_done(tx, admin, item.id, h.clock.now())
    assert await _outbox(h, person.id) == before


async def test_each_organiser_sees_and_answers_only_their_groups(harness: Harness) -> None:
    h = harness
    leeds, york = await group(h, "Leeds", ["LS"]), await group(h, "York", ["YO"])
    in_leeds = await supporter(h, "telegram", "1001", group_id=leeds.id)
    await supporter(h, "telegram", "1002", group_id=york.id)
    await supporter(h, "telegram", "1003")  # no local group
    a = await _ask(h, "telegram", "1001", "leeds question")
    b = await _ask(h, "telegram", "1002", "york question")
    n = await _ask(h, "telegram", "1003", "national question")
    leeds_org = Actor((await organiser(h, "organiser", telegram_id=11, group_id=leeds.id),), "web:organiser:11")
    york_org = Actor((await organiser(h, "organiser", telegram_id=12, group_id=york.id),), "web:organiser:12")
    national = Actor((await organiser(h, "organiser", telegram_id=13),), "web:organiser:13")
    admin = Actor((await organiser(h, "admin", telegram_id=14, group_id=york.id),), "web:organiser:14")
    nobody = Actor((), "web:organiser:15")
    now, settings = h.clock.now(), h.engine.settings

    async with h.db.transaction() as tx:
        assert [i.id for i in await inbox.items(tx, leeds_org)] == [a.id]
        assert [i.id for i in await inbox.items(tx, york_org)] == [b.id]
        for everyone in (national, admin, Actor(trusted=True)):
            assert [i.id for i in await inbox.items(tx, everyone)] == [n.id, b.id, a.id]
            assert await inbox.open_count(tx, everyone) == 3
        assert await inbox.open_count(tx, leeds_org) == 1
        for ask in (inbox.items(tx, nobody), inbox.open_count(tx, nobody)):
            with pytest.raises(ScopeError, match="not an organiser"):
                await ask
        with pytest.raises(ScopeError, match="outside your local groups"):
            await inbox.answer(tx, york_org, a.id, "From York", now, settings)
        with pytest.raises(ScopeError, match="outside your local groups"):
            await inbox.mark_done(tx, york_org, a.id, now)
        with pytest.raises(ScopeError, match="no local group"):
            await inbox.answer(tx, leeds_org, n.id, "From Leeds", now, settings)
        with pytest.raises(ScopeError, match="outside your local groups"):
            await inbox.get(tx, leeds_org, b.id)
        assert (await inbox.answer(tx, leeds_org, a.id, "From Leeds", now, settings)).status == "answered"
        assert (await inbox.answer(tx, national, n.id, "From HQ", now, settings)).status == "answered"
        assert (await inbox.mark_done(tx, admin, b.id, now)).handled_by == "web:organiser:14"
    assert "From York" not in [t for t, _, _ in await _outbox(h, in_leeds.id)]


async def test_erasure_removes_the_supporters_items(harness: Harness) -> None:
    h = harness
    person = await supporter(h, "sms", PHONE, name="Ada")
    await supporter(h, "telegram", TG)
    answered = await _ask(h, "sms", PHONE, "Ada Lovelace here, can I help at the stall?")
    await _ask(h, "sms", PHONE, "Also my neighbour Bram wants to come")
    other = await _ask(h, "telegram", TG, "someone else's question")
    async with h.db.transaction() as tx:
        await inbox.answer(tx, Actor(trusted=True), answered.id, "Thank you Ada!", h.clock.now(), h.engine.settings)
    await h.say("sms", PHONE, "DELETE")
    assert "erased" in await h.texts("sms", PHONE, "YES")
    assert [i.id for i in await _items(h)] == [other.id]
    async with h.db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM inbox_items WHERE supporter_id = ?", (person.id,)) == 0
        assert await tx.scalar("SELECT COUNT(*) FROM inbox_items WHERE text LIKE '%Ada%' OR answer LIKE '%Ada%' "
                               "OR text LIKE '%Bram%'") == 0
