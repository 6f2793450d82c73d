"""The public pages over real HTTP against the real service (sandbox): every route, its 4xx, the
honeypot, the rate limits, one confirmation text an hour, CSRF, cache headers, and what the pages
never show (who else RSVPed, whether a number is known, a private address before the RSVP)."""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.web.console_support import Sandbox, sandbox
from tests.web.public_support import client, db, event, fill, group, phone, say, texts, token, wording


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(Path(tmp_path_factory.mktemp("public"))) as running:
        yield running


def rsvp(c: httpx.Client, public_id: str, **fields: str) -> httpx.Response:
    page = c.get(f"/e/{public_id}")
    assert page.status_code == 200, page.text[:300]
    data = {"csrftoken": token(page), "wording": wording(page), "first_name": "Sam", **fields}
    return c.post(f"/e/{public_id}", data=data)


def test_an_event_page_shows_the_event_and_a_card_for_shared_links(service: Sandbox) -> None:
    leeds = group(service, "Leeds Central")
    _, public_id = event(service, "Rent strike meeting", group_id=leeds, capacity=40, venue="Civic Hall",
                         address="12 Hidden Row", postcode="LS1 1UR", address_public=False,
                         description="Bring your tenancy agreement.\nTea and biscuits.")
    got = client(service).get(f"/e/{public_id}")
    assert got.status_code == 200
    html = got.text
    for expected in ("<h1>Rent strike meeting</h1>", "Leeds Central", "40 places left",
                     "Bring your tenancy agreement.", f'href="/events/{public_id}.ics"',
                     f"https://t.me/muster_bot?start=e_{public_id}", "https://www.openstreetmap.org/search?query=Civic+Hall",
                     'property="og:title" content="Rent strike',
                     f'property="og:url" content="{service.base}/e/{public_id}"', 'name="csrftoken"',
                     "The full address is sent to people going", "you only get messages about this event"):
        assert expected in html, expected
    assert "12 Hidden Row" not in html and "LS1 1UR" not in html  # private until someone is going
    assert re.search(r'og:description" content="[^"]*Civic Hall · Leeds Central', html)
    assert got.headers["cache-control"] == "no-store"  # a page with a form
    assert "script-src 'none'" in got.headers["content-security-policy"]
    assert "<script" not in html
    assert "muster_csrf=" in got.headers["set-cookie"] and "Path=/;" in got.headers["set-cookie"]


def test_unknown_draft_and_cancelled_events(service: Sandbox) -> None:
    c = client(service)
    _, draft = event(service, "Not yet", status="draft")
    _, cancelled = event(service, "Called off", status="cancelled")
    for path in ("/e/nosuchevent", f"/e/{draft}", "/e/BAD%20ID!", "/e/x"):
        got = c.get(path)
        assert got.status_code == 404 and "No such event" in got.text, path
    got = c.get(f"/e/{cancelled}")
    assert got.status_code == 410 and "has been cancelled" in got.text and "<form" not in got.text
    post = c.post(f"/e/{draft}", data={"csrftoken": token(c.get(f"/e/{event(service, 'x')[1]}")), "phone": "1"})
    assert post.status_code == 404


def test_a_bad_phone_is_a_400_that_keeps_the_form(service: Sandbox) -> None:
    c = client(service)
    _, public_id = event(service, "Housing rally")
    got = rsvp(c, public_id, first_name="Siân", phone="12345")
    assert got.status_code == 400
    assert 'value="Siân"' in got.text and 'value="12345"' in got.text
    assert "Give a mobile number, like 07700 900123" in got.text and 'aria-invalid="true"' in got.text
    missing = rsvp(c, public_id, first_name="", phone="")
    assert missing.status_code == 400 and "Tell us your first name." in missing.text
    assert "Give your mobile number" in missing.text
    bad_email = client(service)
    page = bad_email.get("/join")
    joined = bad_email.post("/join", data={"csrftoken": token(page), "wording": wording(page), "first_name": "Ana",
                                           "phone": phone()[0], "email": "not an address", "postcode": "QQ1 1QQ"})
    assert joined.status_code == 400 and "Give an email address like name@example.org" in joined.text
    assert 'value="not an address"' in joined.text and 'value="QQ1 1QQ"' in joined.text


def test_rsvp_counts_once_confirmed_and_reveals_the_private_address(service: Sandbox) -> None:
    c = client(service)
    event_id, public_id = event(service, "Tenants' assembly", capacity=5, address="12 Hidden Row",
                                address_public=False)
    typed, e164 = phone()
    sent = rsvp(c, public_id, phone=typed)
    assert sent.status_code == 200 and "Check your phone" in sent.text and "07••• ••" in sent.text
    assert "only get messages about this event" in sent.text
    service.wait_for_message("sms", e164, r"reply YES to confirm your place at Tenants' assembly")
    assert "5 places left" in c.get(f"/e/{public_id}").text  # nothing counts yet
    say(service, e164, "YES")
    found = service.wait_for_message("sms", e164, r"You're going to Tenants' assembly")
    assert "12 Hidden Row" in found.string and "only get messages about this event" in found.string
    page = c.get(f"/e/{public_id}").text
    assert "4 places left" in page and "You're going" in page and "12 Hidden Row" in page
    stranger = client(service).get(f"/e/{public_id}").text
    assert "4 places left" in stranger and "12 Hidden Row" not in stranger and "Sam" not in stranger
    assert db(service, "SELECT status FROM rsvps WHERE event_id = ?", (event_id,)) == [("going",)]


def test_campaign_consent_records_the_words_shown(service: Sandbox) -> None:
    c = client(service)
    _, public_id = event(service, "Canvass")
    typed, e164 = phone()
    page = c.get(f"/e/{public_id}")
    shown = wording(page)
    got = c.post(f"/e/{public_id}", data={"csrftoken": token(page), "wording": shown, "first_name": "Jo",
                                          "phone": typed, "campaign": "1"})
    assert got.status_code == 200 and "agree to campaign texts" in got.text
    service.wait_for_message("sms", e164, "campaign texts")
    say(service, e164, "yes")
    service.wait_for_message("sms", e164, "You're going to Canvass")
    assert db(service, "SELECT c.source, c.wording_version, w.source FROM consent_log c JOIN supporters s "
                       "ON s.id = c.supporter_id JOIN consent_wordings w ON w.version = c.wording_version "
                       "WHERE s.phone = ?", (e164,)) == [("web", shown, "web")]
    # A tick sent with words other than those the page now shows is refused, the form kept.
    other = client(service)
    fresh = other.get(f"/e/{public_id}")
    stale = other.post(f"/e/{public_id}", data={"csrftoken": token(fresh), "wording": "web-000000000000",
                                                "first_name": "Jo", "phone": phone()[0], "campaign": "1"})
    assert stale.status_code == 400 and "have changed since this page was loaded" in stale.text


def test_one_confirmation_an_hour_and_the_page_never_says_whether_a_number_is_known(service: Sandbox) -> None:
    c = client(service)
    _, public_id = event(service, "Street stall")
    typed, e164 = phone()
    first = rsvp(c, public_id, phone=typed)
    assert "We've sent a text" in first.text
    second = rsvp(c, public_id, phone=typed)
    assert second.status_code == 200 and "less than an hour ago" in second.text
    service.wait_for_message("sms", e164, "reply YES")
    assert len(texts(service, e164)) == 1
    # An erased number is answered just as a new one is; nothing goes to it.
    erased_typed, erased = phone()
    say(service, erased, "JOIN")
    service.wait_for_message("sms", erased, "first name")
    say(service, erased, "DELETE")
    say(service, erased, "YES")
    service.wait_for_message("sms", erased, "have been erased")
    before = len(texts(service, erased))
    other = rsvp(client(service), public_id, phone=erased_typed)
    assert other.status_code == 200 and "We've sent a text" in other.text
    assert db(service, "SELECT COUNT(*) FROM supporters WHERE phone = ?", (erased,)) == [(0,)]
    assert len(texts(service, erased)) == before


def test_the_honeypot_pretends_and_sends_nothing(service: Sandbox) -> None:
    c = client(service)
    _, public_id = event(service, "Bot trap")
    typed, e164 = phone()
    got = rsvp(c, public_id, phone=typed, website="http://spam.example")
    assert got.status_code == 200 and "Check your phone" in got.text
    assert db(service, "SELECT COUNT(*) FROM outbox WHERE address = ?", (e164,)) == [(0,)]


def test_forms_need_the_csrf_token_and_its_cookie(service: Sandbox) -> None:
    _, public_id = event(service, "Guarded")
    typed, e164 = phone()
    bare = httpx.post(f"{service.base}/e/{public_id}", data={"first_name": "A", "phone": typed}, timeout=10)
    assert bare.status_code == 403  # no cookie at all is no way round it
    c = client(service)
    c.get(f"/e/{public_id}")
    forged = c.post(f"/e/{public_id}", data={"csrftoken": "forged", "first_name": "A", "phone": typed})
    assert forged.status_code == 403
    assert db(service, "SELECT COUNT(*) FROM outbox WHERE address = ?", (e164,)) == [(0,)]


def test_rate_limits_per_client_and_per_number(service: Sandbox) -> None:
    _, public_id = event(service, "Popular")
    c = client(service)
    page = c.get(f"/e/{public_id}")
    form = {"csrftoken": token(page), "wording": wording(page), "first_name": "Al"}
    answers = [c.post(f"/e/{public_id}", data={**form, "phone": phone()[0]}).status_code for _ in range(31)]
    assert answers[:30] == [200] * 30 and answers[30] == 429
    limited = c.post(f"/e/{public_id}", data={**form, "phone": "07400 111222"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert "Too many forms sent from here" in limited.text and 'value="07400 111222"' in limited.text
    typed, _ = phone()
    by_number = []
    for _ in range(6):  # each from a different client: the number's own limit
        other = client(service)
        by_number.append(rsvp(other, public_id, phone=typed).status_code)
    assert by_number == [200] * 5 + [429]


def test_listings_national_and_by_group(service: Sandbox) -> None:
    bristol = group(service, "Bristol East")
    _, mine = event(service, "Bristol canvass", group_id=bristol, capacity=2)
    _, national = event(service, "National day of action")
    _, draft = event(service, "Bristol draft", group_id=bristol, status="draft")
    _, past = event(service, "Bristol last week", group_id=bristol, starts_in=timedelta(days=-7))
    event_id, full = event(service, "Bristol full", group_id=bristol, capacity=1)
    fill(service, event_id, 1)
    c = client(service)
    everything = c.get("/events")
    assert everything.status_code == 200 and everything.headers["cache-control"] == "public, max-age=60"
    assert "set-cookie" not in everything.headers  # nothing personal: cacheable
    for shown in (mine, national, full):
        assert f"/e/{shown}" in everything.text
    for hidden in (draft, past):
        assert f"/e/{hidden}" not in everything.text
    by_slug = c.get("/g/bristol-east")
    assert by_slug.status_code == 200 and "Upcoming events: Bristol East" in by_slug.text
    assert f"/e/{mine}" in by_slug.text and f"/e/{national}" in by_slug.text and f"/e/{draft}" not in by_slug.text
    assert "2 places left" in by_slug.text and "full: waitlist open" in by_slug.text
    assert c.get(f"/g/{bristol}").text == by_slug.text
    assert c.get("/g/nowhere").status_code == 404
    assert c.get("/g/99999").status_code == 404
    full_page = c.get(f"/e/{full}").text
    assert "Join the waitlist" in full_page and "This event is full" in full_page


def test_a_full_event_puts_a_confirmed_rsvp_on_the_waitlist(service: Sandbox) -> None:
    event_id, public_id = event(service, "Tiny room", capacity=1)
    fill(service, event_id, 1)
    typed, e164 = phone()
    got = rsvp(client(service), public_id, phone=typed)
    assert got.status_code == 200
    service.wait_for_message("sms", e164, "reply YES")
    say(service, e164, "YES")
    service.wait_for_message("sms", e164, "You're on the waitlist for Tiny room")


def test_join_with_a_referral_code_and_a_group(service: Sandbox) -> None:
    recruiter = phone()[1]
    db(service, "INSERT INTO supporters (phone, first_name, status, referral_code, created_at) "
                "VALUES (?, 'Rita', 'active', 'K7MX4Q', '2026-01-01T00:00:00.000000Z')", (recruiter,))
    york = group(service, "York Central")
    c = client(service)
    page = c.get("/g/york-central/join?r=K7MX4Q")
    assert page.status_code == 200 and "Join York Central" in page.text
    assert 'name="r" value="K7MX4Q"' in page.text and "Rita" not in page.text
    typed, e164 = phone()
    got = c.post("/g/york-central/join", data={"csrftoken": token(page), "wording": wording(page), "r": "K7MX4Q",
                                               "first_name": "Mo", "phone": typed, "campaign": "1"})
    assert got.status_code == 200 and "Check your phone" in got.text
    service.wait_for_message("sms", e164, "you're joining Muster")
    say(service, e164, "YES")
    service.wait_for_message("sms", e164, "Welcome to Muster")
    referrer = db(service, "SELECT id FROM supporters WHERE phone = ?", (recruiter,))[0][0]
    assert db(service, "SELECT first_name, group_id, referred_by, status, sms_consent FROM supporters "
                       "WHERE phone = ?", (e164,)) == [("Mo", york, referrer, "active", "opted_in")]
    assert c.get("/join").status_code == 200
    assert c.get("/g/nowhere/join").status_code == 404


def test_the_stylesheet_is_cached(service: Sandbox) -> None:
    c = client(service)
    page = c.get("/join").text
    href = re.search(r'href="(/static/public\.css\?v=[0-9a-f]+)"', page)
    assert href
    css = c.get(href.group(1))
    assert css.status_code == 200 and css.headers["cache-control"] == "public, max-age=86400"
    assert css.headers["content-type"].startswith("text/css")
