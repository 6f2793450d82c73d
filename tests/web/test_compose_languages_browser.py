"""The compose page of a Welsh deployment (MUSTER_LANGUAGES=en,cy) in a real browser: typing the Welsh version
brings its own line, its UCS-2 note and its sample into the live preview, with no button pressed."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.browser import LAPTOP, shot, sign_in
from tests.web.console_support import Sandbox

STAMP = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    running = Sandbox(tmp_path_factory.mktemp("compose-languages-browser"))
    running.env["MUSTER_LANGUAGES"] = "en,cy"
    running.start()
    try:
        with sqlite3.connect(running.workdir / "muster.db", timeout=10) as conn:
            conn.executemany(
                "INSERT INTO supporters (phone, first_name, status, sms_consent, last_channel, language, created_at) "
                "VALUES (?, ?, 'active', 'opted_in', 'sms', ?, ?)",
                [("+447400400001", "Aisha", "en", STAMP), ("+447400400002", "Siôn", "cy", STAMP)])
        yield running
    finally:
        running.stop()


def test_the_welsh_version_gets_its_own_line_and_ucs2_note_as_it_is_typed(service: Sandbox, browser: Any) -> None:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    sign_in(service, page, service.organiser())
    page.goto(f"{service.base}/console/broadcasts/new")
    preview = page.locator("#preview-body")
    page.get_by_text("Updates as you type.").wait_for()
    assert not page.get_by_label("What should people do, in Welsh (Cymraeg)?").is_visible()  # alerts only
    page.get_by_label("Message", exact=True).fill("Hi {first_name}, the rally is on Saturday.")
    preview.locator("[data-counts]").filter(has_text="2 by SMS").wait_for()
    assert preview.locator("[data-language]").count() == 0  # one version: no lines per language
    page.get_by_label("Message in Welsh (Cymraeg)").fill("Helo {first_name}, dewch i'r ŵyl ddydd Sadwrn!")
    welsh = preview.locator("[data-language='cy']")
    welsh.wait_for()
    assert "Welsh (Cymraeg): 1 by SMS" in welsh.inner_text() and "UCS-2" in welsh.inner_text()
    assert "ŵ" in preview.locator("[data-ucs2='cy']").inner_text()
    assert "dewch i'r ŵyl" in preview.locator("[data-sample='telegram-cy']").inner_text()
    page.get_by_role("radio", name="Action alert").check()
    assert page.get_by_label("What should people do, in Welsh (Cymraeg)?").is_visible()
    shot(page, "broadcasts-compose-welsh-laptop")
    assert not errors, errors
    context.close()
