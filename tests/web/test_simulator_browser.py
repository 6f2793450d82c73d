"""The simulator in a real browser: both sides of a conversation after a reload, erasure clears it,
a wrong address is said at once, and the page has an icon."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.web.browser import LAPTOP, shot
from tests.web.console_support import Sandbox, sandbox

PHONE = "+447400555123"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("simulator")) as running:
        yield running


def say(page: Any, text: str) -> None:
    page.get_by_placeholder("Type JOIN to sign up").fill(text)
    page.get_by_role("button", name="Send").click()


def test_a_reload_shows_both_sides_and_an_erasure_clears_them(service: Sandbox, browser: Any) -> None:
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(service.base + "/")
    page.get_by_label("phone number or Telegram id").fill(PHONE)
    page.get_by_role("button", name="Switch").click()
    say(page, "MENU")
    page.locator(".msg.bot").first.wait_for()
    page.reload()
    page.get_by_label("phone number or Telegram id").fill(PHONE)
    page.get_by_role("button", name="Switch").click()
    page.locator(".msg.bot").first.wait_for()
    assert page.locator(".msg.me").first.inner_text() == "MENU"  # what they said is still there
    shot(page, "simulator-reloaded")

    say(page, "DELETE")
    page.get_by_text("Erase everything?", exact=False).wait_for()
    say(page, "YES")
    page.get_by_text("your details have been erased", exact=False).wait_for()
    page.reload()
    page.get_by_label("phone number or Telegram id").fill(PHONE)
    page.get_by_role("button", name="Switch").click()
    page.locator(".msg.bot").first.wait_for()
    shown = page.locator(".msg").all_inner_texts()
    assert not any(text in ("MENU", "DELETE", "YES") for text in shown), shown  # gone with the erasure
    assert len(shown) == 1 and "have been erased" in shown[0]  # only the confirmation that it was done
    shot(page, "simulator-after-erasure")


def test_a_wrong_address_is_said_at_once_and_the_icon_is_served(service: Sandbox, browser: Any) -> None:
    page = browser.new_context(viewport=LAPTOP).new_page()
    page.goto(service.base + "/")
    page.get_by_label("phone number or Telegram id").fill("not a number")
    page.get_by_text("expected a phone number").wait_for(timeout=3000)
    page.get_by_role("button", name="Switch").click()
    from playwright.sync_api import expect  # noqa: PLC0415 - only where the browser fixture found playwright
    expect(page.get_by_role("button", name="Send")).to_be_disabled(timeout=3000)  # once the page has handled it
    icon = httpx.get(service.base + "/favicon.ico", timeout=5)
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
