"""The console's audit log over real HTTP: admins only, every front's entries, newest first, paged by id."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

SUPPORTER = "+447700900990"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("audit")) as running:
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _rows(page: httpx.Response) -> list[list[str]]:
    """The table's cells, row by row, tags stripped."""
    body = page.text[page.text.index("<tbody>"):page.text.index("</tbody>")]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_a_web_sign_in_and_an_answer_are_listed_with_their_front_and_address(service: Sandbox) -> None:
    admin = sign_in(service)
    role_id = _db(service, "SELECT id FROM organisers ORDER BY id DESC LIMIT 1")[0][0]
    _db(service, "INSERT INTO supporters (phone, first_name, status, sms_consent, last_channel, created_at) "
                 "VALUES (?, 'Ada', 'active', 'opted_in', 'sms', '2026-01-01T00:00:00.000000Z')", (SUPPORTER,))
    httpx.post(f"{service.base}/sim/send", json={"channel": "sms", "address": SUPPORTER,
                                                 "text": "Is the rally step-free"}, timeout=10)
    (item_id,), = _db(service, "SELECT id FROM inbox_items ORDER BY id DESC LIMIT 1")
    page = admin.get(f"/console/inbox/{item_id}")
    answered = admin.post(f"/console/inbox/{item_id}/answer",
                          data={"csrftoken": csrf(page), "answer": "Yes, step-free, Ada"})
    assert answered.status_code == 303
    log = admin.get("/console/audit")
    assert log.status_code == 200
    rows = _rows(log)
    who = f"web:organiser:{role_id}"
    assert rows[0][1:] == [who, "Web", "inbox.answer", f"inbox:{item_id}", "answer queued on sms", "127.0.0.1"]
    signin = [r for r in rows if r[3] == "signin.start" and r[1] == who]
    assert len(signin) == 1 and signin[0][2:] == ["Web", "signin.start", signin[0][4], "by link", "127.0.0.1"]
    assert re.fullmatch(r"session:\d+", signin[0][4])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[0][0])
    # What the supporter wrote and what was answered never reach the log.
    assert "step-free" not in log.text and SUPPORTER not in log.text


def test_cli_and_chat_entries_are_listed_too(service: Sandbox) -> None:
    service.cli("broadcast", "create", "--body", "Rally on Saturday")
    _db(service, "INSERT INTO audit_log (at, actor, front, action, target, detail, origin) VALUES "
                 "('2026-11-02T12:00:00.000000Z', 'telegram:supporter:7', 'chat', 'broadcast.cancel', 'broadcast:1', "
                 "'<script>x</script>', 'telegram')")
    log = sign_in(service).get("/console/audit")
    rows = _rows(log)
    (chat,) = [r for r in rows if r[3] == "broadcast.cancel"]
    assert chat[1:] == ["telegram:supporter:7", "Chat", "broadcast.cancel", "broadcast:1",
                        "&lt;script&gt;x&lt;/script&gt;", "telegram"]
    assert "<script>x" not in log.text
    compose = [r for r in rows if r[3] == "broadcast.compose"]
    assert compose and compose[0][1:3] == ["cli", "Command line"] and compose[0][6] == "–"


def test_signing_out_is_recorded(service: Sandbox) -> None:
    client = sign_in(service)
    session_id = _db(service, "SELECT id FROM console_sessions ORDER BY id DESC LIMIT 1")[0][0]
    assert client.post("/console/logout", data={"csrftoken": csrf(client.get("/console/"))}).status_code == 303
    assert _db(service, "SELECT front, action, origin FROM audit_log WHERE target = ? ORDER BY id",
               (f"session:{session_id}",)) == [("web", "signin.start", "127.0.0.1"), ("web", "signin.end", "127.0.0.1")]


def test_newest_first_and_paged_by_id(service: Sandbox) -> None:
    _db(service, "INSERT INTO audit_log (at, actor, front, action) "
                 "SELECT '2026-11-01T00:00:00.000000Z', 'cli', 'cli', 'test.filler' FROM "
                 "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120) SELECT i FROM n)")
    admin = sign_in(service)
    newest = _db(service, "SELECT MAX(id) FROM audit_log")[0][0]
    total = _db(service, "SELECT COUNT(*) FROM audit_log")[0][0]
    seen: list[int] = []
    url = "/console/audit"
    while True:
        page = admin.get(url)
        assert page.status_code == 200
        ids = [int(i) for i in re.findall(r"<caption[^>]*>Entries (\d+) to (\d+)</caption>", page.text)[0]]
        count = len(_rows(page))
        assert count <= 50 and ids[1] - ids[0] + 1 == count  # a page of consecutive ids, newest first
        seen += list(range(ids[1], ids[0] - 1, -1))
        older = re.search(r'href="(/console/audit\?before=\d+)">Older entries', page.text)
        if older is None:
            break
        url = older.group(1)
    assert seen[0] == newest and len(seen) == total and seen == sorted(seen, reverse=True)
    assert admin.get("/console/audit?before=abc").status_code == 400


def test_anyone_but_an_admin_is_refused(service: Sandbox) -> None:
    for role, group in (("organiser", None), ("organiser", "Audit Leeds")):
        if group:
            service.cli("group", "add", group)
        client = sign_in(service, service.organiser(role, group))
        page = client.get("/console/audit")
        assert page.status_code == 403 and "Only an admin can read the audit log." in page.text
        assert "<tbody>" not in page.text and 'href="/console/audit"' not in page.text  # not in the navigation
    assert httpx.get(f"{service.base}/console/audit", timeout=5).status_code == 303  # signed out: sign in first
