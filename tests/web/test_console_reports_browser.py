"""A broadcast's report in a real browser: it drains through the sandbox (slowed to a few messages a
second, some texts reported undelivered) and the figures, the bar and the chart move on the page
without a reload; then the full report, the failed recipients and the unknown ones, on a laptop and a
phone. Screenshots in artefacts/screenshots/console-report-*.png."""
from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.browser import LAPTOP, PHONE, shot, sign_in
from tests.web.console_support import Sandbox

SMS_PEOPLE, TELEGRAM_PEOPLE = 24, 8


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = Sandbox(tmp_path_factory.mktemp("report-browser"))
    # Slow enough to watch: 24 texts at 3 a second take about 8 s. One text in five is reported
    # undelivered with a carrier's code, as Twilio would.
    running.env |= {"SMS_SEGMENTS_PER_SECOND": "3", "TELEGRAM_MESSAGES_PER_SECOND": "3",
                    "MUSTER_SANDBOX_FAILURE_RATE": "0.2"}
    running.start()
    try:
        yield running
    finally:
        running.stop()


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()




def _figure(page: Any, field: str) -> int:
    return int(page.locator(f'[data-report-progress] [data-field="{field}"]').first.inner_text().replace(",", ""))


def test_the_report_follows_a_broadcast_draining_through_the_sandbox(service: Sandbox, browser: Any) -> None:
    service.cli("group", "add", "Salford", "--areas", "M5 M6")
    group_id = _db(service, "SELECT id FROM local_groups WHERE name = 'Salford'")[0][0]
    people = [(f"+4474003{i:05d}", None, "opted_in", "none", "sms") for i in range(SMS_PEOPLE)]
    people += [(None, 8_100_000_000 + i, "none", "opted_in", "telegram") for i in range(TELEGRAM_PEOPLE)]
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        conn.executemany(
            "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
            "last_channel, created_at) VALUES (?, ?, 'Robin', ?, 'active', ?, ?, ?, '2026-01-01T00:00:00.000000Z')",
            [(phone, tg, group_id, sms, telegram, last) for phone, tg, sms, telegram, last in people])

    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(service, page, service.organiser("admin"))

    service.cli("broadcast", "create", "--body", "Salford tenants: meeting on Thursday, 7pm at the library.",
                "--audience", "group:Salford")
    broadcast_id = _db(service, "SELECT MAX(id) FROM broadcasts")[0][0]
    service.cli("broadcast", "send", str(broadcast_id), "--yes")
    page.goto(f"{service.base}/console/broadcasts/{broadcast_id}/report")
    page.evaluate("window.loadedOnce = true")  # a reload would forget this
    total = SMS_PEOPLE + TELEGRAM_PEOPLE
    assert _figure(page, "total") == total
    first = _figure(page, "done")
    assert first < total, "the broadcast had finished before the page could watch it"
    assert page.get_by_text("It is sending").is_visible()
    shot(page, "console-report-sending-laptop")
    sent_width = page.locator('[data-bar="sent"]').get_attribute("width")

    deadline = time.monotonic() + 20
    while _figure(page, "done") == first and time.monotonic() < deadline:
        page.wait_for_timeout(200)
    moved = _figure(page, "done")
    assert moved > first, "the figures did not change"
    assert page.evaluate("window.loadedOnce === true"), "the page was reloaded"
    shot(page, "console-report-midway-laptop")

    page.locator("[data-finished]").wait_for(state="visible", timeout=30_000)
    assert _figure(page, "done") == total and _figure(page, "percent") == 100
    assert page.locator('[data-field="status"]').first.inner_text() == "sent"
    assert page.locator('[data-bar="sent"]').get_attribute("width") != sent_width, "the chart did not move"
    assert page.locator("progress").evaluate("p => p.value") == total
    assert page.evaluate("window.loadedOnce === true"), "the page was reloaded"
    assert page.locator("[data-announce]").inner_text() == f"Every message has gone: {total} of {total} done."
    shot(page, "console-report-finished-laptop")

    # The rest of the receipts come in; the full report has the failures table.
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _db(
            service, "SELECT COUNT(*) FROM outbox o LEFT JOIN deliveries d ON d.provider_id = o.provider_id "
                     "WHERE o.broadcast_id = ? AND o.channel = 'sms' AND (d.stage IS NULL OR d.stage < 4)",
            (broadcast_id,))[0][0]:
        time.sleep(0.2)
    failed = _db(service, "SELECT COUNT(*) FROM outbox o JOIN deliveries d ON d.provider_id = o.provider_id "
                          "WHERE o.broadcast_id = ? AND d.status = 'undelivered'", (broadcast_id,))[0][0]
    assert _db(service, "SELECT COUNT(*) FROM outbox o JOIN deliveries d ON d.provider_id = o.provider_id "
                        "WHERE o.broadcast_id IS NULL AND d.status <> 'delivered'")[0][0] == 0, \
        "a sign-in link or a reply always arrives"
    assert 0 < failed < SMS_PEOPLE, "the sandbox reports a share undelivered"
    # Two messages left in doubt, as a crash would leave them, to see that part of the report too.
    _db(service, "UPDATE outbox SET status = 'unknown', provider_id = NULL, error_code = 'timeout' WHERE id IN "
                 "(SELECT id FROM outbox WHERE broadcast_id = ? AND channel = 'telegram' ORDER BY id LIMIT 2)",
        (broadcast_id,))
    page.get_by_role("link", name="See the full report").click()
    page.get_by_role("heading", name="Failures by error code", exact=False).wait_for()
    assert page.get_by_text("No delivery receipts on Telegram").is_visible()
    assert page.get_by_role("heading", name="Unknown: 2 messages").is_visible()
    shot(page, "console-report-full-laptop")
    page.get_by_role("link", name="Who these were").first.click()
    page.get_by_role("heading", name="Failed").wait_for()
    assert page.locator("tbody tr").count() == failed
    shot(page, "console-report-failed-recipients-laptop")
    page.goto(f"{service.base}/console/broadcasts/{broadcast_id}/report/resend-unknown")
    assert page.get_by_text("will get it twice").is_visible()
    shot(page, "console-report-resend-laptop")
    page.get_by_role("button", name="Send 2 messages again").click()
    page.get_by_text("2 messages in doubt queued again.").wait_for()
    assert not errors, errors  # no CSP violation, no script error
    context.close()

    phone = browser.new_context(viewport=PHONE)
    small = phone.new_page()
    sign_in(service, small, service.organiser("admin"))
    for path, name in (("", "full"), ("/recipients", "recipients")):
        small.goto(f"{service.base}/console/broadcasts/{broadcast_id}/report{path}")
        width = small.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the report{path} scrolls sideways on a phone: {width}px"
        shot(small, f"console-report-{name}-phone")
    phone.close()
