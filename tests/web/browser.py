"""Playwright driving Debian's chromium (never a downloaded browser); screenshots kept as artefacts."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("MUSTER_CHROMIUM", "/usr/bin/chromium")
ARTEFACTS = Path(os.environ.get("MUSTER_ARTEFACTS", Path(__file__).resolve().parents[2] / "artefacts")) / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}


def browser_or_skip() -> Any:
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium; CI installs it)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need playwright (pip install -e '.[dev]')")
    return sync_playwright


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_playwright = browser_or_skip()
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        try:
            yield launched
        finally:
            launched.close()


def shot(page: Any, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def sign_in(service: Any, page: Any, phone: str) -> None:
    """Into the console through the sign-in page and the link the bot sends, as a person would."""
    after = service.last_message_id("sms", phone)
    page.goto(f"{service.base}/console/")
    page.get_by_label("Phone number or Telegram user id").fill(phone)
    page.get_by_role("button", name="Send me a sign-in link").click()
    page.get_by_role("heading", name="Check your texts").wait_for()
    link = service.wait_for_message("sms", phone, r"(http://\S+/console/login/[A-Za-z0-9_-]+)", after).group(1)
    page.goto(link)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Overview").wait_for()
