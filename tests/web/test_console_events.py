"""The console's events pages over real HTTP against the real service: the list, the form (and its
400s), the capacity question, publishing, the announcement preview, cancelling, the event page with
its attendees, walk-ins and CSV export, check-in without JavaScript, and scope."""
from __future__ import annotations

import csv
import io
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

LONDON = ZoneInfo("Europe/London")
_numbers = iter(range(2000, 9999))


@dataclass
class World:
    service: Sandbox
    group: dict[str, int]
    admin: httpx.Client
    local: httpx.Client  # an organiser of Leeds only


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _supporter(service: Sandbox, name: str, group: int | None, *, telegram: bool = False) -> tuple[int, str]:
    phone = f"+4474008{next(_numbers):05d}"
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute(
            "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
            "last_channel, created_at) VALUES (?, ?, ?, ?, 'active', 'opted_in', ?, ?, '2026-01-01T00:00:00.000000Z')",
            (phone, next(_numbers) if telegram else None, name, group, "opted_in" if telegram else "none",
             "telegram" if telegram else "sms"))
        return int(cur.lastrowid or 0), phone


def _rsvp(service: Sandbox, event: int, supporter: int, status: str, minutes_ago: int = 60) -> None:
    at = _stamp(datetime.now(UTC) - timedelta(minutes=minutes_ago))
    _db(service, "INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        (event, supporter, status, at, at))


def _event(service: Sandbox, title: str, group: str | None, *, publish: bool = True, capacity: int | None = None,
           starts_in: timedelta | None = None) -> int:
    service.cli("event", "create", "--title", title, "--when", "2030-05-04 19:00", "--venue", "Civic Hall",
                *(("--group", group) if group else ()), *(("--publish",) if publish else ()),
                *(("--capacity", str(capacity)) if capacity else ()))
    event = _db(service, "SELECT MAX(id) FROM events")[0][0]
    if starts_in is not None:
        start = datetime.now(UTC) + starts_in
        _db(service, "UPDATE events SET starts_at = ?, ends_at = ? WHERE id = ?",
            (_stamp(start), _stamp(start + timedelta(hours=2)), event))
    return event


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = csrf(client.get("/console/events/new"))
    return client.post(path, data={"csrftoken": token, **data})


def _form(**changes: str) -> dict[str, str]:
    tomorrow = (datetime.now(LONDON) + timedelta(days=1)).date().isoformat()
    return {"title": "Tenants' meeting", "date": tomorrow, "time": "19:00", "hours": "2", "venue": "Leeds Civic Hall",
            "address": "", "postcode": "LS1 1UR", "address_public": "1", "online_url": "", "capacity": "",
            "group": "national", "description": "", "instructions": "", **changes}


def _text(page: httpx.Response | str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", page if isinstance(page, str) else page.text).split())


def _section(page: httpx.Response, part: str) -> str:
    """The text of one part of the events list (upcoming, drafts, past)."""
    return _text(page.text.split(f'<section class="ev-part" id="{part}"')[1].split("</section>")[0])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sandbox(tmp_path_factory.mktemp("events")) as service:
        service.cli("group", "add", "Leeds", "--areas", "LS1")
        service.cli("group", "add", "York", "--areas", "YO1")
        group = {name: _db(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0]
                 for name in ("Leeds", "York")}
        yield World(service, group, sign_in(service), sign_in(service, service.organiser("organiser", "Leeds")))


def test_the_list_has_upcoming_drafts_and_past_with_counts_group_and_status(world: World) -> None:
    s = world.service
    live = _event(s, "Leeds canvass", "Leeds", capacity=20)
    _event(s, "Leeds planning draft", "Leeds", publish=False)
    gone = _event(s, "Leeds old rally", "Leeds", starts_in=timedelta(days=-3))
    york = _event(s, "York stall", "York")
    national = _event(s, "National day of action", None)
    person, _ = _supporter(s, "Asha", world.group["Leeds"])
    _rsvp(s, live, person, "going")
    _rsvp(s, gone, person, "going")
    _db(s, "UPDATE rsvps SET attended = 1 WHERE event_id = ?", (gone,))
    page = world.admin.get("/console/events")
    assert page.status_code == 200
    text = _text(page)
    upcoming, drafts, past = (_section(page, part) for part in ("upcoming", "drafts", "past"))
    assert "Leeds canvass" in upcoming and "Leeds canvass" not in drafts + past
    assert "Leeds planning draft" in drafts and "Leeds old rally" in past and "Leeds old rally" not in upcoming
    assert "1/20 going · 0 maybe · 0 waitlist · 0 attended" in text
    assert "1 going · 0 maybe · 0 waitlist · 1 attended" in text
    assert "Published · Leeds" in text and "Draft · Leeds" in text and "Published · National" in text
    seen = _text(world.local.get("/console/events"))
    assert "Leeds canvass" in seen and "Leeds planning draft" in seen and "Leeds old rally" in seen
    assert "York stall" not in seen and "National day of action" not in seen
    assert world.local.get(f"/console/events/{york}").status_code == 403
    assert world.local.get(f"/console/events/{national}").status_code == 403
    assert world.admin.get("/console/events/99999").status_code == 404


def test_a_new_event_from_the_form_is_a_draft_made_by_the_shared_rules(world: World) -> None:
    form = world.admin.get("/console/events/new")
    assert form.status_code == 200 and 'value="national"' in form.text
    assert 'value="national"' not in world.local.get("/console/events/new").text  # local: their groups only
    made = _post(world.admin, "/console/events", **_form(title="Housing rally", capacity="40",
                                                         group=str(world.group["Leeds"])))
    assert made.status_code == 303, made.text
    event_id = int(made.headers["location"].split("/")[3].split("?")[0])
    row = _db(world.service, "SELECT title, status, capacity, group_id, venue, postcode, starts_at, ends_at "
                             "FROM events WHERE id = ?", (event_id,))[0]
    assert row[:6] == ("Housing rally", "draft", 40, world.group["Leeds"], "Leeds Civic Hall", "LS1 1UR")
    start = datetime.fromisoformat(row[6].replace("Z", "+00:00")).astimezone(LONDON)
    assert f"{start:%H:%M}" == "19:00"  # the organiser's time zone
    assert datetime.fromisoformat(row[7].replace("Z", "+00:00")) - start == timedelta(hours=2)
    assert _db(world.service, "SELECT front, action FROM audit_log WHERE target = ?", (f"event:{event_id}",)) == [
        ("web", "event.create")]
    page = world.admin.get(made.headers["location"])
    assert "Saved #" in page.text and "Housing rally" in page.text


@pytest.mark.parametrize(("changes", "field", "says"), [
    ({"venue": "", "postcode": ""}, "venue", "say where it is: a venue, an address or a postcode, or an online link"),
    ({"title": "  "}, "title", "give the event a name"),
    ({"date": "2020-01-01"}, "date", "that time has already passed"),
    ({"date": "someday"}, "date", "give the date"),
    ({"capacity": "lots"}, "capacity", "a whole number from 1"),
    ({"online_url": "zoom on Tuesday"}, "online_url", "web address"),
    ({"hours": "100"}, "hours", "from 0.25 to 48 hours"),
    ({"group": "99999"}, "group", "no local group #99999"),
])
def test_a_form_that_breaks_a_rule_is_a_400_that_keeps_what_was_typed(world: World, changes: dict, field: str,
                                                                       says: str) -> None:
    before = _db(world.service, "SELECT COUNT(*) FROM events")
    typed = _form(title=changes.pop("title", "Typed title kept"), description="Bring a friend", **changes)
    answer = _post(world.admin, "/console/events", **typed)
    assert answer.status_code == 400, answer.text[:300]
    assert says in answer.text
    assert re.search(rf'id="{field}-error"', answer.text), f"the refusal is not beside the {field} field"
    assert "Bring a friend" in answer.text and (typed["title"].strip() == "" or "Typed title kept" in answer.text)
    assert _db(world.service, "SELECT COUNT(*) FROM events") == before


def test_a_local_organiser_cannot_make_a_national_event_or_another_groups(world: World) -> None:
    before = _db(world.service, "SELECT COUNT(*) FROM events")
    for group in ("national", str(world.group["York"])):
        assert _post(world.local, "/console/events", **_form(group=group)).status_code == 403
    assert _db(world.service, "SELECT COUNT(*) FROM events") == before
    assert _post(world.local, "/console/events", **_form(group=str(world.group["Leeds"]))).status_code == 303


def test_an_edit_below_those_going_asks_keep_or_waitlist_and_the_waitlist_is_told(world: World) -> None:
    s = world.service
    event = _event(s, "Phone bank", "Leeds", capacity=10)
    people = [_supporter(s, name, world.group["Leeds"]) for name in ("Ann", "Bea", "Cal")]
    for n, (person, _) in enumerate(people):
        _rsvp(s, event, person, "going", minutes_ago=30 - n)  # Cal said going last
    form = world.local.get(f"/console/events/{event}/edit")
    assert form.status_code == 200 and 'value="Phone bank"' in form.text and 'value="10"' in form.text
    start = datetime(2030, 5, 4, 19, 0)
    values = _form(title="Phone bank (small room)", date=start.date().isoformat(), time="19:00", venue="Civic Hall",
                   postcode="", capacity="2", group=str(world.group["Leeds"]))
    asked = _post(world.local, f"/console/events/{event}/edit", **values)
    assert asked.status_code == 400
    text = _text(asked)
    assert "3 people are already going, more than 2 places" in text
    assert 'value="keep"' in asked.text and 'value="waitlist"' in asked.text
    assert 'value="Phone bank (small room)"' in asked.text  # what was typed is kept
    assert _db(s, "SELECT capacity, title FROM events WHERE id = ?", (event,)) == [(10, "Phone bank")]
    moved = _post(world.local, f"/console/events/{event}/edit", **values, extra="waitlist")
    assert moved.status_code == 303, moved.text
    assert "1 person moved to the top of the waitlist and told" in _text(world.local.get(moved.headers["location"]))
    statuses = dict(_db(s, "SELECT supporter_id, status FROM rsvps WHERE event_id = ?", (event,)))
    assert [statuses[p] for p, _ in people] == ["going", "going", "waitlisted"]
    s.wait_for_message("sms", people[2][1], "top of the waitlist")
    kept = _post(world.local, f"/console/events/{event}/edit", **{**values, "capacity": "1"}, extra="keep")
    assert kept.status_code == 303
    assert _db(s, "SELECT capacity FROM events WHERE id = ?", (event,)) == [(1,)]
    assert "2 /1 going" in _text(world.local.get(f"/console/events/{event}"))  # kept: above the new capacity


def test_publish_then_cancel_with_its_confirmation(world: World) -> None:
    s = world.service
    event = _event(s, "Street stall", "Leeds", publish=False)
    person, _ = _supporter(s, "Dan", world.group["Leeds"])
    page = world.local.get(f"/console/events/{event}")
    assert "Publish" in page.text and "Announce…" not in page.text
    assert _post(world.local, f"/console/events/{event}/publish").status_code == 303
    assert _db(s, "SELECT status FROM events WHERE id = ?", (event,)) == [("confirmed",)]
    _rsvp(s, event, person, "maybe")
    confirm = world.local.get(f"/console/events/{event}/cancel")
    assert confirm.status_code == 200
    assert "Everyone going (0), maybe (1) or on the waitlist (0) is told" in _text(confirm)
    assert _db(s, "SELECT status FROM events WHERE id = ?", (event,)) == [("confirmed",)]  # asking changes nothing
    assert _post(world.local, f"/console/events/{event}/cancel").status_code == 303
    assert _db(s, "SELECT status FROM events WHERE id = ?", (event,)) == [("cancelled",)]
    again = _post(world.local, f"/console/events/{event}/cancel")
    assert again.status_code == 400 and "already cancelled" in again.text
    assert _post(world.local, f"/console/events/{event}/publish").status_code == 400


def test_the_event_page_lists_attendees_with_the_waitlist_in_order(world: World) -> None:
    s = world.service
    event = _event(s, "Full meeting", "Leeds", capacity=1)
    going, _ = _supporter(s, "Eve", world.group["Leeds"])
    first, _ = _supporter(s, "Fay", world.group["Leeds"])
    second, _ = _supporter(s, "Gus", world.group["Leeds"])
    _rsvp(s, event, going, "going", 90)
    _rsvp(s, event, second, "waitlisted", 30)
    _rsvp(s, event, first, "waitlisted", 60)
    text = _text(world.local.get(f"/console/events/{event}"))
    assert text.index("Eve") < text.index("Fay") < text.index("Waitlist, 1") < text.index("Gus") < text.index(
        "Waitlist, 2")
    assert "1 /1 going" in text and "2 on the waitlist" in text
    assert "Attendance can be marked from" in text  # it starts in 2030


def test_walk_ins_attendance_and_the_csv_export(world: World) -> None:
    s = world.service
    event = _event(s, "Door knock", "Leeds", starts_in=timedelta(minutes=-10))
    listed, listed_phone = _supporter(s, "Hana", world.group["Leeds"])
    walk_in, walk_in_phone = _supporter(s, "Hamid", world.group["Leeds"])
    _supporter(s, "Hattie", world.group["York"])  # out of the Leeds organiser's reach
    _rsvp(s, event, listed, "going")
    found = world.local.get(f"/console/events/{event}", params={"find": "Ha"})
    shown = _text(found)
    assert "Hamid" in shown.split("Add a walk-in")[1] and "Hattie" not in shown
    assert "Hana" not in shown.split("Add a walk-in")[1]  # already on the list
    added = _post(world.local, f"/console/events/{event}/attend", supporter_id=str(walk_in), attended="1")
    assert added.status_code == 303
    assert "added as going" in _text(world.local.get(added.headers["location"]))
    marked = _post(world.local, f"/console/events/{event}/attend", supporter_id=str(listed), attended="1")
    assert marked.status_code == 303
    outsider, _ = _supporter(s, "Ivo", world.group["York"])
    assert _post(world.local, f"/console/events/{event}/attend", supporter_id=str(outsider),
                 attended="1").status_code == 404
    assert _post(world.local, f"/console/events/{event}/attend", supporter_id="x", attended="1").status_code == 400
    export = world.local.get(f"/console/events/{event}/attendees.csv")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert export.headers["content-disposition"] == f'attachment; filename="event-{event}-attendees.csv"'
    rows = list(csv.DictReader(io.StringIO(export.text)))
    assert list(rows[0]) == ["supporter_id", "first_name", "phone", "telegram_id", "rsvp", "attended", "updated_at"]
    assert sorted((r["first_name"], r["phone"], r["rsvp"], r["attended"]) for r in rows) == [
        ("Hamid", "'" + walk_in_phone, "going", "yes"), ("Hana", "'" + listed_phone, "going", "yes")]
    assert _db(s, "SELECT front, action, detail FROM audit_log WHERE action = 'event.export' AND target = ?",
               (f"event:{event}",)) == [("web", "event.export", "2 attendees")]
    assert _db(s, "SELECT COUNT(*) FROM audit_log WHERE action = 'event.attend' AND target = ?",
               (f"event:{event}",)) == [(2,)]


def test_attendance_opens_an_hour_before_the_start(world: World) -> None:
    s = world.service
    event = _event(s, "Evening rally", "Leeds", starts_in=timedelta(hours=3))
    person, _ = _supporter(s, "Jo", world.group["Leeds"])
    _rsvp(s, event, person, "going")
    early = _post(world.local, f"/console/events/{event}/attend", supporter_id=str(person), attended="1")
    assert early.status_code == 400
    opens = (datetime.now(UTC) + timedelta(hours=2)).astimezone(LONDON)
    assert f"attendance can be marked from {opens:%a} {opens.day} {opens:%b}" in early.text
    assert "an hour before the start" in early.text
    as_json = world.local.post(f"/console/events/{event}/attend", headers={"accept": "application/json"}, data={
        "csrftoken": csrf(world.local.get("/console/events/new")), "supporter_id": str(person), "attended": "1"})
    assert as_json.status_code == 400 and "an hour before the start" in as_json.json()["error"]
    assert _db(s, "SELECT attended FROM rsvps WHERE event_id = ?", (event,)) == [(None,)]
    page = world.local.get(f"/console/events/{event}/checkin")
    assert "Attendance can be marked from" in page.text and 'class="ci-mark"' not in page.text


def test_check_in_without_javascript_filters_saves_and_comes_back(world: World) -> None:
    s = world.service
    event = _event(s, "Big meeting", "Leeds", starts_in=timedelta(minutes=-5))
    kim, _ = _supporter(s, "Kim", world.group["Leeds"])
    lee, _ = _supporter(s, "Lee", world.group["Leeds"])
    _rsvp(s, event, kim, "going")
    _rsvp(s, event, lee, "going")
    page = world.local.get(f"/console/events/{event}/checkin")
    assert page.status_code == 200 and '<script src="/console/static/checkin.js" defer></script>' in page.text
    assert "0 checked in of 2 going" in _text(page)
    filtered = world.local.get(f"/console/events/{event}/checkin", params={"q": "ki"})
    assert "Kim" in filtered.text and ">Lee<" not in filtered.text
    done = _post(world.local, f"/console/events/{event}/attend", supporter_id=str(kim), attended="1", back="checkin",
                 q="ki")
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/console/events/{event}/checkin?q=ki&done=Checked+in+Kim")
    assert "1 checked in of 2 going" in _text(world.local.get(done.headers["location"]))
    as_json = world.local.post(f"/console/events/{event}/attend", headers={"accept": "application/json"}, data={
        "csrftoken": csrf(page), "supporter_id": str(lee), "attended": "1", "back": "checkin"})
    assert as_json.json() == {"saved": True, "supporter_id": lee, "attended": True, "checked_in": 2, "going": 2}
    undo = _post(world.local, f"/console/events/{event}/attend", supporter_id=str(lee), attended="undo",
                 back="checkin")
    assert undo.status_code == 303 and "Check-in undone for Lee" in _text(world.local.get(undo.headers["location"]))
    assert dict(_db(s, "SELECT supporter_id, attended FROM rsvps WHERE event_id = ?", (event,))) == {
        kim: 1, lee: None}
    assert world.local.get("/static/checkin.js").status_code == 404  # only under /console/static
    assert httpx.get(f"{s.base}/console/static/checkin.js").status_code == 200


def test_another_groups_event_is_out_of_reach_for_every_action(world: World) -> None:
    s = world.service
    event = _event(s, "York only", "York", starts_in=timedelta(minutes=-5))
    person, _ = _supporter(s, "Mo", world.group["York"])
    _rsvp(s, event, person, "going")
    before = _db(s, "SELECT * FROM events WHERE id = ?", (event,)), _db(s, "SELECT * FROM rsvps WHERE event_id = ?",
                                                                        (event,))
    for path in ("", "/edit", "/announce", "/cancel", "/attendees.csv", "/checkin"):
        assert world.local.get(f"/console/events/{event}{path}").status_code == 403, path
    for path, data in (("/edit", _form(group=str(world.group["York"]))), ("/publish", {}), ("/announce", {}),
                       ("/cancel", {}), ("/attend", {"supporter_id": str(person), "attended": "1"})):
        assert _post(world.local, f"/console/events/{event}{path}", **data).status_code == 403, path
    assert (_db(s, "SELECT * FROM events WHERE id = ?", (event,)),
            _db(s, "SELECT * FROM rsvps WHERE event_id = ?", (event,))) == before
    assert _db(s, "SELECT COUNT(*) FROM audit_log WHERE target = ? AND front = 'web'", (f"event:{event}",)) == [(0,)]


@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, datetime]]:
    """A service whose SMS quiet hours began an hour ago and end in two hours, whenever the test runs."""
    service = Sandbox(tmp_path_factory.mktemp("events-quiet"))
    now = datetime.now(LONDON)
    opens = (now + timedelta(hours=2)).replace(second=0, microsecond=0)
    service.env["SMS_QUIET_HOURS"] = f"{now - timedelta(hours=1):%H:%M}-{opens:%H:%M}"
    service.start()
    try:
        yield service, opens
    finally:
        service.stop()


def test_announce_previews_who_per_channel_and_when_sms_goes_then_sends_once(quiet) -> None:
    service, opens = quiet
    service.cli("group", "add", "Hull", "--areas", "HU1")
    hull = _db(service, "SELECT id FROM local_groups WHERE name = 'Hull'")[0][0]
    _, phone = _supporter(service, "Nia", hull)
    _supporter(service, "Oli", hull, telegram=True)
    _db(service, "INSERT INTO telegram_groups (chat_id, group_id, title, linked_at) VALUES "
                 "(-100700, ?, 'Hull chat', '2026-01-01T00:00:00.000000Z')", (hull,))
    event = _event(service, "Hull rally", "Hull")
    client = sign_in(service, service.organiser("organiser", "Hull"))
    preview = client.get(f"/console/events/{event}/announce")
    text = _text(preview)
    assert preview.status_code == 200
    assert "2 supporters (1 by SMS, 1 on Telegram) and 1 group chat" in text
    assert f"SMS waits until {opens:%a} {opens.day} {opens:%b %H:%M %Z} (quiet hours)." in text
    assert _db(service, "SELECT announced_at FROM events WHERE id = ?", (event,)) == [(None,)]
    sent = _post(client, f"/console/events/{event}/announce")
    assert sent.status_code == 303
    flash = _text(client.get(sent.headers["location"]))
    assert "Announcement queued for 2 supporters (1 by SMS, 1 on Telegram) and 1 group chat." in flash
    assert "SMS waits until" in flash
    [(not_before,)] = _db(service, "SELECT not_before FROM outbox WHERE address = ?", (phone,))
    assert not_before.startswith(_stamp(opens)[:16])
    again = _post(client, f"/console/events/{event}/announce")
    assert again.status_code == 400 and "already been announced" in again.text
    assert _db(service, "SELECT COUNT(*) FROM outbox WHERE dedupe_key LIKE ?", (f"announce:{event}:%",)) == [(3,)]


def test_the_title_of_an_event_under_way_can_be_put_right_from_its_own_form(world: World) -> None:
    """The form shows the start to the minute: sent back unchanged, it is the event's own start, not a
    new one (which would be in the past, and a move that tells everyone)."""
    s = world.service
    event = _event(s, "Rally nwo", "Leeds", starts_in=timedelta(minutes=-10, seconds=-17))
    before = _db(s, "SELECT starts_at, ends_at, version FROM events WHERE id = ?", (event,))
    form = world.local.get(f"/console/events/{event}/edit").text
    start = datetime.fromisoformat(before[0][0].replace("Z", "+00:00")).astimezone(LONDON)
    assert f'value="{start:%H:%M}"' in form
    saved = _post(world.local, f"/console/events/{event}/edit", **_form(
        title="Rally now", date=start.date().isoformat(), time=f"{start:%H:%M}", venue="Civic Hall", postcode="",
        group=str(world.group["Leeds"])))
    assert saved.status_code == 303, _text(saved)[:500]
    assert _db(s, "SELECT title, starts_at, ends_at, version FROM events WHERE id = ?", (event,)) == [
        ("Rally now", *before[0])]
