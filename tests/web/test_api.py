"""The OSDI API over real HTTP against the real service in sandbox mode: tokens made with
`muster api-token`, missing, wrong, revoked, out-of-scope and over-rate tokens, pages followed by
their links, the signup helper posted twice, and the double opt-in seen through the sandbox (a
signup, its confirmation text at /sim/messages, YES by /sim/send, then the person opted in)."""
from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.console_support import Sandbox, sandbox

WORDING = "Yes, text me about campaigns and events near me. Reply STOP at any time."
_numbers = iter(range(10, 99))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("api")) as running:
        yield running


def token(service: Sandbox, name: str, scope: str, *extra: str) -> str:
    made = service.cli("api-token", "create", "--name", name, "--scope", scope, *extra)
    secret = made.stdout.strip()
    assert re.fullmatch(r"mst_[A-Za-z0-9_-]{43}", secret), made.stdout
    assert "shown this once" in made.stderr
    return secret


@pytest.fixture(scope="module")
def reader(service: Sandbox) -> str:
    return token(service, "sync", "read", "--per-minute", "1000")


@pytest.fixture(scope="module")
def website(service: Sandbox) -> str:
    return token(service, "website", "signup", "--per-minute", "1000")


def db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def get(service: Sandbox, secret: str | None, path: str, **params: Any) -> httpx.Response:
    headers = {"OSDI-API-Token": secret} if secret else {}
    return httpx.get(f"{service.base}{path}", headers=headers, params=params, timeout=10)


def signup(service: Sandbox, secret: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{service.base}/api/v1/people/person_signup_helper", json=body,
                      headers={"Authorization": f"Bearer {secret}"}, timeout=10)


def person_body(phone: str, **more: Any) -> dict[str, Any]:
    return {"person": {"given_name": "Siân", "phone_numbers": [{"number": phone, "primary": True}],
                       "email_addresses": [{"address": "sian@example.org"}],
                       "postal_addresses": [{"postal_code": "M1 1AA"}]},
            "muster:consent": {"campaign": True, "wording": WORDING}, **more}


def new_phone() -> str:
    return f"+4474001230{next(_numbers):02d}"


def supporter_id(service: Sandbox, phone: str) -> int:
    return int(db(service, "SELECT id FROM supporters WHERE phone = ?", (phone,))[0][0])


def audit(service: Sandbox, actor: str) -> list[tuple]:
    return db(service, "SELECT front, action, target, detail FROM audit_log WHERE actor = ? ORDER BY id", (actor,))


def confirm(service: Sandbox, phone: str, answer: str = "YES") -> None:
    """Reply to the confirmation text from that phone, as its owner would, and see it answered."""
    after = service.last_message_id("sms", phone)
    sent = httpx.post(f"{service.base}/sim/send", json={"channel": "sms", "address": phone, "text": answer},
                      timeout=10)
    assert sent.status_code == 200, sent.text
    service.wait_for_message("sms", phone, r".", after)


# -- tokens ------------------------------------------------------------------------------------------
def test_a_call_without_a_token_or_with_one_not_ours_is_401_and_says_how(service: Sandbox) -> None:
    missing = get(service, None, "/api/v1/people")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert missing.headers["content-type"].startswith("application/hal+json")
    assert "OSDI-API-Token" in missing.json()["error"]
    assert missing.json()["osdi:error"]["resource_status"][0]["error_descriptions"][0]["error_code"] == "TOKEN_MISSING"
    for wrong in ("mst_" + "A" * 43, "not-a-token", "mst_"):
        answer = get(service, wrong, "/api/v1/people")
        assert answer.status_code == 401, wrong
        assert answer.json()["error"] == "That API token is not one of ours."
    bearer = httpx.get(f"{service.base}/api/v1/people", headers={"Authorization": "Basic dXNlcjpwYXNz"}, timeout=10)
    assert bearer.status_code == 401


def test_a_token_is_stored_as_its_hash_only_and_listed_without_it(service: Sandbox) -> None:
    secret = token(service, "listed", "read")
    rows = db(service, "SELECT name, scope, hash, per_minute, created_by FROM api_tokens WHERE name = 'listed'")
    assert rows == [("listed", "read", rows[0][2], 120, "cli")]
    assert secret not in str(db(service, "SELECT * FROM api_tokens")) and len(rows[0][2]) == 64
    listed = service.cli("api-token", "list").stdout
    assert "listed" in listed and "never" in listed and secret not in listed
    assert get(service, secret, "/api/v1/people").status_code == 200
    assert "never" not in [line for line in service.cli("api-token", "list").stdout.splitlines()
                           if " listed " in line][0]


def test_a_revoked_token_is_401_at_once_and_its_calls_are_audited(service: Sandbox) -> None:
    secret = token(service, "old-site", "read")
    assert get(service, secret, "/api/v1/people").status_code == 200
    token_id = db(service, "SELECT id FROM api_tokens WHERE name = 'old-site'")[0][0]
    assert f"Revoked API token #{token_id} (old-site)" in service.cli("api-token", "revoke", str(token_id)).stdout
    refused = get(service, secret, "/api/v1/people")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]
    again = httpx.post(f"{service.base}/api/v1/people/person_signup_helper", json=person_body(new_phone()),
                       headers={"OSDI-API-Token": secret}, timeout=10)
    assert again.status_code == 401
    assert [(a, d) for _, a, _, d in audit(service, "api:old-site")][1:] == [
        ("api.refused", "revoked token"), ("api.refused", "revoked token")]
    assert audit(service, "api:old-site")[0][1] == "api.people"
    assert {front for front, *_ in audit(service, "api:old-site")} == {"api"}
    # A revoked name is free again; the old token stays revoked.
    token(service, "old-site", "read")
    assert get(service, secret, "/api/v1/people").status_code == 401


def test_a_token_of_the_other_scope_is_403(service: Sandbox, reader: str, website: str) -> None:
    for path in ("/api/v1/people", "/api/v1/events", "/api/v1/tags", "/api/v1/people/1"):
        answer = get(service, website, path)
        assert answer.status_code == 403, path
        assert "'read' token" in answer.json()["error"]
    posted = signup(service, reader, person_body(new_phone()))
    assert posted.status_code == 403
    assert "'signup' token" in posted.json()["error"]
    assert ("api", "api.refused", "/api/v1/people/person_signup_helper", "needs scope signup") in audit(
        service, "api:sync")
    # The entry point answers any live token.
    assert get(service, website, "/api/v1/").status_code == 200


def test_a_token_over_its_rate_is_429_with_retry_after(service: Sandbox) -> None:
    secret = token(service, "slow", "read", "--per-minute", "3")
    assert [get(service, secret, "/api/v1/tags").status_code for _ in range(3)] == [200, 200, 200]
    over = get(service, secret, "/api/v1/tags")
    assert over.status_code == 429
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert "3 calls a minute" in over.json()["error"]
    assert get(service, secret, "/api/v1/tags").status_code == 429
    refusals = [d for _, a, _, d in audit(service, "api:slow") if a == "api.refused"]
    assert refusals == ["over its rate of 3 a minute"]  # once a minute, not once a call


def test_the_token_is_checked_before_the_body_is_read_and_bodies_are_limited(service: Sandbox,
                                                                            website: str) -> None:
    huge = b'{"person": {"given_name": "' + b"x" * 40_000 + b'"}}'
    unsigned = httpx.post(f"{service.base}/api/v1/people/person_signup_helper", content=huge, timeout=10)
    assert unsigned.status_code == 401
    signed = httpx.post(f"{service.base}/api/v1/people/person_signup_helper", content=huge,
                        headers={"OSDI-API-Token": website}, timeout=10)
    assert signed.status_code == 413
    assert "16,384 bytes" in signed.json()["error"]


# -- bad input ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("body, property_, words", [
    (b"not json", None, "should be JSON"),
    (b"[1, 2]", None, "JSON object"),
    (b'{"people": []}', "person", "needs a person"),
    (b'{"person": {"given_name": "Sam"}}', "person.phone_numbers", "phone number"),
    (b'{"person": {"phone_numbers": "07700"}}', "person.phone_numbers", "list of objects"),
    (b'{"person": {"phone_numbers": [{"number": "12"}]}}', "person.phone_numbers[0].number", "mobile number"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}]}, "muster:consent": {"campaign": true}}',
     "muster:consent.wording", "exact words"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}]}, "muster:consent": {"campaign": "yes"}}',
     "muster:consent.campaign", "true or false"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}], "postal_addresses": [{"postal_code": "XX"}]}}',
     "person.postal_addresses[0].postal_code", "UK postcode"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}], "given_name": "R2-D2"}}',
     "person.given_name", "first name"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}]}, "muster:event_id": "seven"}',
     "muster:event_id", "whole number"),
    (b'{"person": {"phone_numbers": [{"number": "07400123099"}]}, "muster:event_id": 99999}',
     "muster:event_id", "no such event"),
])
def test_bad_input_is_a_400_naming_the_property(service: Sandbox, website: str, body: bytes,
                                                property_: str | None, words: str) -> None:
    answer = httpx.post(f"{service.base}/api/v1/people/person_signup_helper", content=body,
                        headers={"OSDI-API-Token": website, "content-type": "application/json"}, timeout=10)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]
    described = answer.json()["osdi:error"]["resource_status"][0]
    assert described["resource"] == "osdi:person"
    if property_:
        assert described["error_descriptions"][0]["properties"] == [property_]
    assert not db(service, "SELECT 1 FROM supporters WHERE phone = '+447400123099'")


def test_bad_paging_is_a_400(service: Sandbox, reader: str) -> None:
    for params in ({"per_page": "0"}, {"per_page": "101"}, {"per_page": "ten"}, {"page_token": "garbage!"},
                   {"page_token": "eyJkIjoiYSIsImsiOlsieCJdLCJuIjoyfQ"}, {"page": "2"}):
        answer = get(service, reader, "/api/v1/people", **params)
        assert answer.status_code == 400, params
        assert answer.json()["osdi:error"]["resource_status"][0]["error_descriptions"][0]["properties"]
    assert get(service, reader, "/api/v1/people/abc").status_code == 404
    assert get(service, reader, "/api/v1/nothing-here").status_code == 404


# -- the signup helper and the double opt-in ---------------------------------------------------------
def test_a_signup_is_confirmed_by_yes_and_then_read_as_opted_in(service: Sandbox, reader: str,
                                                               website: str) -> None:
    phone = new_phone()
    posted = signup(service, website, person_body(phone, add_tags=["housing"]))
    assert posted.status_code == 202, posted.text
    answer = posted.json()["muster:signup"]
    assert answer["outcome"] == "sent" and answer["ignored_tags"] == ["housing"]
    assert "person" not in posted.text and "_links" not in posted.json()  # a signup token reads nothing back
    text = service.wait_for_message("sms", phone, r"reply YES to confirm.*").group(0)
    assert "campaign texts" in text

    before = get(service, reader, f"/api/v1/people/{supporter_id(service, phone)}").json()
    assert before["phone_numbers"][0]["status"] == "unsubscribed"
    assert before["muster:consent"] == {"sms": "not_asked"} and "given_name" not in before
    assert before["email_addresses"] == []  # nothing typed in the form is theirs before YES

    confirm(service, phone)
    after = get(service, reader, f"/api/v1/people/{supporter_id(service, phone)}").json()
    assert after["given_name"] == "Siân"
    assert after["phone_numbers"] == [{"number": phone.lstrip("+"), "primary": True, "number_type": "Mobile",
                                       "sms_capable": True, "status": "subscribed"}]
    assert after["email_addresses"] == [{"address": "sian@example.org", "primary": True}]
    assert after["postal_addresses"] == [{"primary": True, "postal_code": "M1 1AA", "country": "GB"}]
    assert after["muster:consent"] == {"sms": "opted_in"} and after["muster:status"] == "active"
    assert after["muster:tags"] == []  # tags are never taken from a form
    assert after["identifiers"] == [f"muster:person-{supporter_id(service, phone)}"]
    assert after["modified_date"] >= after["created_date"]
    consent = db(service, "SELECT c.source, w.text, w.source FROM consent_log c JOIN consent_wordings w "
                          "ON w.version = c.wording_version WHERE c.supporter_id = ?", (supporter_id(service, phone),))
    assert consent == [("api", WORDING, "api")]
    assert ("api", "api.signup", None, "sent, campaign yes") in audit(service, "api:website")


def test_the_same_signup_posted_twice_changes_nothing(service: Sandbox, reader: str, website: str) -> None:
    phone = new_phone()
    body = person_body(phone)
    assert signup(service, website, body).json()["muster:signup"]["outcome"] == "sent"
    service.wait_for_message("sms", phone, r"reply YES")
    snapshot = db(service, "SELECT * FROM supporters WHERE phone = ?", (phone,))
    again = signup(service, website, body)
    assert again.status_code == 202
    assert again.json()["muster:signup"]["outcome"] == "pending"
    time.sleep(0.5)
    assert len(service.messages("sms", phone)) == 1
    assert db(service, "SELECT * FROM supporters WHERE phone = ?", (phone,)) == snapshot
    assert db(service, "SELECT COUNT(*) FROM consent_wordings WHERE text = ?", (WORDING,)) == [(1,)]
    confirm(service, phone)
    confirmed = db(service, "SELECT * FROM supporters WHERE phone = ?", (phone,))
    consents = db(service, "SELECT COUNT(*) FROM consent_log WHERE supporter_id = ?", (supporter_id(service, phone),))
    assert signup(service, website, body).json()["muster:signup"]["outcome"] == "pending"
    assert db(service, "SELECT * FROM supporters WHERE phone = ?", (phone,)) == confirmed
    assert db(service, "SELECT COUNT(*) FROM consent_log WHERE supporter_id = ?",
              (supporter_id(service, phone),)) == consents


def test_no_answer_or_no_opts_nobody_in(service: Sandbox, reader: str, website: str) -> None:
    phone = new_phone()
    signup(service, website, person_body(phone))
    service.wait_for_message("sms", phone, r"reply YES")
    confirm(service, phone, "NO")
    person = get(service, reader, f"/api/v1/people/{supporter_id(service, phone)}").json()
    assert person["muster:consent"] == {"sms": "not_asked"}
    assert person["phone_numbers"][0]["status"] == "unsubscribed"


def test_an_email_only_signup_keeps_nothing_and_says_so(service: Sandbox, website: str) -> None:
    posted = signup(service, website, {"person": {"email_addresses": [{"address": "only@example.org"}]}})
    assert posted.status_code == 202
    assert posted.json()["muster:signup"]["outcome"] == "not_stored"
    assert "nothing was kept" in posted.json()["muster:signup"]["message"]
    assert not db(service, "SELECT 1 FROM supporters WHERE email = 'only@example.org'")


def test_an_osdi_number_without_plus_and_the_action_network_path(service: Sandbox, website: str) -> None:
    phone = new_phone()
    body = {"person": {"phone_numbers": [{"number": int(phone.lstrip("+")), "number_type": "Mobile"}]}}
    posted = httpx.post(f"{service.base}/api/v1/people", json=body, headers={"OSDI-API-Token": website}, timeout=10)
    assert posted.status_code == 202, posted.text
    assert posted.json()["muster:signup"]["outcome"] == "sent"
    service.wait_for_message("sms", phone, r"reply YES")


def test_an_rsvp_through_the_api_is_an_attendance_once_confirmed(service: Sandbox, reader: str,
                                                                website: str) -> None:
    created = service.cli("event", "create", "--title", "Rent strike meeting", "--when", "2030-05-04 19:00",
                          "--venue", "Friends Meeting House", "--address", "6 Mount St", "--postcode", "M2 5NS",
                          "--capacity", "30", "--publish").stdout
    event_id = int(re.search(r"#(\d+)", created).group(1))
    phone = new_phone()
    posted = signup(service, website, person_body(phone, **{"muster:event_id": event_id}))
    assert posted.json()["muster:signup"]["outcome"] == "sent"
    assert get(service, reader, f"/api/v1/events/{event_id}/attendances").json()["total_records"] == 0
    service.wait_for_message("sms", phone, r"reply YES")
    confirm(service, phone)
    event = get(service, reader, f"/api/v1/events/{event_id}").json()
    assert event["title"] == "Rent strike meeting" and event["status"] == "confirmed"
    assert event["start_date"] == "2030-05-04T18:00:00Z" and event["total_accepted"] == 1
    assert event["location"] == {"country": "GB", "venue": "Friends Meeting House", "address_lines": ["6 Mount St"],
                                 "postal_code": "M2 5NS"}
    assert event["muster:calendar_url"].endswith(".ics")
    listed = get(service, reader, f"/api/v1/events/{event_id}/attendances").json()
    [attendance] = listed["_embedded"]["osdi:attendances"]
    assert attendance["status"] == "accepted" and attendance["muster:rsvp"] == "going"
    person = attendance["_links"]["osdi:person"]["href"]
    assert person.endswith(f"/api/v1/people/{supporter_id(service, phone)}")
    assert httpx.get(person, headers={"OSDI-API-Token": reader}, timeout=10).json()["given_name"] == "Siân"
    one = get(service, reader, f"/api/v1/events/{event_id}/attendances/{supporter_id(service, phone)}")
    assert one.json()["identifiers"] == [f"muster:attendance-{event_id}-{supporter_id(service, phone)}"]
    upcoming = get(service, reader, "/api/v1/events", upcoming="true").json()
    assert event_id in [int(e["identifiers"][0].rsplit("-", 1)[1]) for e in upcoming["_embedded"]["osdi:events"]]


# -- reading -----------------------------------------------------------------------------------------
def test_people_are_paged_by_their_links_and_erased_people_never_appear(service: Sandbox, reader: str) -> None:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        for n in range(7):
            conn.execute("INSERT INTO supporters (phone, first_name, last_name, status, sms_consent, created_at) "
                         "VALUES (?, 'Paged', 'Jones', 'active', 'opted_in', '2026-01-01T00:00:00.000000Z')",
                         (f"+4474005550{n:02d}",))
        conn.execute("INSERT INTO supporters (first_name, status, created_at) "
                     "VALUES (NULL, 'erased', '2026-01-01T00:00:00.000000Z')")
        conn.execute("INSERT INTO supporter_interests (supporter_id, interest) "
                     "SELECT id, 'housing' FROM supporters WHERE first_name = 'Paged' LIMIT 2")
    erased = db(service, "SELECT id FROM supporters WHERE status = 'erased'")[0][0]
    total = db(service, "SELECT COUNT(*) FROM supporters WHERE status <> 'erased'")[0][0]

    first = get(service, reader, "/api/v1/people", per_page="3").json()
    assert first["page"] == 1 and first["per_page"] == 3 and first["total_records"] == total
    assert first["total_pages"] == -(-total // 3) and "prev" not in first["_links"]
    seen, page, pages = [], first, [first]
    while "next" in page["_links"]:
        page = httpx.get(page["_links"]["next"]["href"], headers={"OSDI-API-Token": reader}, timeout=10).json()
        pages.append(page)
    seen = [p["identifiers"][0] for page in pages for p in page["_embedded"]["osdi:people"]]
    assert len(seen) == len(set(seen)) == total
    assert f"muster:person-{erased}" not in seen
    assert [page["page"] for page in pages] == list(range(1, len(pages) + 1))
    assert all(len(page["_links"]["osdi:people"]) == len(page["_embedded"]["osdi:people"]) for page in pages)
    back = httpx.get(pages[1]["_links"]["prev"]["href"], headers={"OSDI-API-Token": reader}, timeout=10).json()
    assert back["_embedded"] == first["_embedded"] and back["page"] == 1 and "prev" not in back["_links"]
    assert get(service, reader, f"/api/v1/people/{erased}").status_code == 404
    paged = [p for page in pages for p in page["_embedded"]["osdi:people"] if p.get("given_name") == "Paged"]
    assert len(paged) == 7 and {p["family_name"] for p in paged} == {"Jones"}

    tags = get(service, reader, "/api/v1/tags").json()
    housing = next(t for t in tags["_embedded"]["osdi:tags"] if t["name"] == "housing")
    assert housing["description"] and housing["muster:people"] == 2
    tagged = httpx.get(housing["_links"]["osdi:taggings"]["href"], headers={"OSDI-API-Token": reader},
                       timeout=10).json()
    assert tagged["total_records"] == 2 and len(tagged["_links"]["osdi:taggings"]) == 2
    assert get(service, reader, "/api/v1/tags/no_such_tag").status_code == 404
    assert [a for _, a, _, _ in audit(service, "api:sync")].count("api.people") >= len(pages)


def test_the_entry_point_and_the_openapi_description(service: Sandbox, reader: str) -> None:
    entry = get(service, reader, "/api/v1/").json()
    assert {"osdi:people", "osdi:events", "osdi:tags", "osdi:person_signup_helper"} <= set(entry["_links"])
    described = httpx.get(f"{service.base}/api/openapi.json", timeout=10)
    assert described.status_code == 200
    document = described.json()
    assert document["openapi"].startswith("3.1")
    assert "/api/v1/people/person_signup_helper" in document["paths"]
    assert document["paths"]["/api/v1/people"]["get"]["x-muster-scope"] == "read"
    assert document["components"]["securitySchemes"]["OsdiToken"]["name"] == "OSDI-API-Token"


def test_a_client_sending_bad_tokens_is_slowed_to_429(tmp_path) -> None:
    with sandbox(tmp_path) as own:  # its own service: the limit is per client, and every test here is 127.0.0.1
        good = token(own, "good", "read")
        answers = [get(own, "mst_" + f"{n:043d}", "/api/v1/people").status_code for n in range(61)]
        assert answers[:60] == [401] * 60 and answers[60] == 429
        assert get(own, "garbage", "/api/v1/people").status_code == 429
        assert int(get(own, None, "/api/v1/people").headers["retry-after"]) >= 1
        assert get(own, good, "/api/v1/people").status_code == 200  # a real token still gets through
