"""Sign-up: what is stored, group mapping, referrals, deep links, validation."""
from __future__ import annotations

from datetime import timedelta

import pytest

from flows.values import postcodes
from storage import events, groups, supporters
from storage import interests as interest_store

PHONE = "+447400123456"


async def _person(h, channel: str, address: str):
    async with h.db.transaction() as tx:
        person = await supporters.find(tx, channel, address)
        return person, await interest_store.of(tx, person.id)


async def _group(h, name: str, areas: list[str]) -> int:
    async with h.db.transaction() as tx:
        return (await groups.add(tx, name, areas, h.clock.now())).id


async def test_answers_are_stored_and_normalised(harness) -> None:
    gid = await _group(harness, "Central Manchester", ["M1"])
    await _group(harness, "Greater Manchester", ["M"])
    for text in ("  Join. ", " Zoë  O'Brien ", "m11ae", "1, 5", "Zoe@Example.ORG", "1"):
        await harness.say("sms", PHONE, text)
    person, topics = await _person(harness, "sms", PHONE)
    assert (person.first_name, person.postcode, person.area, person.group_id) == ("Zoë O'Brien", "M1 1AE", "M1", gid)
    assert person.email == "Zoe@example.org"  # the domain is case-insensitive, the local part is not
    assert topics == ["elections", "housing"]
    assert person.status == "active" and person.sms_consent == "opted_in"


async def test_welcome_names_their_group_and_its_next_event(harness) -> None:
    gid = await _group(harness, "Central Manchester", ["M1"])
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        for title, days, group, status in (("National day of action", 2, None, "confirmed"),
                                           ("Rent rally", 5, gid, "confirmed"), ("Draft plan", 1, gid, "draft")):
            await events.create(tx, public_id=title[:4], title=title, starts_at=now + timedelta(days=days),
                                ends_at=now + timedelta(days=days, hours=2), now=now, status=status, group_id=group)
    for text in ("JOIN", "Sam", "M1 1AE", "1", "skip"):
        await harness.say("sms", PHONE, text)
    welcome = await harness.texts("sms", PHONE, "YES")
    assert "Your local group is Central Manchester." in welcome
    assert "Next event: " in welcome and "Rent rally. Send EVENTS" in welcome  # their group's, before national
    assert "Draft plan" not in welcome and "National day" not in welcome


async def test_unknown_area_is_recorded_and_said(harness) -> None:
    for text in ("JOIN", "Sam"):
        await harness.say("sms", PHONE, text)
    text = await harness.texts("sms", PHONE, "EH1 1YZ")
    assert "No local group covers EH1 yet" in text
    person, _ = await _person(harness, "sms", PHONE)
    assert (person.postcode, person.area, person.group_id) == ("EH1 1YZ", "EH1", None)


async def test_sms_join_with_a_referral_code_credits_the_recruiter_once(harness) -> None:
    for text in ("JOIN", "Ann", "skip", "skip", "skip", "yes"):
        await harness.say("sms", "+447400000001", text)
    ann, _ = await _person(harness, "sms", "+447400000001")
    for text in (f"join {ann.referral_code.lower()}", "Bob", "skip", "skip", "skip", "yes"):
        await harness.say("sms", "+447400000002", text)
    bob, _ = await _person(harness, "sms", "+447400000002")
    assert bob.referred_by == ann.id
    await harness.say("sms", "+447400000001", f"JOIN {bob.referral_code}")  # Ann is active: no credit
    ann, _ = await _person(harness, "sms", "+447400000001")
    assert ann.referred_by is None


async def test_telegram_deep_links_carry_referral_and_group(harness) -> None:
    for text in ("JOIN", "Ann", "skip", "skip", "skip", "yes"):
        await harness.say("sms", "+447400000001", text)
    ann, _ = await _person(harness, "sms", "+447400000001")
    gid = await _group(harness, "Leeds", ["LS"])
    await harness.say("telegram", "500", f"/start r_{ann.referral_code}")
    for text in ("Cat", "skip", "skip", "skip", "yes"):
        await harness.say("telegram", "500", text)
    cat, _ = await _person(harness, "telegram", "500")
    assert cat.referred_by == ann.id
    await harness.say("telegram", "501", f"/start g_{gid}")
    for text in ("Dev", "skip"):
        await harness.say("telegram", "501", text)
    dev, _ = await _person(harness, "telegram", "501")
    assert dev.group_id == gid  # pre-filled: no postcode given
    await harness.say("telegram", "502", f"/start g_{gid}")
    for text in ("Eve", "EH1 1YZ"):
        await harness.say("telegram", "502", text)
    eve, _ = await _person(harness, "telegram", "502")
    assert eve.group_id == gid


async def test_existing_supporter_join_offers_update_not_a_second_signup(harness) -> None:
    for text in ("JOIN", "Sam", "skip", "1 2", "skip", "yes"):
        await harness.say("sms", PHONE, text)
    replies = await harness.say("telegram", "1", "JOIN")  # someone else: a sign-up
    assert "first name" in replies[0]["text"]
    text = await harness.texts("sms", PHONE, "JOIN")
    assert "already signed up" in text and "Update my details" in text
    for text in ("6", "Samuel", "skip", "skip", "skip"):  # 6: Update my details, where Join is for others
        last = await harness.texts("sms", PHONE, text)
    assert "updated" in last
    person, topics = await _person(harness, "sms", PHONE)
    assert person.first_name == "Samuel" and topics == ["housing", "jobs_pay"]  # SKIP kept them


async def test_menu_has_a_join_entry(harness) -> None:
    replies = await harness.say("telegram", "1", "MENU")
    assert {"key": "menu:join", "label": "Join"} in replies[0]["choices"]
    replies = await harness.say("telegram", "1", choice="menu:join")
    assert "first name" in replies[0]["text"]


@pytest.mark.parametrize("text, expected", [
    ("m1 1ae", "M1 1AE"), ("SW1A1AA", "SW1A 1AA"), (" ec1r  1ub ", "EC1R 1UB"), ("0X1 1AA", "OX1 1AA"),
])
def test_postcodes_normalise(text, expected) -> None:
    assert postcodes.parse(text).postcode == expected


@pytest.mark.parametrize("text", ["", "hello", "QQ1 1AA", "M1", "M1 1AE please", "١٢٣", "M1 1AÉ", "12345"])
def test_postcodes_refuse(text) -> None:
    assert postcodes.parse(text) is None
