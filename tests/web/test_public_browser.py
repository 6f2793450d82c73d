"""The public pages in a real browser on a phone, as a supporter uses them: RSVP on an event's page,
confirm by text (YES through the sandbox's SMS), see the count change and the private address
appear; a full event's waitlist; joining with a friend's referral code; the listings. The pages have
no script at all (their policy forbids it), so what works here works without JavaScript."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.browser import PHONE, shot
from tests.web.console_support import Sandbox, sandbox
from tests.web.public_support import db, event, fill, group, phone, say


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(Path(tmp_path_factory.mktemp("public-browser"))) as running:
        yield running


def open_phone(browser: Any) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    return context, page, errors


def fits(page: Any) -> None:
    """Nothing wider than the phone's screen (a cheap phone's 360 px): no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_rsvp_confirm_by_text_and_see_the_place_counted(service: Sandbox, browser: Any) -> None:
    leeds = group(service, "Leeds Central")
    _, public_id = event(service, "Tenants' assembly: rents and repairs", group_id=leeds, capacity=12,
                         venue="Quaker Meeting House", address="188 Woodhouse Lane", postcode="LS2 9DX",
                         address_public=False, description="Bring your tenancy agreement if you have one.\n"
                                                            "Step-free access from the side door.")
    typed, e164 = phone()
    context, page, errors = open_phone(browser)
    page.goto(f"{service.base}/e/{public_id}")
    page.get_by_role("heading", name="Tenants' assembly: rents and repairs").wait_for()
    assert page.get_by_text("12 places left").is_visible()
    assert not page.get_by_text("188 Woodhouse Lane").count()
    assert page.get_by_role("link", name="RSVP in Telegram").get_attribute("href") == \
        f"https://t.me/muster_bot?start=e_{public_id}"
    fits(page)
    shot(page, "public-event-phone")
    page.get_by_label("First name").fill("Siân")
    page.get_by_label("Mobile number").fill(typed)
    page.get_by_role("button", name="RSVP by text").click()
    page.get_by_role("heading", name="Check your phone").wait_for()
    assert page.get_by_text("you'll only get messages about this event", exact=False).is_visible()
    shot(page, "public-event-sent-phone")
    service.wait_for_message("sms", e164, "reply YES to confirm your place")
    say(service, e164, "YES")
    service.wait_for_message("sms", e164, "You're going")
    page.goto(f"{service.base}/e/{public_id}")
    page.get_by_text("11 places left").wait_for()
    assert page.get_by_text("You're going. See you there!").is_visible()
    assert page.get_by_text("188 Woodhouse Lane", exact=False).is_visible()
    shot(page, "public-event-going-phone")
    assert not errors, errors
    context.close()


def test_a_bad_number_is_said_beside_the_field(service: Sandbox, browser: Any) -> None:
    _, public_id = event(service, "Street stall")
    context, page, _ = open_phone(browser)
    page.goto(f"{service.base}/e/{public_id}")
    page.get_by_label("First name").fill("Jo")
    page.get_by_label("Mobile number").fill("12345")
    page.get_by_role("button", name="RSVP by text").click()
    page.get_by_text("Give a mobile number, like 07700 900123").wait_for()
    assert page.get_by_label("First name").input_value() == "Jo"
    assert page.get_by_label("Mobile number").input_value() == "12345"
    fits(page)
    shot(page, "public-event-bad-number-phone")
    context.close()


def test_a_full_event_offers_the_waitlist(service: Sandbox, browser: Any) -> None:
    event_id, public_id = event(service, "Small room meeting", capacity=2)
    fill(service, event_id, 2)
    typed, e164 = phone()
    context, page, _ = open_phone(browser)
    page.goto(f"{service.base}/e/{public_id}")
    assert page.get_by_text("Full: you can join the waitlist").is_visible()
    page.get_by_label("First name").fill("Ade")
    page.get_by_label("Mobile number").fill(typed)
    shot(page, "public-event-full-phone")
    page.get_by_role("button", name="Join the waitlist").click()
    page.get_by_role("heading", name="Check your phone").wait_for()
    service.wait_for_message("sms", e164, "reply YES")
    say(service, e164, "YES")
    service.wait_for_message("sms", e164, "You're on the waitlist for Small room meeting")
    context.close()


def test_join_with_a_referral_code(service: Sandbox, browser: Any) -> None:
    recruiter = phone()[1]
    db(service, "INSERT INTO supporters (phone, first_name, status, referral_code, created_at) "
                "VALUES (?, 'Rita', 'active', 'M3RQ7X', '2026-01-01T00:00:00.000000Z')", (recruiter,))
    typed, e164 = phone()
    context, page, _ = open_phone(browser)
    page.goto(f"{service.base}/join?r=M3RQ7X")
    page.get_by_role("heading", name="Join Muster").wait_for()
    page.get_by_label("First name").fill("Kwame")
    page.get_by_label("Mobile number").fill(typed)
    page.get_by_label("Postcode").fill("ls6 1an")
    page.get_by_label("Yes, send me text messages").check()
    fits(page)
    shot(page, "public-join-phone")
    page.get_by_role("button", name="Join by text").click()
    page.get_by_role("heading", name="Check your phone").wait_for()
    assert page.get_by_text("agree to campaign texts", exact=False).is_visible()
    service.wait_for_message("sms", e164, "you're joining Muster")
    say(service, e164, "YES")
    service.wait_for_message("sms", e164, "Welcome to Muster")
    referrer = db(service, "SELECT id FROM supporters WHERE phone = ?", (recruiter,))[0][0]
    assert db(service, "SELECT referred_by, postcode, sms_consent FROM supporters WHERE phone = ?", (e164,)) == [
        (referrer, "LS6 1AN", "opted_in")]
    context.close()


def test_the_listings_on_a_phone(service: Sandbox, browser: Any) -> None:
    york = group(service, "York and District")
    for title in ("Door knocking in Tang Hall", "Voter registration stall at Parliament Street"):
        event(service, title, group_id=york, capacity=20)
    event(service, "National day of action for fair rents")
    context, page, _ = open_phone(browser)
    page.goto(f"{service.base}/g/york-and-district")
    page.get_by_role("heading", name="Upcoming events: York and District").wait_for()
    assert page.get_by_role("link", name="Door knocking in Tang Hall").is_visible()
    assert page.get_by_text("National day of action for fair rents").is_visible()
    fits(page)
    shot(page, "public-group-phone")
    page.goto(f"{service.base}/events")
    fits(page)
    shot(page, "public-events-phone")
    page.get_by_role("link", name="Door knocking in Tang Hall").click()
    page.get_by_role("heading", name="Door knocking in Tang Hall").wait_for()
    context.close()
