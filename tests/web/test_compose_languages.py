"""The console's compose form in English and Welsh (MUSTER_LANGUAGES=en,cy), over real HTTP against the real
service: a message (and an alert's call to action) for Welsh speakers, the live preview per language with its
UCS-2 warning and Welsh sample, and the draft saved with its Welsh version."""
from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from html import unescape

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sign_in

STAMP = "2026-01-01T00:00:00.000000Z"
ENGLISH = "Hi {first_name}, the rally is on Saturday."
WELSH = "Helo {first_name}, mae'r rali ddydd Sadwrn. Dewch â ffrind i'r ŵyl!"


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _started(workdir, **env: str) -> Sandbox:
    service = Sandbox(workdir)
    service.env.update(env)
    service.start()
    return service


@pytest.fixture(scope="module")
def wales(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, httpx.Client]]:
    service = _started(tmp_path_factory.mktemp("wales"), MUSTER_LANGUAGES="en,cy")
    try:
        with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
            conn.executemany(
                "INSERT INTO supporters (phone, first_name, status, sms_consent, last_channel, language, created_at) "
                "VALUES (?, ?, 'active', 'opted_in', 'sms', ?, ?)",
                [("+447400200001", "Aisha", "en", STAMP), ("+447400200002", "Siôn", "cy", STAMP)])
        yield service, sign_in(service)
    finally:
        service.stop()


@pytest.fixture(scope="module")
def england(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, httpx.Client]]:
    service = _started(tmp_path_factory.mktemp("england"))
    try:
        yield service, sign_in(service)
    finally:
        service.stop()


def _post(client: httpx.Client, path: str, data: dict[str, object]) -> httpx.Response:
    token = csrf(client.get("/console/broadcasts/new"))
    return client.post(path, data={"csrftoken": token, **data})  # type: ignore[dict-item]


def _all(html: str, marker: str) -> list[str]:
    return [" ".join(unescape(m).split()) for m in re.findall(rf"<[^>]*{marker}[^>]*>(.*?)</", html, re.S)]


def test_the_form_has_a_welsh_message_and_call_to_action(wales) -> None:
    service, client = wales
    html = client.get("/console/broadcasts/new").text
    assert '<label for="body_cy">Message in Welsh (Cymraeg)</label>' in html
    assert 'name="body_cy"' in html and 'lang="cy"' in html
    assert 'name="cta_text_cy"' in html and "What should people do, in Welsh (Cymraeg)?" in html
    assert "ŵ and ŷ are outside the basic SMS alphabet (GSM-7)" in html


def test_an_english_only_deployment_has_no_welsh_fields(england) -> None:
    service, client = england
    html = client.get("/console/broadcasts/new").text
    assert 'name="body_cy"' not in html and 'name="cta_text_cy"' not in html
    refused = _post(client, "/console/broadcasts/preview", {"kind": "broadcast", "body": ENGLISH, "body_cy": WELSH})
    assert refused.status_code == 200 and "MUSTER_LANGUAGES offers English only" in unescape(refused.text)


def test_the_live_preview_gives_each_language_and_warns_of_ucs2(wales) -> None:
    service, client = wales
    answer = _post(client, "/console/broadcasts/preview", {"kind": "broadcast", "body": ENGLISH, "body_cy": WELSH})
    assert answer.status_code == 200, answer.text
    lines = _all(answer.text, "data-language=")
    assert lines == [
        "English: 1 by SMS, 0 on Telegram, 0 group chats. SMS: GSM-7, 1 segment (1 segment each), about £0.04.",
        "Welsh (Cymraeg): 1 by SMS, 0 on Telegram, 0 group chats. SMS: UCS-2, 2 segments (2 segments each), "
        "about £0.08.",
    ]
    (warning,) = _all(answer.text, "data-ucs2=")
    assert warning.startswith("The Welsh (Cymraeg) version has â, ŵ, outside GSM-7: it goes as UCS-2")
    assert "On Telegram, in Welsh (Cymraeg)" in answer.text
    (sample,) = _all(answer.text, 'data-sample="telegram-cy"')
    assert sample.startswith("Helo ") and "mae'r rali ddydd Sadwrn" in sample  # one recipient's name fills every sample
    plain = _post(client, "/console/broadcasts/preview", {"kind": "broadcast", "body": ENGLISH})
    assert _all(plain.text, "data-language=") == [] and "data-ucs2" not in plain.text


def test_a_welsh_version_that_is_wrong_is_shown_in_place(wales) -> None:
    service, client = wales
    bad = _post(client, "/console/broadcasts/preview", {"kind": "broadcast", "body": ENGLISH, "body_cy": "Helo {enw}"})
    assert bad.status_code == 200
    assert "Welsh (Cymraeg) version:" in " ".join(_all(bad.text, "data-problem"))
    alone = _post(client, "/console/broadcasts/preview", {"kind": "alert", "body": "Register", "cta_text": "Go",
                                                          "cta_text_cy": "Ewch"})
    assert "needs the Welsh (Cymraeg) message" in unescape(alone.text)


def test_saving_keeps_the_welsh_version_of_a_broadcast_and_of_an_alert(wales) -> None:
    service, client = wales
    saved = _post(client, "/console/broadcasts/new", {"action": "save", "kind": "broadcast", "body": ENGLISH,
                                                      "body_cy": WELSH, "cta_text_cy": "ignored for a broadcast"})
    assert saved.status_code == 303, saved.text
    bid = int(re.match(r"/console/broadcasts/(\d+)", saved.headers["location"]).group(1))  # type: ignore[union-attr]
    ((translations,),) = _db(service, "SELECT translations FROM broadcasts WHERE id = ?", (bid,))
    assert json.loads(translations) == {"cy": {"body": WELSH}}
    page = client.get(saved.headers["location"]).text
    assert "Welsh (Cymraeg): 1 by SMS" in unescape(page)  # the draft's page shows the same lines
    alert = _post(client, "/console/broadcasts/new", {
        "action": "save", "kind": "alert", "body": "Register by Friday", "cta_text": "Register to vote",
        "cta_link": "https://www.gov.uk/register-to-vote", "body_cy": "Cofrestrwch erbyn dydd Gwener",
        "cta_text_cy": "Cofrestrwch i bleidleisio"})
    assert alert.status_code == 303, alert.text
    aid = int(re.match(r"/console/broadcasts/(\d+)", alert.headers["location"]).group(1))  # type: ignore[union-attr]
    ((translations,),) = _db(service, "SELECT translations FROM broadcasts WHERE id = ?", (aid,))
    assert json.loads(translations) == {"cy": {"body": "Cofrestrwch erbyn dydd Gwener",
                                               "cta_text": "Cofrestrwch i bleidleisio"}}


def test_a_refused_save_keeps_the_welsh_as_typed(wales) -> None:
    service, client = wales
    kept = _post(client, "/console/broadcasts/new", {"action": "save", "kind": "alert", "body": "Register",
                                                     "body_cy": "Cofrestrwch", "cta_text_cy": "Ewch"})
    assert kept.status_code == 400
    assert ">Cofrestrwch</textarea>" in kept.text and 'value="Ewch"' in kept.text


def test_the_form_in_welsh_for_an_organiser_who_chose_it(wales) -> None:
    service, client = wales
    page = client.get("/console/broadcasts/new", headers={"accept-language": "cy"})
    assert page.status_code == 200 and '<html lang="cy">' in page.text and 'name="body_cy"' in page.text
