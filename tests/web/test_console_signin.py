"""Signing in to the console through the bot, sessions, CSRF and the security headers, over real HTTP."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.web.console_support import DEMO_ADMIN, Sandbox, csrf, sandbox, sign_in


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("console")) as running:
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(service: Sandbox) -> None:
    got = httpx.get(f"{service.base}/console/", timeout=5)
    assert got.status_code == 303 and got.headers["location"] == "/console/login?next=%2Fconsole%2F"


def test_every_console_response_has_the_security_headers(service: Sandbox) -> None:
    for path in ("/console/login", "/console/", "/console/static/console.css"):
        headers = httpx.get(f"{service.base}{path}", timeout=5).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"] == "no-referrer"


def test_the_link_signs_in_once_and_the_session_is_a_row(service: Sandbox) -> None:
    client = httpx.Client(base_url=service.base, timeout=10)
    after = service.last_message_id("sms", DEMO_ADMIN)
    token = csrf(client.get("/console/login"))
    assert client.post("/console/login", data={"csrftoken": token, "identity": "07700 900001"}).status_code == 200
    link = service.wait_for_message("sms", DEMO_ADMIN, r"(/console/login/[A-Za-z0-9_-]+)", after).group(1)
    assert client.get(link).status_code == 200  # a link preview does not spend it
    signed = client.post(link, data={"csrftoken": token})
    assert signed.status_code == 303
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    assert client.get("/console/").status_code == 200
    again = httpx.post(f"{service.base}{link}", data={"csrftoken": token}, cookies={"csrftoken": token}, timeout=5)
    assert again.status_code == 400 and "expired or was already used" in again.text
    secret = client.cookies["muster_session"]
    rows = _db(service, "SELECT token_hash FROM console_sessions")
    assert rows and all(secret not in r[0] for r in rows)  # only hashes are stored


def test_the_code_signs_in_too_and_wrong_codes_run_out(service: Sandbox) -> None:
    client = httpx.Client(base_url=service.base, timeout=10)
    after = service.last_message_id("sms", DEMO_ADMIN)
    token = csrf(client.get("/console/login"))
    client.post("/console/login", data={"csrftoken": token, "identity": DEMO_ADMIN})
    code = service.wait_for_message("sms", DEMO_ADMIN, r"code (\d{6})", after).group(1)
    wrong = client.post("/console/login/code", data={"csrftoken": token, "identity": DEMO_ADMIN, "code": "000000"
                                                     if code != "000000" else "111111"})
    assert wrong.status_code == 400
    right = client.post("/console/login/code", data={"csrftoken": token, "identity": DEMO_ADMIN, "code": code})
    assert right.status_code == 303 and client.get("/console/").status_code == 200


def test_the_answer_is_the_same_for_a_number_that_is_no_organiser(service: Sandbox) -> None:
    client = httpx.Client(base_url=service.base, timeout=10)
    token = csrf(client.get("/console/login"))
    stranger = client.post("/console/login", data={"csrftoken": token, "identity": "07700 900777"})
    organiser = client.post("/console/login", data={"csrftoken": token, "identity": "07700 900001"})
    strip = re.compile(r"07700 900\d{3}|value=\"[^\"]*\"")
    assert stranger.status_code == organiser.status_code == 200
    assert strip.sub("", stranger.text) == strip.sub("", organiser.text)
    assert service.messages("sms", "+447700900777") == []


def test_a_form_without_its_csrf_token_is_refused(service: Sandbox) -> None:
    client = sign_in(service)
    refused = client.post("/console/logout", data={})
    assert refused.status_code == 403
    assert client.get("/console/").status_code == 200  # still signed in


def test_signing_out_ends_the_session(service: Sandbox) -> None:
    client = sign_in(service)
    page = client.get("/console/")
    assert client.post("/console/logout", data={"csrftoken": csrf(page)}).status_code == 303
    assert client.get("/console/").status_code == 303
    assert _db(service, "SELECT ended_why FROM console_sessions ORDER BY id DESC LIMIT 1") == [("signed out",)]


def test_removing_the_role_ends_the_session_at_once(service: Sandbox) -> None:
    service.cli("organiser", "add", "--role", "organiser", "--phone", "+447700900444", "--national")
    client = sign_in(service, "+447700900444")
    assert client.get("/console/").status_code == 200
    service.cli("organiser", "remove", "--phone", "+447700900444")
    assert client.get("/console/").status_code == 303
    assert _db(service, "SELECT ended_why FROM console_sessions ORDER BY id DESC LIMIT 1") == [("role removed",)]


def test_an_idle_or_old_session_has_ended(service: Sandbox) -> None:
    client = sign_in(service)
    _db(service, "UPDATE console_sessions SET last_seen_at = '2020-01-01T00:00:00.000000Z' WHERE ended_at IS NULL")
    assert client.get("/console/").status_code == 303
    assert _db(service, "SELECT ended_why FROM console_sessions ORDER BY id DESC LIMIT 1") == [("idle",)]


def test_sign_in_requests_are_rate_limited_per_number(service: Sandbox) -> None:
    client = httpx.Client(base_url=service.base, timeout=10)
    token = csrf(client.get("/console/login"))
    answers = [client.post("/console/login", data={"csrftoken": token, "identity": "07700 900888"}).status_code
               for _ in range(7)]
    assert answers[:5] == [200] * 5 and answers[-1] == 429


def test_an_odd_identity_gets_a_clear_answer(service: Sandbox) -> None:
    client = httpx.Client(base_url=service.base, timeout=10)
    token = csrf(client.get("/console/login"))
    odd = client.post("/console/login", data={"csrftoken": token, "identity": "robert'); DROP"})
    assert odd.status_code == 400 and "phone number (starting 07 or +44)" in odd.text


def test_next_never_leaves_the_console(tmp_path: Path) -> None:
    from bot.web.console.signin import _next

    assert _next("https://evil.example/console/") == "/console/"
    assert _next("//evil.example/x") == "/console/"
    assert _next("/console/supporters?q=a") == "/console/supporters?q=a"


def test_the_log_never_holds_a_sign_in_secret(service: Sandbox) -> None:
    sign_in(service)
    log = service.log.read_text()
    assert "/console/login/…" in log
    assert not re.search(r"/console/login/[A-Za-z0-9_-]{8,}", log)


def test_the_operator_prints_a_link_with_the_cli(service: Sandbox) -> None:
    phone = service.organiser()
    printed = service.cli("organiser", "login-link", "--phone", phone).stdout
    link = re.search(r"(/console/login/[A-Za-z0-9_-]+)", printed).group(1)
    client = httpx.Client(base_url=service.base, timeout=10)
    token = csrf(client.get(link))
    assert client.post(link, data={"csrftoken": token}).status_code == 303
    assert client.get("/console/").status_code == 200


def test_the_log_never_holds_what_was_searched(service: Sandbox) -> None:
    client = sign_in(service)
    assert client.get("/console/supporters", params={"q": "07400 123987"}).status_code == 200
    log = service.log.read_text()
    assert "/console/supporters?…" in log
    assert "123987" not in log and "07400" not in log
