"""The console in Welsh for an organiser who chose it, through the real service over HTTP."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("language")) as running:
        yield running


def test_an_organiser_chooses_welsh_and_keeps_it(service: Sandbox) -> None:
    client = sign_in(service)
    page = client.get("/console/")
    assert '<html lang="en">' in page.text and "Sign out" in page.text
    chose = client.post("/console/language", data={"csrftoken": csrf(page), "lang": "cy", "next": "/console/"})
    assert chose.status_code == 303
    welsh = client.get(chose.headers["location"])
    assert '<html lang="cy">' in welsh.text and "Allgofnodi" in welsh.text
    assert "Mae&#39;r consol yn Gymraeg nawr." in welsh.text


def test_the_switch_needs_the_csrf_token_and_a_known_language(service: Sandbox) -> None:
    client = sign_in(service)
    page = client.get("/console/")
    assert client.post("/console/language", data={"lang": "cy"}).status_code == 403
    assert client.post("/console/language", data={"csrftoken": csrf(page), "lang": "fr"}).status_code == 400
    assert "Sign out" in client.get("/console/").text


def test_a_welsh_browser_gets_welsh_until_the_organiser_chooses(service: Sandbox) -> None:
    client = sign_in(service)
    assert "Allgofnodi" in client.get("/console/", headers={"accept-language": "cy-GB,cy;q=0.9,en;q=0.5"}).text
    assert "Sign out" in client.get("/console/", headers={"accept-language": "en-GB"}).text


def test_a_supporters_language_edited_in_the_console_and_audited(service: Sandbox) -> None:
    import sqlite3
    db = sqlite3.connect(service.workdir / "muster.db")
    with db:
        supporter_id = db.execute(
            "INSERT INTO supporters (phone, first_name, status, sms_consent, telegram_consent, last_channel, "
            "created_at, last_seen_at) VALUES ('+447700900555', 'Nia', 'active', 'none', 'none', 'sms', "
            "'2026-03-01T10:00:00.000000Z', '2026-03-01T10:00:00.000000Z') RETURNING id").fetchone()[0]
    client = sign_in(service)
    page = client.get(f"/console/supporters/{supporter_id}")
    assert "Write to them in Welsh" in page.text
    done = client.post(f"/console/supporters/{supporter_id}/language", data={"csrftoken": csrf(page), "language": "cy"})
    assert done.status_code == 303
    assert "Write to them in English" in client.get(done.headers["location"]).text
    assert db.execute("SELECT language FROM supporters WHERE id = ?", (supporter_id,)).fetchone()[0] == "cy"
    assert db.execute("SELECT detail FROM audit_log WHERE action = 'supporter.language'").fetchall() == [
        ("language en → cy",)]
    assert db.execute("SELECT language_stated FROM supporters WHERE id = ?", (supporter_id,)).fetchone()[0] == 1
    bad = client.post(f"/console/supporters/{supporter_id}/language", data={"csrftoken": csrf(page), "language": "xx"})
    assert bad.status_code == 400 and "Choose English or Cymraeg." in bad.text
