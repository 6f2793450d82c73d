"""Check-in at the door in a real browser on a 360 px phone: filter by name, check two people in,
one of them while the service cannot be reached (the request is blocked, then let through again:
it must end saved), and the same without JavaScript; the events pages fit the phone's screen."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.web.browser import LAPTOP, PHONE, shot, sign_in
from tests.web.console_support import Sandbox, sandbox


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, int, dict[str, int], str]]:
    """A Leeds phone bank that started ten minutes ago: three going, one maybe, and its organiser."""
    with sandbox(tmp_path_factory.mktemp("checkin")) as service:
        service.cli("group", "add", "Leeds", "--areas", "LS1")
        service.cli("event", "create", "--title", "Phone bank for the rent campaign", "--when", "2030-05-04 19:00",
                    "--venue", "Unite office, Leeds", "--capacity", "30", "--group", "Leeds", "--publish")
        start = datetime.now(UTC) - timedelta(minutes=10)
        people: dict[str, int] = {}
        with sqlite3.connect(service.workdir / "muster.db") as conn:
            event = conn.execute("SELECT MAX(id) FROM events").fetchone()[0]
            group = conn.execute("SELECT id FROM local_groups WHERE name = 'Leeds'").fetchone()[0]
            conn.execute("UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
                         (_stamp(start), _stamp(start + timedelta(hours=2)), event))
            for n, (name, status) in enumerate((("Amina", "going"), ("Ben", "going"), ("Chloe", "going"),
                                                ("Dev", "maybe"))):
                cur = conn.execute(
                    "INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, "
                    "created_at) VALUES (?, ?, ?, 'active', 'opted_in', 'sms', '2026-01-01T00:00:00.000000Z')",
                    (f"+4474007000{n:02d}", name, group))
                people[name] = int(cur.lastrowid or 0)
                conn.execute("INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                             "VALUES (?, ?, ?, ?, ?)", (event, people[name], status, _stamp(start), _stamp(start)))
        yield service, event, people, service.organiser("organiser", "Leeds")


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _attended(service: Sandbox, event: int, supporter: int) -> int | None:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute("SELECT attended FROM rsvps WHERE event_id = ? AND supporter_id = ?",
                            (event, supporter)).fetchone()[0]


def _row(page: Any, name: str) -> Any:
    return page.locator(".ci-list[data-checkin] .ci-row", has_text=name)


def test_two_check_ins_on_a_phone_one_while_the_service_is_unreachable(door, browser: Any) -> None:
    service, event, people, organiser = door
    context = browser.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "net::ERR_" not in m.text else None)
    sign_in(service, page, organiser)
    page.goto(f"{service.base}/console/events/{event}/checkin")
    page.get_by_text("0 checked in of 3 going").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    heights = page.locator(".ci-button").evaluate_all("bs => bs.map(b => b.getBoundingClientRect().height)")
    assert heights and min(heights) >= 48, heights
    shot(page, "checkin-phone-list")

    # Typing filters the list at once, without asking the server.
    page.get_by_label("Find by name").fill("am")
    assert _row(page, "Amina").is_visible() and not _row(page, "Ben").is_visible()
    shot(page, "checkin-phone-filtered")
    _row(page, "Amina").get_by_role("button", name="Check in Amina").tap()
    _row(page, "Amina").get_by_text("Checked in · saved").wait_for()
    page.get_by_text("1 checked in of 3 going").wait_for()
    assert _attended(service, event, people["Amina"]) == 1
    page.get_by_label("Find by name").fill("")

    # The service is out of reach: the check-in is kept on the phone and shown as waiting.
    context.route(re.compile(r".*/attend$"), lambda route: route.abort("internetdisconnected"))
    _row(page, "Ben").get_by_role("button", name="Check in Ben").tap()
    _row(page, "Ben").get_by_text("Checked in · waiting for connection").wait_for()
    page.get_by_text("1 check-in waiting for connection").wait_for()
    assert _attended(service, event, people["Ben"]) is None
    assert "Ben" not in page.evaluate("JSON.stringify(localStorage)") and str(people["Ben"]) in page.evaluate(
        "JSON.stringify(localStorage)")
    shot(page, "checkin-phone-waiting")

    # Back again: it is sent by itself and ends saved.
    context.unroute(re.compile(r".*/attend$"))
    _row(page, "Ben").get_by_text("Checked in · saved").wait_for(timeout=15_000)
    assert page.locator("#ci-sync").is_hidden()
    page.get_by_text("2 checked in of 3 going").wait_for()
    assert _attended(service, event, people["Ben"]) == 1
    assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('muster-checkin'))"
                         ".map(k => localStorage.getItem(k))") == ["{}"]
    shot(page, "checkin-phone-saved")

    # Undo is one tap too.
    _row(page, "Ben").get_by_role("button", name="Undo check-in for Ben").tap()
    _row(page, "Ben").get_by_text("Undone · saved").wait_for()
    assert _attended(service, event, people["Ben"]) is None
    _row(page, "Ben").get_by_role("button", name="Check in Ben").tap()
    _row(page, "Ben").get_by_text("Checked in · saved").wait_for()
    assert not errors, errors
    context.close()


def test_check_in_works_without_javascript(door, browser: Any) -> None:
    service, event, people, organiser = door
    context = browser.new_context(viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    sign_in(service, page, organiser)
    page.goto(f"{service.base}/console/events/{event}/checkin")
    page.get_by_label("Find by name").fill("chl")
    page.get_by_role("button", name="Search").click()
    assert page.locator(".ci-list[data-checkin] .ci-row").count() == 1
    page.get_by_role("button", name="Check in Chloe").click()
    page.get_by_role("status").filter(has_text="Checked in Chloe.").wait_for()
    assert "q=chl" in page.url  # back to the same search
    assert _attended(service, event, people["Chloe"]) == 1
    shot(page, "checkin-phone-no-js")
    context.close()


@pytest.mark.parametrize("size", ["phone", "laptop"])
def test_the_events_pages_fit_the_screen(door, browser: Any, size: str) -> None:
    service, event, people, organiser = door
    viewport = PHONE if size == "phone" else LAPTOP
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "status of 400" not in m.text
            else None)
    sign_in(service, page, organiser)
    pages = [("/console/events", "list"), ("/console/events/new", "new")] + [
        (f"/console/events/{event}{tail}", name) for tail, name in (("", "event"), ("/edit", "edit"),
                                                                   ("/announce", "announce"), ("/cancel", "cancel"))]
    for path, name in pages:
        page.goto(f"{service.base}{path}")
        assert page.locator("h1").first.is_visible(), path
        shot(page, f"events-{name}-{size}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} scrolls sideways on a {size}: {width}px"
    # A form that breaks a rule: the refusal beside the field, what was typed kept.
    page.goto(f"{service.base}/console/events/new")
    page.get_by_label("Title").fill("Stall on Briggate")
    page.get_by_role("button", name="Save as a draft").click()
    page.get_by_text("Venue: say where it is").first.wait_for()
    assert page.get_by_label("Title").input_value() == "Stall on Briggate"
    shot(page, f"events-form-error-{size}")
    # Fewer places than people going: the form asks what to do with the extra ones.
    page.goto(f"{service.base}/console/events/{event}/edit")
    page.get_by_label("Places").fill("2")
    page.get_by_role("button", name="Save changes").click()
    page.wait_for_load_state()
    shot(page, f"events-capacity-question-{size}")
    page.get_by_text("3 people are already going, more than 2 places").wait_for()
    assert page.get_by_role("radio", name=re.compile("^Keep everyone already going")).is_visible()
    assert page.get_by_role("radio", name=re.compile("^Move the 1 who said going most recently")).is_visible()
    assert not errors, errors
    context.close()
