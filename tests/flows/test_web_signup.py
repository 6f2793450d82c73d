"""The web's double opt-in (flows/supporter/web_signup.py) through the real engine and outbox: a form
asks, a text says "reply YES", and only the YES from that phone makes the RSVP, the consent and the
referral; what callers are told never shows whether a number is known."""
from __future__ import annotations

from datetime import timedelta

from flows.core.settings import FlowSettings
from flows.supporter import web_signup
from flows.supporter.web_signup import Requested, Signup
from storage import broadcasts as broadcast_store
from storage import consent, privacy, supporters, suppression
from storage import events as event_store
from storage import web_signups as store
from storage.broadcasts import Audience
from tests.flows.events_support import due, make_event, rsvp_of, supporter
from tests.harness import Harness

PHONE = "+447400123456"
TYPED = "07400 123456"
SETTINGS = FlowSettings()
WORDS = web_signup.campaign_words(SETTINGS.movement)


async def ask(h: Harness, **fields: object) -> Requested:
    fields.setdefault("phone", TYPED)
    fields.setdefault("source", "web")
    async with h.db.transaction() as tx:
        if fields.get("campaign") and "wording_version" not in fields:
            fields["wording_version"] = await web_signup.wording(tx, WORDS, "web", h.clock.now())
        result = await web_signup.request(tx, h.clock.now(), SETTINGS, Signup(**fields))  # type: ignore[arg-type]
    await h.deliver()
    return result


def sent_to(h: Harness, address: str = PHONE, channel: str = "sms") -> list[str]:
    return [m["text"] for m in h.channels[channel].pop(address)]


async def one(h: Harness, sql: str, params: tuple = ()) -> object:
    async with h.db.transaction() as tx:
        return await tx.scalar(sql, params)


async def person(h: Harness, phone: str = PHONE) -> supporters.Supporter:
    async with h.db.transaction() as tx:
        found = await supporters.find(tx, "sms", phone)
    assert found is not None
    return found


async def test_an_rsvp_counts_only_after_yes_and_then_only_event_messages_reach_them(harness: Harness) -> None:
    h = harness
    event = await make_event(h, capacity=10)
    result = await ask(h, first_name="Sam", event_id=event.id)
    assert result == Requested("sent")
    [text] = sent_to(h)
    assert "reply YES to confirm your place at Housing rally, Saturday 7 November 2026, 19:00." in text
    assert "We'll only text you about this event." in text and "Not you? Reply NO." in text
    me = await person(h)
    assert await rsvp_of(h, event.id, me.id) is None  # nothing counts until YES
    assert me.first_name is None  # what they typed is theirs only once they confirm

    reply = await h.texts("sms", PHONE, "YES")
    assert "You're going to Housing rally!" in reply
    assert "You'll only get messages about this event" in reply
    rsvp = await rsvp_of(h, event.id, me.id)
    assert rsvp is not None and rsvp.status == "going" and rsvp.channel == "sms"
    me = await person(h)
    assert me.first_name == "Sam" and me.sms_consent == "none" and me.status == "new"

    # The reminder reaches them on SMS; an announcement or a broadcast does not.
    h.clock.set(event.start - timedelta(hours=3))
    assert await due(h) == 1
    assert any("Reminder: Housing rally" in t for t in sent_to(h))
    async with h.db.transaction() as tx:
        assert me.id not in [r.supporter_id for r in await event_store.audience(tx, None)]
        # Even a broadcast to this event's RSVPs leaves them out.
        assert await broadcast_store.count(tx, Audience(event_id=event.id), every=True) == {
            "sms": 0, "telegram": 0, "chats": 0}


async def test_campaign_consent_is_recorded_with_its_source_and_wording_once(harness: Harness) -> None:
    h = harness
    assert await ask(h, first_name="Ana", campaign=True, postcode="ls6 1an") == Requested("sent")
    [text] = sent_to(h)
    assert "you're joining Muster" in text and "campaign texts" in text
    # The same form again within the hour: nothing new is sent, nothing changes.
    assert await ask(h, first_name="Ana", campaign=True, postcode="ls6 1an") == Requested("pending")
    assert sent_to(h) == []
    reply = await h.texts("sms", PHONE, "yes")
    assert "You're signed up, Ana. Welcome to Muster!" in reply
    me = await person(h)
    assert me.sms_consent == "opted_in" and me.status == "active" and me.postcode == "LS6 1AN"
    async with h.db.transaction() as tx:
        history = await consent.history(tx, me.id)
    version = store.version_of(WORDS, "web")
    assert [(r["channel"], r["action"], r["source"], r["wording_version"]) for r in history] == [
        ("sms", "opt_in", "web", version)]
    assert await one(h, "SELECT text FROM consent_wordings WHERE version = ?", (version,)) == WORDS
    # A YES again (the flow is over): no second consent row.
    await h.texts("sms", PHONE, "YES")
    h.clock.advance(hours=2)
    assert await ask(h, first_name="Ana", campaign=True) == Requested("sent")  # a new hour: a new text
    sent_to(h)
    await h.texts("sms", PHONE, "YES")
    async with h.db.transaction() as tx:
        assert len(await consent.history(tx, me.id)) == 1
    assert await one(h, "SELECT COUNT(*) FROM signup_requests WHERE answer = 'yes'") == 2


async def test_a_full_event_puts_the_yes_on_the_waitlist(harness: Harness) -> None:
    h = harness
    event = await make_event(h, capacity=1)
    other = await supporter(h, "sms", "+447400999888")
    async with h.db.transaction() as tx:
        await event_store.set_rsvp(tx, event.id, other.id, "going", "sms", h.clock.now())
    await ask(h, first_name="Bo", event_id=event.id)
    sent_to(h)
    reply = await h.texts("sms", PHONE, "Y")
    assert "You're on the waitlist for Housing rally" in reply
    me = await person(h)
    rsvp = await rsvp_of(h, event.id, me.id)
    assert rsvp is not None and rsvp.status == "waitlisted"
    # A place comes up: the promotion reaches them by their event permission.
    async with h.db.transaction() as tx:
        await event_store.set_rsvp(tx, event.id, other.id, "declined", "sms", h.clock.now())
        fresh = await event_store.get(tx, event.id)
        assert fresh is not None
        from flows.supporter import events as ev
        assert await ev.promote(tx, fresh, h.clock.now(), SETTINGS) == [me.id]
    await h.deliver()
    assert any("a place came up" in t for t in sent_to(h))


async def test_an_erased_number_is_answered_sent_and_nothing_is_queued_or_kept(harness: Harness) -> None:
    h = harness
    async with h.db.transaction() as tx:
        suppression.add(tx, SETTINGS.erasure_salt, h.clock.now(), phone=PHONE)
    assert await ask(h, first_name="Cy") == Requested("sent")
    assert sent_to(h) == []
    assert await one(h, "SELECT COUNT(*) FROM supporters") == 0
    assert await one(h, "SELECT COUNT(*) FROM signup_requests") == 0
    assert await one(h, "SELECT COUNT(*) FROM outbox") == 0


async def test_an_opted_out_number_gets_only_the_confirmation_and_a_stop_ends_the_event_permission(
        harness: Harness) -> None:
    h = harness
    event = await make_event(h)
    await h.say("sms", PHONE, "STOP")
    assert (await person(h)).sms_consent == "opted_out"
    h.clock.advance(days=1)
    await ask(h, event_id=event.id)
    [text] = sent_to(h)
    assert "reply YES" in text
    reply = await h.texts("sms", PHONE, "YES")  # not the keyword that opts back in to everything
    assert "You're going to Housing rally!" in reply
    me = await person(h)
    assert me.sms_consent == "opted_out"
    h.clock.set(event.start - timedelta(hours=3))
    assert await due(h) == 1  # the reminder, by the permission given after the opt-out
    sent_to(h)
    h.clock.advance(minutes=5)
    await h.say("sms", PHONE, "STOP")  # already out: no second confirmation, but the permission ends
    async with h.db.transaction() as tx:
        assert await store.permitted(tx, event.id, me.id) is None
    h.clock.set(event.start - timedelta(hours=1))
    assert await due(h) == 0
    assert sent_to(h) == []


async def test_no_and_unclear_answers_change_nothing(harness: Harness) -> None:
    h = harness
    event = await make_event(h)
    await ask(h, first_name="Di", event_id=event.id)
    sent_to(h)
    assert "Nothing has been changed" in await h.texts("sms", PHONE, "no")
    me = await person(h)
    assert await rsvp_of(h, event.id, me.id) is None and me.first_name is None
    assert await one(h, "SELECT answer FROM signup_requests") == "no"
    h.clock.advance(hours=2)
    await ask(h, first_name="Di", event_id=event.id)
    sent_to(h)
    assert "Reply YES to confirm, or NO" in await h.texts("sms", PHONE, "what is this")
    assert "You can sign up again" in await h.texts("sms", PHONE, "hmm")
    assert "What would you like to do?" in await h.texts("sms", PHONE, "YES")  # the flow is over: YES is a word
    assert await rsvp_of(h, event.id, me.id) is None


async def test_the_referral_is_credited_on_yes(harness: Harness) -> None:
    h = harness
    recruiter = await supporter(h, "sms", "+447400555444")
    async with h.db.transaction() as tx:
        supporters.update(tx, recruiter, referral_code="K7MX4Q")
    await ask(h, first_name="Eli", referral="k7mx4q")
    sent_to(h)
    assert (await person(h)).referred_by is None
    await h.texts("sms", PHONE, "YES")
    assert (await person(h)).referred_by == recruiter.id


async def test_refusals_say_what_to_change_and_queue_nothing(harness: Harness) -> None:
    h = harness
    draft = await make_event(h, status="draft")
    cancelled = await make_event(h, status="cancelled")
    cases = [
        ({"phone": "12"}, "phone"),
        ({"first_name": "R2D2"}, "first_name"),
        ({"email": "not an address"}, "email"),
        ({"postcode": "QQ1 1QQ"}, "postcode"),
        ({"campaign": True, "wording_version": "web-000000000000"}, "wording_version"),
        ({"campaign": True, "wording_version": None}, "wording_version"),
        ({"event_id": draft.id}, "event_id"),
        ({"event_id": cancelled.id}, "event_id"),
        ({"group_id": 999}, "group_id"),
        ({"source": "fax"}, "source"),
    ]
    for fields, field in cases:
        result = await ask(h, **fields)
        assert result.outcome == "refused" and result.field == field and result.reason, fields
    assert await one(h, "SELECT COUNT(*) FROM outbox") == 0
    assert await one(h, "SELECT COUNT(*) FROM signup_requests") == 0


async def test_an_api_request_records_api_as_the_source(harness: Harness) -> None:
    h = harness
    async with h.db.transaction() as tx:
        version = await web_signup.wording(tx, "I agree to texts (partner form)", "api", h.clock.now())
    assert version.startswith("api-")
    await ask(h, source="api", campaign=True, wording_version=version)
    sent_to(h)
    await h.texts("sms", PHONE, "YES")
    me = await person(h)
    async with h.db.transaction() as tx:
        history = await consent.history(tx, me.id)
    assert [(r["source"], r["wording_version"]) for r in history] == [("api", version)]


async def test_an_event_page_opens_the_event_in_telegram(harness: Harness) -> None:
    h = harness
    event = await make_event(h)
    got = await h.say("telegram", "5550001", f"/start e_{event.public_id}")
    assert "Housing rally" in got[0]["text"]
    assert [c["key"] for c in got[0]["choices"]] == [f"rsvp:{event.id}:g", f"rsvp:{event.id}:m", f"rsvp:{event.id}:d"]
    await h.say("telegram", "5550001", choice=f"rsvp:{event.id}:g")
    async with h.db.transaction() as tx:
        me = await supporters.find(tx, "telegram", "5550001")
        assert me is not None and me.telegram_consent == "none"
        assert await store.permitted(tx, event.id, me.id) == "telegram"
    h.clock.set(event.start - timedelta(hours=3))
    assert await due(h) == 1
    assert any("Reminder" in m["text"] for m in h.channels["telegram"].pop("5550001"))


async def test_an_erasure_after_an_rsvp_leaves_no_number_behind(harness: Harness) -> None:
    h = harness
    event = await make_event(h)
    await ask(h, first_name="Fay", event_id=event.id)
    sent_to(h)
    await h.texts("sms", PHONE, "YES")
    me = await person(h)
    async with h.db.transaction() as tx:
        await privacy.erase(tx, me.id, h.clock.now())
    rows = await one(h, "SELECT COUNT(*) FROM signup_requests WHERE phone_hash LIKE '%7400%'")
    assert rows == 0  # only a salted hash was ever kept
    # Erased means gone: the request made for them and the event notices it allowed go too.
    assert await one(h, "SELECT COUNT(*) FROM signup_requests WHERE supporter_id = ?", (me.id,)) == 0
    assert await one(h, "SELECT COUNT(*) FROM event_permissions WHERE supporter_id = ?", (me.id,)) == 0


async def test_a_sign_up_from_a_welsh_page_is_asked_in_welsh_and_kept_in_welsh(harness: Harness) -> None:
    await ask(harness, language="cy")
    assert sent_to(harness)[0].startswith("Muster: atebwch IE i gadarnhau")
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, "sms", PHONE)
    assert (person.language, person.language_stated) == ("cy", 1)


async def test_a_stated_language_is_not_changed_by_the_pages_language(harness: Harness) -> None:
    await harness.say("sms", PHONE, "ENGLISH")
    harness.clock.advance(hours=2)
    await ask(harness, language="cy")
    assert "reply YES to confirm" in sent_to(harness)[-1]
