"""The console's Import and export pages over real HTTP against the real service: an upload, the columns
chosen from the header, a dry run listing every row, the import with its progress page, the same file
again, refused rows as CSV; who may import; exports within the organiser's scope; and the pages in a
real browser, on a laptop and on a phone."""
from __future__ import annotations

import csv
import io
import re
import sqlite3
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.web.browser import LAPTOP, PHONE, shot
from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

FILE = ("\ufeffMobile;First name;Surname;Email;Postcode;Group\r\n"
        "07400 200001;Ann;Lee;ann@example.org;LS6 1AA;Import Town\r\n"
        "+44 (0)7400 200002;Bob;\"Smith; Jr\";bob@example.org;;\r\n"
        "4.47402E+11;Cat;;;;\r\n"
        "07400 200001;Ann again;;;;\r\n"
        "07400 200003;Dan;;not-an-email;;\r\n"
        "07400 200004;Eve;;;;Atlantis\r\n").encode()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("transfers")) as running:
        running.cli("group", "add", "Import Town", "--areas", "LS6")
        running.cli("group", "add", "Other Town", "--areas", "YO1")
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _upload(client: httpx.Client, body: bytes, name: str = "members.csv", kind: str = "supporters") -> httpx.Response:
    token = csrf(client.get("/console/import"))
    return client.post("/console/import", data={"csrftoken": token, "kind": kind},
                       files={"file": (name, body, "text/csv")})


def _finish(client: httpx.Client, url: str) -> httpx.Response:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page = client.get(url)
        if 'http-equiv="refresh"' not in page.text:
            return page
        time.sleep(0.2)
    raise AssertionError("the import did not finish")


def _check(client: httpx.Client, token_url: str, **fields: str) -> httpx.Response:
    page = client.get(token_url)
    form = {}
    for name, options in re.findall(r'<select id="map_\w+" name="(map_\w+)">(.*?)</select>', page.text, re.S):
        chosen = re.search(r'<option value="(\d+)" selected>', options)
        if chosen:
            form[name] = chosen.group(1)
    sent = client.post(f"{token_url}/check", data={"csrftoken": csrf(page), **form, **fields})
    return sent


EVIDENCE = {"source": "stall sign-up sheet, summer fair 2025", "consent_date": "2025-07-12",
            "method": "signed paper form", "wording": "Yes, text me about campaigns and events near me."}


def test_upload_map_dry_run_import_and_the_same_file_again(service: Sandbox) -> None:
    client = sign_in(service)
    uploaded = _upload(client, FILE)
    assert uploaded.status_code == 303, uploaded.text
    url = uploaded.headers["location"]
    mapping = client.get(url)
    assert "separated by semicolons" in mapping.text
    assert re.search(r'id="map_phone".*?<option value="0" selected>Mobile', mapping.text, re.S)
    assert re.search(r'id="map_last_name".*?<option value="2" selected>Surname', mapping.text, re.S)

    # Evidence half given: a 400 that says what is missing, keeping what was typed.
    half = _check(client, url, source="stall sheet")
    assert half.status_code == 400 and "give the date and the method and the wording too" in half.text
    assert 'value="stall sheet"' in half.text

    checked = _check(client, url, **EVIDENCE)
    assert checked.status_code == 303
    result = _finish(client, checked.headers["location"])
    assert "Dry run: nothing has been changed" in result.text
    text = re.sub(r"\s+", " ", result.text)
    assert '<span class="figure">2</span> new' in text and '<span class="figure">4</span> refused' in text
    assert "scientific notation" in text and "a duplicate: the same phone number as line 2" in text
    assert "there is no local group called &#39;Atlantis&#39;" in text
    assert _db(service, "SELECT COUNT(*) FROM supporters WHERE phone LIKE '+4474002%'")[0][0] == 0

    refused = client.get(url + "/refused.csv")
    rows = list(csv.reader(io.StringIO(refused.text)))
    assert rows[0] == ["line", "reason"] and [r[0] for r in rows[1:]] == ["4", "5", "6", "7"]

    done = client.post(url + "/run", data={"csrftoken": csrf(result)})
    assert done.status_code == 303
    imported = _finish(client, done.headers["location"])
    assert "Imported as import #" in imported.text
    people = _db(service, "SELECT phone, first_name, last_name, sms_consent, g.name FROM supporters s "
                          "LEFT JOIN local_groups g ON g.id = s.group_id WHERE phone LIKE '+4474002%' ORDER BY phone")
    assert people == [("+447400200001", "Ann", "Lee", "opted_in", "Import Town"),
                      ("+447400200002", "Bob", "Smith; Jr", "opted_in", None)]
    log = _db(service, "SELECT c.source, c.method, c.wording_version, c.import_id, i.file_name FROM consent_log c "
                       "JOIN imports i ON i.id = c.import_id")
    assert len(log) == 2 and all(r[0] == "import" and r[1] == "signed paper form" and r[4] == "members.csv"
                                 for r in log)
    assert _db(service, "SELECT text FROM consent_wordings WHERE version = ?", (log[0][2],)) == [(EVIDENCE["wording"],)]
    assert _db(service, "SELECT action FROM audit_log WHERE action LIKE 'import.%'") == [("import.supporters",)]

    # The same file again: recognised, nothing changed.
    again = _upload(client, FILE).headers["location"]
    page = _finish(client, _check(client, again, **EVIDENCE).headers["location"])
    assert "This file was imported already (import #" in page.text
    assert '<span class="figure">2</span> unchanged' in re.sub(r"\s+", " ", page.text)
    skipped = _finish(client, client.post(again + "/run", data={"csrftoken": csrf(page)}).headers["location"])
    assert "nothing changed" in skipped.text
    assert _db(service, "SELECT COUNT(*) FROM imports WHERE finished_at IS NOT NULL") == [(1,)]


def test_a_file_that_is_not_utf8_is_refused_naming_the_line(service: Sandbox) -> None:
    client = sign_in(service)
    answer = _upload(client, "phone,first_name\n07400 200010,Ann\n07400 200011,Jos\xe9\n".encode("latin-1"))
    assert answer.status_code == 400
    assert "Line 3 is not UTF-8 text (byte 0xE9 at character 17)" in answer.text
    assert "Save it as &#39;CSV UTF-8&#39;" in answer.text


def test_an_upload_nobody_is_left_holding_and_one_without_a_file(service: Sandbox) -> None:
    client = sign_in(service)
    token = csrf(client.get("/console/import"))
    assert client.post("/console/import", data={"csrftoken": token}).status_code == 400
    assert client.get("/console/import/not-a-token").status_code == 410
    url = _upload(client, FILE).headers["location"]
    other = sign_in(service)
    assert other.get(url).status_code == 410, "an upload is for the session that made it"
    gone = client.post(url + "/discard", data={"csrftoken": token})
    assert gone.status_code == 303 and client.get(url).status_code == 410


def test_opt_outs_from_another_platform(service: Sandbox) -> None:
    client = sign_in(service)
    body = b"phone\n07400 200001\n07400 299999\n07400 299999\n"
    url = _upload(client, body, "stopped.csv", "opt-outs").headers["location"]
    result = _finish(client, _check(client, url).headers["location"])
    done = _finish(client, client.post(url + "/run", data={"csrftoken": csrf(result)}).headers["location"])
    assert "Imported as import #" in done.text
    assert _db(service, "SELECT sms_consent FROM supporters WHERE phone = '+447400200001'") == [("opted_out",)]
    assert _db(service, "SELECT source FROM consent_log WHERE action = 'opt_out'") == [("import-opt-out",)]
    assert _db(service, "SELECT reason FROM suppression WHERE import_id IS NOT NULL") == [("opted_out",)]
    # The unknown number can never be imported now.
    url = _upload(client, b"phone,first_name\n07400 299999,Zed\n", "later.csv").headers["location"]
    later = _finish(client, _check(client, url).headers["location"])
    assert "opted out on another platform" in later.text


def test_local_organisers_export_their_own_groups_and_may_not_import(service: Sandbox) -> None:
    local = sign_in(service, service.organiser("organiser", "Import Town"))
    assert local.get("/console/import").status_code == 403
    assert _upload_status(local) == 403
    page = local.get("/console/export")
    assert page.status_code == 200 and "Your own local groups" in page.text
    mine = local.get("/console/export/supporters.csv")
    assert mine.status_code == 200 and mine.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(mine.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["phone", "telegram_id", "first_name"]
    assert {r[6] for r in rows[1:]} == {"Import Town"} and rows[1][0] == "'+447400200001"
    admin = sign_in(service).get("/console/export/supporters.csv")
    assert any(r[0] == "'+447400200002" for r in csv.reader(io.StringIO(admin.text.lstrip("\ufeff"))))
    for kind in ("consent", "attendances", "broadcast-results"):
        assert local.get(f"/console/export/{kind}.csv").status_code == 200
    assert local.get("/console/export/everything.csv").status_code == 404
    assert ("export.supporters",) in _db(service, "SELECT action FROM audit_log WHERE action LIKE 'export.%'")


def _upload_status(client: httpx.Client) -> int:
    token = csrf(client.get("/console/export"))
    return client.post("/console/import", data={"csrftoken": token, "kind": "supporters"},
                       files={"file": ("x.csv", b"phone\n07400 200020\n", "text/csv")}).status_code


def test_the_pages_in_a_browser(service: Sandbox, browser) -> None:
    client = sign_in(service)
    body = FILE.replace(b"07400 2000", b"07400 2100").replace(b"ann@", b"ann2@").replace(b"bob@", b"bob2@")
    url = _upload(client, body, "stall-sheet.csv").headers["location"]
    for size, name in ((LAPTOP, "laptop"), (PHONE, "phone")):
        context = browser.new_context(viewport=size)
        context.add_cookies([{"name": c.name, "value": c.value, "url": service.base} for c in client.cookies.jar])
        page = context.new_page()
        page.goto(service.base + url)
        shot(page, f"transfers-mapping-{name}")
        if name == "laptop":
            page.fill("#source", EVIDENCE["source"])
            page.fill("#consent_date", EVIDENCE["consent_date"])
            page.fill("#method", EVIDENCE["method"])
            page.fill("#wording", EVIDENCE["wording"])
            page.click("text=Dry run")
            page.wait_for_selector("text=Dry run: nothing has been changed", timeout=20_000)
        else:
            page.goto(service.base + url + "/progress")
        shot(page, f"transfers-dry-run-{name}")
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"] + 1
        page.goto(service.base + "/console/export")
        shot(page, f"transfers-export-{name}")
        context.close()
