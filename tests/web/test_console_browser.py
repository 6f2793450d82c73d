"""The console in a real browser, as an organiser uses it, on a laptop and on a phone."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.browser import LAPTOP, PHONE, shot, sign_in
from tests.web.console_support import Sandbox, sandbox


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("browser")) as running:
        yield running




@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_sign_in_from_the_sandbox_see_the_overview_and_sign_out(service: Sandbox, browser: Any, size: str) -> None:
    context = browser.new_context(viewport=LAPTOP if size == "laptop" else PHONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{service.base}/console/login")
    shot(page, f"console-login-{size}")
    sign_in(service, page, service.organiser())
    assert page.get_by_text("supporters", exact=False).first.is_visible()
    shot(page, f"console-overview-{size}")
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()
    assert re.search(r"/console/login$", page.url)
    assert not errors, errors  # no CSP violation, no script error
    context.close()


PAGES = [("/console/", "overview"), ("/console/supporters", "supporters"), ("/console/inbox", "inbox"),
         ("/console/groups", "groups"), ("/console/organisers", "organisers"), ("/console/audit", "audit")]


@pytest.mark.parametrize("size", ["laptop", "phone"])
def test_every_page_fits_the_screen_and_runs_no_failing_script(service: Sandbox, browser: Any, size: str) -> None:
    viewport = LAPTOP if size == "laptop" else PHONE
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    sign_in(service, page, service.organiser("admin"))
    for path, name in PAGES:
        page.goto(f"{service.base}{path}")
        assert page.locator("h1").first.is_visible(), path
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} scrolls sideways on a {size}: {width}px"
        shot(page, f"console-{name}-{size}")
    assert not errors, errors
    context.close()


def test_an_organisers_day_search_move_answer_and_scope(service: Sandbox, browser: Any) -> None:
    """Sign in from the sandbox, find a supporter, move her to another group, answer her message
    in the inbox and see the answer reach her; a local organiser cannot open her page by URL."""
    phone = "+447400555111"
    service.cli("group", "add", "Leeds North", "--areas", "LS6")
    with sqlite3.connect(service.workdir / "muster.db") as conn:
        demo = conn.execute("SELECT id FROM local_groups WHERE is_demo = 1").fetchone()[0]
        conn.execute("INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, "
                     "created_at) VALUES (?, 'Ada', ?, 'active', 'opted_in', 'sms', '2026-11-30T10:00:00.000000Z')",
                     (phone, demo))
    sent = httpx.post(f"{service.base}/sim/send", timeout=10,
                      json={"channel": "sms", "address": phone, "text": "Is there a meeting near Leeds?"})
    assert sent.status_code == 200, sent.text

    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    sign_in(service, page, service.organiser("admin"))
    page.get_by_role("link", name="Supporters").click()
    page.get_by_label("Search").fill("Ada")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Ada").click()
    page.get_by_role("heading", name=re.compile("^Ada")).wait_for()
    shot(page, "console-supporter-phone")
    supporter_url = page.url
    page.get_by_label("Move to").select_option(label="Leeds North")
    page.get_by_role("button", name="Move").click()
    page.get_by_role("status").filter(has_text="Moved to Leeds North").wait_for()

    page.get_by_role("link", name="Inbox").click()
    page.get_by_text("Is there a meeting near Leeds?").wait_for()
    after = service.last_message_id("sms", phone)
    page.get_by_label(re.compile("^Answer Ada")).fill("Yes: Thursday 7pm at the library.")
    page.get_by_role("button", name="Send answer").click()
    page.get_by_role("status").wait_for()
    shot(page, "console-inbox-answered-phone")
    service.wait_for_message("sms", phone, "Thursday 7pm at the library", after)
    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("heading", name="Sign in").wait_for()

    local = browser.new_context(viewport=LAPTOP)
    other = local.new_page()
    sign_in(service, other, service.organiser("organiser", "Manchester Central (demo)"))
    answer = other.goto(supporter_url)
    assert answer is not None and answer.status == 404
    other.get_by_role("heading", name="No such supporter").wait_for()
    shot(other, "console-supporter-out-of-scope-laptop")
    context.close()
    local.close()
