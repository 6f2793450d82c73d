"""The broadcasts pages in a real browser: the live preview follows what the organiser types and
ticks (Siân's message is UCS-2 and costs more, with no button pressed), and a scheduled broadcast
is listed as scheduled."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.web.browser import LAPTOP, PHONE, shot, sign_in
from tests.web.console_support import Sandbox, sandbox

GROUP = "St Ann's Well"
STAMP = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("broadcasts-browser")) as running:
        running.cli("group", "add", GROUP, "--areas", "LS6")
        with sqlite3.connect(running.workdir / "muster.db", timeout=10) as conn:
            group = conn.execute("SELECT id FROM local_groups WHERE name = ?", (GROUP,)).fetchone()[0]
            conn.executemany(
                "INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, created_at) "
                "VALUES (?, ?, ?, 'active', 'opted_in', 'sms', ?)",
                [("+447400300001", "Siân", group, STAMP), ("+447400300002", "Aisha", group, STAMP)])
        yield running




def _page(browser: Any, service: Sandbox, viewport: dict[str, int]) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(service, page, service.organiser())
    return context, page, errors


def test_the_live_preview_says_ucs_2_and_the_cost_as_the_organiser_types(service: Sandbox, browser: Any) -> None:
    context, page, errors = _page(browser, service, LAPTOP)
    page.get_by_role("link", name="Broadcasts").click()
    page.get_by_role("heading", name="Broadcasts and action alerts").wait_for()
    page.get_by_role("link", name="New broadcast").click()
    preview = page.locator("#preview-body")
    page.get_by_text("Updates as you type.").wait_for()  # shown by compose.js, which previews as one types
    assert not page.get_by_role("button", name="Preview").is_visible()
    assert not page.get_by_label("What should people do?").is_visible()  # alert fields only for alerts

    page.get_by_label("Message").fill("Hi {first_name}, we're canvassing on Saturday at 10 by the library. "
                                      "Bring a friend!")
    page.get_by_label(GROUP).check()
    page.get_by_label("SMS only").check()
    figures = preview.locator("[data-sms-figures]")
    figures.filter(has_text="UCS-2").wait_for()
    text = figures.inner_text()
    # Siân's text takes two UCS-2 segments, Aisha's one GSM-7: 3 segments at £0.04.
    assert "1 GSM-7 and 1 UCS-2" in text and "3 segments in all" in text and "£0.12" in text, text
    assert "Recipients: 2 by SMS" in preview.inner_text()
    assert "Siân" in preview.locator("[data-sample='sms']").inner_text()
    shot(page, "broadcasts-compose-live-preview-laptop")

    page.get_by_label("Message").fill("Hi {name}")  # an unknown placeholder: said in place
    preview.locator("[data-problem]").wait_for()
    assert "{name}" in preview.locator("[data-problem]").inner_text()
    page.get_by_role("radio", name=re.compile(r"^Action alert")).check()
    assert page.get_by_label("What should people do?").is_visible()
    shot(page, "broadcasts-compose-error-in-place-laptop")
    assert not errors, errors  # no CSP violation, no script error
    context.close()


def test_schedule_one_and_see_it_listed_as_scheduled(service: Sandbox, browser: Any) -> None:
    context, page, errors = _page(browser, service, LAPTOP)
    page.goto(f"{service.base}/console/broadcasts/new")
    page.get_by_label("Message").fill("Weekly canvass: Saturday 10:00 at the library, {group}.")
    page.get_by_label(GROUP).check()
    page.locator("[data-sms-figures]").filter(has_text="GSM-7").wait_for()
    page.get_by_role("button", name="Save draft").click()
    page.get_by_text("Nothing is sent until you send or schedule it.").wait_for()
    found = re.search(r"/console/broadcasts/(\d+)", page.url)
    assert found, page.url
    broadcast_id = found.group(1)
    tomorrow = (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=1)).date()
    page.get_by_label("Date", exact=True).fill(tomorrow.isoformat())
    page.get_by_label("Time", exact=True).fill("18:30")
    page.get_by_label("Every week").check()
    shot(page, "broadcasts-draft-page-laptop")
    page.get_by_role("button", name="Schedule").click()
    page.get_by_text("is scheduled for").wait_for()
    shot(page, "broadcasts-scheduled-page-laptop")

    page.get_by_role("link", name="Broadcasts", exact=True).first.click()
    page.get_by_role("link", name=re.compile(r"^Scheduled")).click()
    item = page.locator(".bc-item", has=page.locator(f'a[href="/console/broadcasts/{broadcast_id}"]'))
    assert item.locator(".bc-status").inner_text() == "scheduled"
    when = item.locator("[data-when]").inner_text()
    assert "18:30" in when and f"{tomorrow.day} " in when and "then every week" in when, when
    shot(page, "broadcasts-list-scheduled-laptop")
    assert not errors, errors
    context.close()


def test_the_pages_fit_a_phone(service: Sandbox, browser: Any) -> None:
    context, page, errors = _page(browser, service, PHONE)
    for path, name in (("/console/broadcasts/new?kind=alert", "compose"), ("/console/broadcasts", "list")):
        page.goto(f"{service.base}{path}")
        if name == "compose":
            page.get_by_label("Message").fill("Register to vote by Monday, {first_name}!")
            page.get_by_label("What should people do?").fill("Register to vote")
            page.locator("[data-sms-figures]").wait_for()
        shot(page, f"broadcasts-{name}-phone")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} scrolls sideways on a phone ({width}px)"
        if name == "compose":
            page.get_by_role("button", name="Save draft").click()
            page.get_by_text("Nothing is sent until you send or schedule it.").wait_for()
            shot(page, "broadcasts-draft-phone")
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= PHONE["width"], f"a draft's page scrolls sideways on a phone ({width}px)"
    assert not errors, errors
    context.close()
