"""The console's broadcast reports over real HTTP against the real service in sandbox mode: the funnel,
failures by error code with their meaning, masked addresses only, the recipients a page at a time with a
status filter, the JSON the page polls, sending `unknown` messages again, and who may see what."""
from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from bot.web.console.reports import BAR_WIDTH
from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

STAMP = "2026-01-01T00:00:00.000000Z"


@dataclass
class World:
    service: Sandbox
    leeds: int            # a broadcast to Leeds: SMS and Telegram, with failures and unknowns
    york: int             # a broadcast to York
    alert: int            # an action alert to Leeds, with answers
    phones: list[str]
    telegram_ids: list[int]
    admin: httpx.Client
    leeds_organiser: httpx.Client


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _people(service: Sandbox, group: str, count: int, first: int, telegram_every: int = 4) -> None:
    """`count` opted-in supporters of `group`; every `telegram_every`th on Telegram, the rest by SMS."""
    group_id = _db(service, "SELECT id FROM local_groups WHERE name = ?", (group,))[0][0]
    rows = []
    for i in range(first, first + count):
        on_telegram = i % telegram_every == 0
        rows.append((None if on_telegram else f"+4474002{i:05d}", 7_000_000_000 + i if on_telegram else None,
                     f"Name{i}", group_id, "none" if on_telegram else "opted_in",
                     "opted_in" if on_telegram else "none", "telegram" if on_telegram else "sms", STAMP))
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        conn.executemany(
            "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
            "last_channel, created_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)", rows)


def _send(service: Sandbox, group: str, body: str, *extra: str) -> int:
    service.cli("broadcast", "create", "--body", body, "--audience", f"group:{group}", *extra)
    broadcast_id = _db(service, "SELECT MAX(id) FROM broadcasts")[0][0]
    service.cli("broadcast", "send", str(broadcast_id), "--yes")
    return broadcast_id


def _settled(client: httpx.Client, broadcast_id: int) -> dict:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = client.get(f"/console/broadcasts/{broadcast_id}/report/progress").json()
        if not seen["sending"] and not seen["awaiting"]:
            return seen
        time.sleep(0.2)
    raise AssertionError(f"broadcast {broadcast_id} did not settle: {seen}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sandbox(tmp_path_factory.mktemp("reports")) as service:
        service.cli("group", "add", "Leeds", "--areas", "LS6")
        service.cli("group", "add", "York", "--areas", "YO1")
        _people(service, "Leeds", 260, 0)
        _people(service, "York", 5, 1000)
        admin = sign_in(service)
        leeds = _send(service, "Leeds", "Rally on Saturday at noon")
        york = _send(service, "York", "York meeting on Monday")
        alert = _send(service, "Leeds", "Register to vote", "--kind", "alert", "--cta", "Register now",
                      "--link", "https://example.org/register")
        for broadcast_id in (leeds, york, alert):
            _settled(admin, broadcast_id)
        # What providers said of some of them: refused at sending (21610, 21211), undelivered later
        # (30007 twice), and three left in doubt by a crash.
        sms = [r[0] for r in _db(service, "SELECT id FROM outbox WHERE broadcast_id = ? AND channel = 'sms' "
                                          "ORDER BY id", (leeds,))]
        _db(service, "UPDATE outbox SET status = 'failed', error_code = '21610', provider_id = NULL WHERE id = ?",
            (sms[0],))
        _db(service, "UPDATE outbox SET status = 'failed', error_code = '21211', provider_id = NULL WHERE id = ?",
            (sms[1],))
        for outbox_id in sms[2:4]:
            _db(service, "UPDATE deliveries SET status = 'undelivered', error_code = '30007' WHERE provider_id = "
                         "(SELECT provider_id FROM outbox WHERE id = ?)", (outbox_id,))
        _db(service, "UPDATE outbox SET status = 'unknown', error_code = 'timeout', provider_id = NULL "
                     f"WHERE id IN ({', '.join('?' * 3)})", tuple(sms[4:7]))
        answering = _db(service, "SELECT supporter_id FROM outbox WHERE broadcast_id = ? ORDER BY id LIMIT 10",
                        (alert,))
        for k, (supporter_id,) in enumerate(answering):
            _db(service, "INSERT INTO alert_responses (broadcast_id, supporter_id, response, at) VALUES (?, ?, ?, ?)",
                (alert, supporter_id, "done" if k < 7 else "cant", STAMP))
        phones = [r[0] for r in _db(service, "SELECT phone FROM supporters WHERE phone LIKE '+4474002%'")]
        telegram_ids = [r[0] for r in _db(service, "SELECT telegram_id FROM supporters WHERE telegram_id > 7000000000")]
        local = sign_in(service, service.organiser("organiser", "Leeds"))
        yield World(service, leeds, york, alert, phones, telegram_ids, admin, local)


def test_the_report_shows_the_funnel_as_a_chart_with_titles_and_labels(world: World) -> None:
    page = world.admin.get(f"/console/broadcasts/{world.leeds}/report")
    assert page.status_code == 200
    html = page.text
    chart = re.search(r"<svg class=\"rep-funnel\".*?</svg>", html, re.S)
    assert chart, "the funnel is drawn on the server"
    for label, n in (("Queued", 260), ("Sent", 255), ("Delivered \\(SMS\\)", 188), ("Failed", 4), ("Unknown", 3)):
        assert re.search(rf"<title[^>]*>{label}: {n}</title>", chart.group(0)), label
    assert "Cancelled" not in chart.group(0), "cancelled only where there is any"
    assert f'href="/console/broadcasts/{world.leeds}"' in html, "back to the broadcast"
    assert "No delivery receipts on Telegram" in html
    assert "is <span data-field=\"status\">sent</span>" in html


def test_failures_are_listed_by_code_with_what_they_mean_and_what_to_do(world: World) -> None:
    html = world.admin.get(f"/console/broadcasts/{world.leeds}/report").text
    table = re.search(r"<table class=\"rep-failures\">.*?</table>", html, re.S).group(0)
    rows = re.findall(r"<tr>\s*<td data-label=\"Code\"><strong>(\w+)</strong>.*?</tr>", table, re.S)
    assert rows == ["30007", "21211", "21610"], "most first, then by code"
    assert "The carrier filtered it as spam or unwanted content." in table
    assert "Reword it" in table
    assert "They replied STOP to our number" in table and "texting START" in table
    assert "Not a phone number that can be texted." in table


def test_no_full_phone_number_or_telegram_id_appears_anywhere(world: World) -> None:
    pages = [world.admin.get(f"/console/broadcasts/{world.leeds}/report").text]
    for which in ("all", "failed", "unknown", "delivered", "sent"):
        url = f"/console/broadcasts/{world.leeds}/report/recipients?status={which}"
        while url:
            got = world.admin.get(url)
            assert got.status_code == 200
            pages.append(got.text)
            found = re.search(r'rel="next" href="([^"]+)"', got.text)
            url = found.group(1).replace("&amp;", "&") if found else None
    everything = "\n".join(pages)
    assert "+44…" in everything, "masked numbers are shown"
    for phone in world.phones:
        assert phone not in everything and "0" + phone[3:] not in everything and phone[1:] not in everything
    for telegram_id in world.telegram_ids:
        assert str(telegram_id) not in everything


def test_recipients_come_a_hundred_at_a_time_and_every_one_once(world: World) -> None:
    seen: list[str] = []
    url, pages = f"/console/broadcasts/{world.leeds}/report/recipients", 0
    while url:
        got = world.admin.get(url)
        body = re.search(r"<tbody>(.*?)</tbody>", got.text, re.S).group(1)
        names = re.findall(r'<td data-label="Name">([^<]+)</td>', body)
        assert len(names) == (100 if pages < 2 else 60)
        seen += names
        pages += 1
        found = re.search(r'rel="next" href="([^"]+)"', got.text)
        url = found.group(1).replace("&amp;", "&") if found else None
        if pages > 1:
            assert "First page" in got.text
    assert pages == 3 and len(seen) == len(set(seen)) == 260


@pytest.mark.parametrize("which, count, status", [("failed", 4, "failed"), ("unknown", 3, "unknown"),
                                                  ("delivered", 188, "delivered")])
def test_the_status_filter_keeps_only_those(world: World, which: str, count: int, status: str) -> None:
    got = world.admin.get(f"/console/broadcasts/{world.leeds}/report/recipients", params={"status": which})
    statuses = re.findall(r'<span class="rep-status rep-(\w+)">', got.text)
    assert len(statuses) == min(count, 100) and set(statuses) == {status}
    if which == "failed":
        assert "30007" in got.text and "filtered by the carrier" in got.text and "21610" in got.text


def test_a_filter_that_does_not_exist_is_a_400_that_says_what_to_choose(world: World) -> None:
    got = world.admin.get(f"/console/broadcasts/{world.leeds}/report/recipients", params={"status": "lost"})
    assert got.status_code == 400
    assert "Show one of: All, Waiting to send, Sent (no receipt), Delivered, Failed, Unknown, Cancelled." in got.text
    bad = world.admin.get(f"/console/broadcasts/{world.leeds}/report/recipients", params={"after": "x"})
    assert bad.status_code == 400 and "start from the first" in bad.text


def test_the_json_endpoint_has_the_figures_the_page_shows(world: World) -> None:
    got = world.admin.get(f"/console/broadcasts/{world.leeds}/report/progress")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    p = got.json()
    assert p["status"] == "sent" and p["sending"] is False and p["percent"] == 100
    assert (p["total"], p["sent"], p["delivered"], p["failed"], p["unknown"], p["waiting"]) == (260, 255, 188, 4, 3, 0)
    assert p["widths"]["total"] == BAR_WIDTH and 0 < p["widths"]["delivered"] < p["widths"]["sent"]
    assert world.admin.get("/console/broadcasts/9999/report/progress").status_code == 404
    refused = world.leeds_organiser.get(f"/console/broadcasts/{world.york}/report/progress")
    assert refused.status_code == 403 and "error" in refused.json()


def test_an_alert_report_shows_answers_and_completion_by_group(world: World) -> None:
    html = world.admin.get(f"/console/broadcasts/{world.alert}/report").text
    assert re.search(r'<span class="figure">7</span> DONE ·\s*<span class="figure">3</span> CAN\'T', html)
    assert re.search(r"<td>Leeds</td><td>260</td><td>7</td><td>3</td>\s*<td>2%</td>", html)
    rows = world.admin.get(f"/console/broadcasts/{world.alert}/report/recipients").text
    assert rows.count('<td data-label="Answer" class="rep-labelled">Done</td>') == 7
    assert rows.count('<td data-label="Answer" class="rep-labelled">Can&#39;t</td>') == 3


def test_a_local_organiser_sees_their_groups_report_and_not_anothers(world: World) -> None:
    assert world.leeds_organiser.get(f"/console/broadcasts/{world.leeds}/report").status_code == 200
    for path in ("", "/recipients", "/resend-unknown"):
        got = world.leeds_organiser.get(f"/console/broadcasts/{world.york}/report{path}")
        assert got.status_code == 403, path
        assert "beyond your local groups" in got.text
    assert world.admin.get("/console/broadcasts/9999/report").status_code == 404


def test_unknown_messages_are_explained_and_sent_again_only_after_the_warning(world: World) -> None:
    report = world.admin.get(f"/console/broadcasts/{world.leeds}/report").text
    assert "Unknown: 3 messages" in report and "it may have arrived" in report
    assert f'href="/console/broadcasts/{world.leeds}/report/resend-unknown"' in report
    confirm = world.admin.get(f"/console/broadcasts/{world.leeds}/report/resend-unknown")
    assert confirm.status_code == 200
    assert "3 messages" in confirm.text and "will get it twice" in confirm.text
    assert _db(world.service, "SELECT COUNT(*) FROM outbox WHERE broadcast_id = ? AND status = 'unknown'",
               (world.leeds,))[0][0] == 3
    done = world.admin.post(f"/console/broadcasts/{world.leeds}/report/resend-unknown",
                            data={"csrftoken": csrf(confirm)})
    assert done.status_code == 303 and done.headers["location"].startswith(f"/console/broadcasts/{world.leeds}/report")
    assert "3%20messages%20in%20doubt%20queued%20again" in done.headers["location"]
    after = _settled(world.admin, world.leeds)
    assert after["unknown"] == 0 and after["sent"] == 258 and after["status"] == "sent"
    audit = _db(world.service, "SELECT detail FROM audit_log WHERE action = 'broadcast.resend_unknown' "
                               "AND target = ?", (f"broadcast:{world.leeds}",))
    assert audit == [("3 messages in doubt queued again",)]
    again = world.admin.get(f"/console/broadcasts/{world.leeds}/report/resend-unknown")
    assert "there is nothing to send again" in again.text and "<form method=\"post\"" not in again.text


def test_resending_a_draft_is_a_400_that_says_why(world: World) -> None:
    world.service.cli("broadcast", "create", "--body", "Not yet", "--audience", "group:Leeds")
    draft = _db(world.service, "SELECT MAX(id) FROM broadcasts")[0][0]
    confirm = world.admin.get(f"/console/broadcasts/{draft}/report/resend-unknown")
    done = world.admin.post(f"/console/broadcasts/{draft}/report/resend-unknown", data={"csrftoken": csrf(confirm)})
    assert done.status_code == 400 and "only a started broadcast has messages to resend" in done.text
    page = world.admin.get(f"/console/broadcasts/{draft}/report")
    assert page.status_code == 200 and "it has not been sent" in page.text
