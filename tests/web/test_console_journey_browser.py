"""An organiser who knows Mobilize, in a real browser, end to end: plan an event, announce it,
see supporters RSVP by text, check them in at the door on a phone, send an action alert to the
people who came, and see who acted."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.browser import LAPTOP, PHONE, shot, sign_in
from tests.web.console_support import Sandbox, sandbox

PEOPLE = {"Amina": "+447400810001", "Siân": "+447400810002", "Tom": "+447400810003"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("journey")) as running:
        running.cli("group", "add", "Salford", "--areas", "M5")
        with sqlite3.connect(running.workdir / "muster.db") as conn:
            group = conn.execute("SELECT id FROM local_groups WHERE name = 'Salford'").fetchone()[0]
            for name, phone in PEOPLE.items():
                conn.execute("INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, "
                             "created_at) VALUES (?, ?, ?, 'active', 'opted_in', 'sms', '2026-01-01T00:00:00.000000Z')",
                             (phone, name, group))
        yield running


def text(service: Sandbox, phone: str, words: str) -> None:
    sent = httpx.post(f"{service.base}/sim/send", json={"channel": "sms", "address": phone, "text": words}, timeout=10)
    assert sent.status_code == 200, sent.text


def test_plan_announce_check_in_alert_the_people_who_came_and_see_who_acted(service: Sandbox, browser: Any) -> None:
    organiser = service.organiser("organiser", "Salford")
    laptop = browser.new_context(viewport=LAPTOP).new_page()
    sign_in(service, laptop, organiser)

    # Plan: an evening meeting starting in half an hour (check-in opens an hour before the start).
    start = (datetime.now(ZoneInfo("Europe/London")) + timedelta(minutes=30)).replace(second=0, microsecond=0)
    laptop.get_by_role("link", name="Events").first.click()
    laptop.get_by_role("link", name=re.compile("New event")).click()
    laptop.get_by_label("Title").fill("Salford tenants' meeting")
    laptop.get_by_label("Date").fill(start.date().isoformat())
    laptop.get_by_label("Start time").fill(start.strftime("%H:%M"))
    laptop.get_by_label("Venue").fill("Salford Library, Room 2")
    laptop.get_by_label("Local group").select_option(label="Salford")
    laptop.get_by_role("button", name="Save as a draft").click()
    laptop.get_by_role("button", name="Publish").click()

    # Announce, after a preview of who is told and when.
    laptop.get_by_role("link", name="Announce…").click()
    laptop.get_by_text(re.compile(r"3 supporters")).first.wait_for()
    shot(laptop, "journey-announce-preview")
    laptop.get_by_role("button", name="Announce now").click()
    for phone in PEOPLE.values():
        service.wait_for_message("sms", phone, r"Salford tenants' meeting")

    # Supporters RSVP by text: two are going, one can't go.
    for name, answer in (("Amina", "1"), ("Siân", "1"), ("Tom", "3")):
        after = service.last_message_id("sms", PEOPLE[name])
        text(service, PEOPLE[name], answer)
        service.wait_for_message("sms", PEOPLE[name], r".", after)
    laptop.reload()
    assert "2" in laptop.locator(".ev-tiles .tile", has_text="going").first.inner_text()

    # At the door, on a phone: check both in.
    event_url = laptop.url.split("?")[0]
    phone = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True).new_page()
    sign_in(service, phone, organiser)
    phone.goto(event_url + "/checkin")
    for name in ("Amina", "Siân"):
        row = phone.locator(".ci-list[data-checkin] .ci-row", has_text=name)
        row.get_by_role("button", name=f"Check in {name}").tap()
        row.get_by_text("Checked in · saved").wait_for()
    phone.get_by_text("2 checked in of 2 going").wait_for()
    shot(phone, "journey-checked-in-phone")

    # Back on the laptop: an action alert to the people who came.
    laptop.goto(event_url)
    laptop.get_by_role("link", name="Send an action alert to the 2 who came").click()
    laptop.get_by_label("Message").fill("Thanks for coming, {first_name}! One more thing tonight:")
    laptop.get_by_label("What should people do?").fill("Email your councillor")
    laptop.locator("#bc-preview, .bc-preview, [data-preview]").first.get_by_text(re.compile(r"2 by SMS")).wait_for()
    laptop.get_by_role("button", name="Save draft").click()
    laptop.get_by_role("button", name="Send now").click()
    for name in ("Amina", "Siân"):
        service.wait_for_message("sms", PEOPLE[name], r"Email your councillor")
    assert not [m for m in service.messages("sms", PEOPLE["Tom"]) if "councillor" in m["text"]]

    # Amina acts; the report shows who did.
    text(service, PEOPLE["Amina"], "DONE")
    service.wait_for_message("sms", PEOPLE["Amina"], r"Thank you")
    report = laptop.url.split("?")[0].rstrip("/")
    laptop.goto(report + ("" if report.endswith("/report") else "/report"))
    body = laptop.locator("main").inner_text()
    assert re.search(r"\b1\s+DONE\s+·\s+0\s+CAN'T, of 2 recipients", body), body[:1500]
    shot(laptop, "journey-alert-report")
