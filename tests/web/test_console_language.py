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
