"""The console's broadcasts pages over real HTTP against the real service: the list and its scope,
composing with the audience builder and the live preview, and a broadcast's page (send now,
schedule, discard, cancel, follow up)."""
from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import unescape
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from flows.core.settings import FlowSettings
from flows.organiser import sending
from flows.organiser.access import Actor
from flows.organiser.broadcasts import draft
from storage import open_database
from storage.broadcasts import Audience
from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

SPACED = "St Ann's Well"  # a group name with a space and an apostrophe
BODY = "Hi {first_name}, we're canvassing on Saturday at 10 by the library. Bring a friend!"
STAMP = "2026-01-01T00:00:00.000000Z"
_phones = iter(range(10_000, 99_999))


@dataclass(frozen=True)
class World:
    spaced: int           # SPACED's group id: Siân (UCS-2) and Aisha (GSM-7) by SMS, Tomos on Telegram
    beta: int             # Beta City: Bob by SMS; has its own organiser
    big: int              # Big Town: 1,001 supporters by SMS
    sian: int
    aisha: int
    event: int            # a published event of SPACED, Siân going, Aisha maybe


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _group(service: Sandbox, name: str, area: str) -> int:
    service.cli("group", "add", name, "--areas", area)
    return int(_db(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0])


def _supporter(service: Sandbox, name: str, group: int, *, telegram: int | None = None) -> int:
    phone = None if telegram else f"+447400{next(_phones):06d}"
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute(
            "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
            "last_channel, created_at) VALUES (?, ?, ?, ?, 'active', ?, ?, ?, ?)",
            (phone, telegram, name, group, "none" if telegram else "opted_in", "opted_in" if telegram else "none",
             "telegram" if telegram else "sms", STAMP))
        return int(cur.lastrowid or 0)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, World, dict[str, httpx.Client]]]:
    with sandbox(tmp_path_factory.mktemp("broadcasts")) as service:
        spaced, beta, big = _group(service, SPACED, "LS6"), _group(service, "Beta City", "YO1"), \
            _group(service, "Big Town", "M20")
        sian, aisha = _supporter(service, "Siân", spaced), _supporter(service, "Aisha", spaced)
        _supporter(service, "Tomos", spaced, telegram=5550001)
        _supporter(service, "Bob", beta)
        with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
            conn.executemany(
                "INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, created_at) "
                "VALUES (?, 'Sam', ?, 'active', 'opted_in', 'sms', ?)",
                [(f"+447500{n:06d}", big, STAMP) for n in range(1001)])
            conn.execute("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, 'housing')", (aisha,))
            conn.execute("INSERT INTO telegram_groups (chat_id, group_id, title, linked_by, linked_at, active) "
                         "VALUES (-100777, ?, 'St Ann''s Well chat', NULL, ?, 1)", (spaced, STAMP))
        service.cli("event", "create", "--title", "Canvass", "--when", "tomorrow 10:00", "--venue", "The Library",
                    "--group", SPACED, "--publish")
        event = int(_db(service, "SELECT MAX(id) FROM events")[0][0])
        _db(service, "INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) VALUES "
                     "(?, ?, 'going', ?, ?), (?, ?, 'maybe', ?, ?)",
            (event, sian, STAMP, STAMP, event, aisha, STAMP, STAMP))
        clients = {"admin": sign_in(service, service.organiser("admin")),
                   "beta": sign_in(service, service.organiser("organiser", "Beta City"))}
        yield service, World(spaced, beta, big, sian, aisha, event), clients


def _token(client: httpx.Client) -> str:
    return csrf(client.get("/console/broadcasts/new"))


def _post(client: httpx.Client, path: str, data: dict[str, object]) -> httpx.Response:
    return client.post(path, data={"csrftoken": _token(client), **data})  # type: ignore[dict-item]


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _marked(html: str, marker: str) -> str:
    found = re.search(rf"<[^>]*{marker}[^>]*>(.*?)</", html, re.S)
    assert found, (marker, html[:2000])
    return " ".join(unescape(found.group(1)).split())


def _expected(service: Sandbox, audience: Audience, body: str = BODY, kind: str = "broadcast",
              cta: str | None = None) -> sending.Preview:
    """The same preview computed straight from the operations, on the service's own database."""
    async def work() -> sending.Preview:
        db = await open_database(str(service.workdir / "muster.db"))
        try:
            async with db.transaction() as tx:
                now = datetime.now(UTC)
                b = draft(Actor(trusted=True), now, body=body, audience=audience, kind=kind, cta_text=cta)
                return await sending.preview(tx, b, now, FlowSettings(sms_quiet_hours=""))
        finally:
            await db.close()

    return asyncio.run(work())


def _saved(client: httpx.Client, **form: object) -> int:
    answer = _post(client, "/console/broadcasts/new", {"action": "save", "kind": "broadcast", "body": BODY, **form})
    assert answer.status_code == 303, answer.text
    found = re.match(r"/console/broadcasts/(\d+)\?done=", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


def _count(service: Sandbox) -> int:
    return int(_db(service, "SELECT COUNT(*) FROM broadcasts")[0][0])


def _tomorrow() -> str:
    return (datetime.now(ZoneInfo("Europe/London")) + timedelta(days=1)).date().isoformat()


# -- composing -----------------------------------------------------------------------------------
def test_the_compose_page_offers_the_audience_builder(world) -> None:
    service, w, clients = world
    page = clients["admin"].get("/console/broadcasts/new")
    assert page.status_code == 200
    html = page.text
    assert f'name="groups" value="{w.spaced}"' in html and "St Ann&#39;s Well" in html
    for words in ("{first_name}", "{group}", "Housing", "SMS only", "Telegram only", "every channel",
                  "can&#39;t go", "waitlist", "not answered yet", "St Ann&#39;s Well chat", "Canvass"):
        assert words in html, words
    assert '<script src="/console/static/compose.js" defer></script>' in html
    assert 'data-preview-url="/console/broadcasts/preview"' in html
    assert 'name="kind" value="alert" checked' in clients["admin"].get("/console/broadcasts/new?kind=alert").text


def test_the_live_preview_fragment_shows_the_same_sms_line_as_every_front(world) -> None:
    service, w, clients = world
    answer = _post(clients["admin"], "/console/broadcasts/preview", {"kind": "broadcast", "body": BODY,
                                                                      "groups": str(w.spaced), "channel": "sms"})
    assert answer.status_code == 200, answer.text
    assert "<html" not in answer.text  # a fragment, not a page
    expected = _expected(service, Audience(groups=(w.spaced,), channel="sms"))
    figures = _marked(answer.text, "data-sms-figures")
    assert figures == sending.sms_figures(expected)
    # Siân's text is UCS-2 (two segments), Aisha's GSM-7 (one): three segments at £0.04.
    assert "1 GSM-7 and 1 UCS-2" in figures and "3 segments in all" in figures and "£0.12" in figures, figures
    assert _marked(answer.text, "data-counts").startswith("Recipients: 2 by SMS, 0 on Telegram")
    assert "Tidied for SMS" in answer.text and "we&#39;re" in answer.text  # the straight quote needs no tidying


def test_the_audience_builder_filters_by_channel_interest_event_answer_and_chats(world) -> None:
    service, w, clients = world

    def counts(**form: object) -> str:
        answer = _post(clients["admin"], "/console/broadcasts/preview",
                       {"kind": "broadcast", "body": "Hello {group}", "groups": str(w.spaced), **form})
        assert answer.status_code == 200, answer.text
        return _marked(answer.text, "data-counts")

    assert counts() == "Recipients: 2 by SMS, 1 on Telegram, 0 group chats (3 messages in all)"
    assert counts(channel="telegram") == "Recipients: 0 by SMS, 1 on Telegram, 0 group chats (1 message in all)"
    assert counts(interests="housing").startswith("Recipients: 1 by SMS, 0 on Telegram")
    assert counts(event_id=str(w.event), rsvp="going").startswith("Recipients: 1 by SMS")
    assert counts(event_id=str(w.event), rsvp=["going", "maybe"]).startswith("Recipients: 2 by SMS")
    assert counts(event_id=str(w.event)).startswith("Recipients: 2 by SMS")  # any RSVP
    assert counts(chats="yes") == "Recipients: 2 by SMS, 1 on Telegram, 1 group chat (4 messages in all)"


def test_what_draft_refuses_is_shown_in_place(world) -> None:
    service, w, clients = world
    before = _count(service)
    # An unfinished draft is a preview's ordinary answer (200), not a failed request, while typing.
    bad = _post(clients["admin"], "/console/broadcasts/preview", {"kind": "broadcast", "body": "Hi {name}"})
    assert bad.status_code == 200 and "{name}" in unescape(_marked(bad.text, "data-problem"))
    alert = _post(clients["admin"], "/console/broadcasts/preview", {"kind": "alert", "body": "Register today"})
    assert alert.status_code == 200 and "needs a call to action" in _marked(alert.text, "data-problem")
    saved = _post(clients["admin"], "/console/broadcasts/new", {"action": "save", "kind": "alert",
                                                                "body": "Register today"})
    assert saved.status_code == 400 and "needs a call to action" in _text(saved.text)
    empty = _post(clients["admin"], "/console/broadcasts/preview", {"kind": "broadcast", "body": "  "})
    assert empty.status_code == 200 and "Write the message" in empty.text
    assert _count(service) == before


def test_the_preview_button_without_javascript_renders_the_whole_page_and_saves_nothing(world) -> None:
    service, w, clients = world
    before = _count(service)
    page = _post(clients["admin"], "/console/broadcasts/new", {"action": "preview", "kind": "broadcast", "body": BODY,
                                                              "groups": str(w.spaced), "channel": "sms"})
    assert page.status_code == 200 and "<html" in page.text
    assert _marked(page.text, "data-sms-figures") == sending.sms_figures(
        _expected(service, Audience(groups=(w.spaced,), channel="sms")))
    assert f'name="groups" value="{w.spaced}" checked' in page.text and 'value="sms" checked' in page.text
    assert _count(service) == before


def test_a_400_keeps_what_was_typed(world) -> None:
    service, w, clients = world
    before = _count(service)
    page = _post(clients["admin"], "/console/broadcasts/new", {
        "action": "save", "kind": "alert", "body": "Register to vote, {first_name}", "cta_text": "Register now",
        "cta_link": "www.gov.uk/register", "groups": str(w.spaced), "interests": "housing", "every": "every"})
    assert page.status_code == 400
    assert "The link must start with https://" in _text(page.text)
    for kept in ("Register to vote, {first_name}</textarea>", 'value="Register now"', 'value="www.gov.uk/register"',
                 f'name="groups" value="{w.spaced}" checked', 'value="housing" checked', 'value="every" checked',
                 'name="kind" value="alert" checked'):
        assert kept in page.text, kept
    late = _post(clients["admin"], "/console/broadcasts/new", {
        "action": "save", "kind": "alert", "body": "Register", "cta_text": "Register", "deadline_date": "2020-01-01",
        "deadline_time": "18:00"})
    assert late.status_code == 400 and "Deadline:" in _text(late.text) and 'value="2020-01-01"' in late.text
    assert _count(service) == before


def test_save_draft_goes_to_its_page_with_the_preview(world) -> None:
    service, w, clients = world
    answer = _post(clients["admin"], "/console/broadcasts/new", {"action": "save", "kind": "broadcast", "body": BODY,
                                                                "groups": str(w.spaced), "channel": "sms"})
    assert answer.status_code == 303
    page = clients["admin"].get(answer.headers["location"])
    assert page.status_code == 200
    text = _text(page.text)
    bid = int(re.findall(r"Broadcast #(\d+) draft", text)[0])
    assert f"Draft #{bid} saved. Nothing is sent until you send or schedule it." in text  # the flash
    assert "To St Ann's Well · SMS only" in text
    assert _marked(page.text, "data-sms-figures") == sending.sms_figures(
        _expected(service, Audience(groups=(w.spaced,), channel="sms")))
    for button in ("Send now (2 messages)", "Schedule", "Discard the draft"):
        assert button in text, button
    assert "type the number" not in text  # 2 messages: no count to type
    audited = _db(service, "SELECT action FROM audit_log WHERE target = ?", (f"broadcast:{bid}",))
    assert ("broadcast.compose",) in audited


# -- the list ---------------------------------------------------------------------------------------
def test_the_list_shows_kind_status_audience_and_is_scoped(world) -> None:
    service, w, clients = world
    mine = _saved(clients["beta"], body="Beta news")
    theirs = _saved(clients["admin"], groups=str(w.spaced))
    national = _saved(clients["admin"], body="To everyone")
    seen = clients["beta"].get("/console/broadcasts")
    assert seen.status_code == 200
    assert f"/console/broadcasts/{mine}\"" in seen.text
    assert f"/console/broadcasts/{theirs}\"" not in seen.text and f"/console/broadcasts/{national}\"" not in seen.text
    assert "To: Beta City" in _text(seen.text)
    everything = _text(clients["admin"].get("/console/broadcasts").text)
    assert f"Broadcast #{national} draft" in everything and "To: Everyone" in everything
    assert "To: St Ann's Well" in everything
    assert clients["beta"].get(f"/console/broadcasts/{theirs}").status_code == 403
    assert clients["beta"].get(f"/console/broadcasts/{national}").status_code == 403
    assert clients["beta"].get("/console/broadcasts/999999").status_code == 404
    offered = clients["beta"].get("/console/broadcasts/new").text
    assert f'value="{w.beta}"' in offered and f'name="groups" value="{w.spaced}"' not in offered


def test_a_local_organiser_cannot_preview_or_save_beyond_their_groups(world) -> None:
    service, w, clients = world
    before = _count(service)
    fragment = _post(clients["beta"], "/console/broadcasts/preview",
                     {"kind": "broadcast", "body": "Hi", "groups": str(w.spaced)})
    assert fragment.status_code == 403 and "only message your own local groups" in fragment.text
    saved = _post(clients["beta"], "/console/broadcasts/new",
                  {"action": "save", "kind": "broadcast", "body": "Hi", "groups": str(w.spaced)})
    assert saved.status_code == 403
    event = _post(clients["beta"], "/console/broadcasts/preview",
                  {"kind": "broadcast", "body": "Hi", "event_id": str(w.event)})
    assert event.status_code == 403 and "another local group" in event.text
    assert _count(service) == before


def test_the_list_pages_by_id_and_filters_by_status(world) -> None:
    service, w, clients = world
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        conn.executemany("INSERT INTO broadcasts (kind, body, audience, created_by, scope_groups, created_at) "
                         "VALUES ('broadcast', ?, ?, 'cli', ?, ?)",
                         [(f"Paged {n}", f'{{"groups": [{w.beta}]}}', f"[{w.beta}]", STAMP) for n in range(30)])
    first = clients["beta"].get("/console/broadcasts?show=draft")
    ids = [int(i) for i in re.findall(r'class="bc-title" href="/console/broadcasts/(\d+)"', first.text)]
    assert len(ids) == 25 and ids == sorted(ids, reverse=True)
    older = re.search(r'rel="next" href="([^"]+)"', first.text)
    assert older, "no link to older broadcasts"
    second = clients["beta"].get(unescape(older.group(1)))
    rest = [int(i) for i in re.findall(r'class="bc-title" href="/console/broadcasts/(\d+)"', second.text)]
    assert rest and max(rest) < min(ids) and not set(rest) & set(ids)
    assert "show=draft" in older.group(1)
    tabs = _text(first.text)
    assert re.search(r"Drafts \d+", tabs) and "Scheduled 0" in tabs


# -- a broadcast's page: send, schedule, cancel, discard, follow up ----------------------------------
def test_above_a_thousand_the_count_must_be_typed(world) -> None:
    service, w, clients = world
    bid = _saved(clients["admin"], body="Big news", groups=str(w.big))
    page = clients["admin"].get(f"/console/broadcasts/{bid}")
    assert "To confirm, type the number of messages: 1,001" in _text(page.text)
    refused = _post(clients["admin"], f"/console/broadcasts/{bid}/send", {"typed": "1000"})
    assert refused.status_code == 400
    assert "This goes to 1,001 people: type 1001 to confirm." in _text(refused.text)
    assert 'value="1000"' in refused.text  # what was typed stays
    assert _db(service, "SELECT status FROM broadcasts WHERE id = ?", (bid,))[0][0] == "draft"
    done = _post(clients["admin"], f"/console/broadcasts/{bid}/schedule",
                 {"date": _tomorrow(), "time": "18:00", "repeat": "none", "typed": "1,001"})
    assert done.status_code == 303, done.text
    assert _db(service, "SELECT status FROM broadcasts WHERE id = ?", (bid,))[0][0] == "scheduled"
    assert not _db(service, "SELECT 1 FROM outbox WHERE broadcast_id = ?", (bid,))
    _post(clients["admin"], f"/console/broadcasts/{bid}/cancel", {})


def test_schedule_repeating_shows_in_the_list_then_cancel(world) -> None:
    service, w, clients = world
    bid = _saved(clients["beta"], body="Weekly reminder")
    no_time = _post(clients["beta"], f"/console/broadcasts/{bid}/schedule", {"date": _tomorrow(), "repeat": "weekly"})
    assert no_time.status_code == 400 and "Give the date and the time" in _text(no_time.text)
    assert 'value="weekly" checked' in no_time.text
    past = _post(clients["beta"], f"/console/broadcasts/{bid}/schedule", {"date": "2020-01-01", "time": "18:00"})
    assert past.status_code == 400 and "already passed" in _text(past.text)
    done = _post(clients["beta"], f"/console/broadcasts/{bid}/schedule",
                 {"date": _tomorrow(), "time": "18:30", "repeat": "weekly"})
    assert done.status_code == 303
    flash = _text(clients["beta"].get(done.headers["location"]).text)
    assert "is scheduled for" in flash and "18:30" in flash and "then every week at that time" in flash
    listed = _text(clients["beta"].get("/console/broadcasts?show=scheduled").text)
    assert f"Broadcast #{bid} scheduled" in listed and "18:30" in listed and "then every week" in listed
    row = _db(service, "SELECT status, repeat, send_at FROM broadcasts WHERE id = ?", (bid,))[0]
    assert row[:2] == ("scheduled", "weekly")
    page = _text(clients["beta"].get(f"/console/broadcasts/{bid}").text)
    assert "Cancel" in page and "Send now" not in page
    cancelled = _post(clients["beta"], f"/console/broadcasts/{bid}/cancel", {})
    assert cancelled.status_code == 303
    assert _db(service, "SELECT status FROM broadcasts WHERE id = ?", (bid,))[0][0] == "cancelled"
    again = _post(clients["beta"], f"/console/broadcasts/{bid}/cancel", {})
    assert again.status_code == 400 and "nothing left to cancel" in _text(again.text)
    actions = [r[0] for r in _db(service, "SELECT action FROM audit_log WHERE target = ?", (f"broadcast:{bid}",))]
    assert "broadcast.schedule" in actions and "broadcast.cancel" in actions


def test_discard_a_draft(world) -> None:
    service, w, clients = world
    bid = _saved(clients["beta"], body="Not this one")
    done = _post(clients["beta"], f"/console/broadcasts/{bid}/discard", {})
    assert done.status_code == 303 and done.headers["location"].startswith("/console/broadcasts?done=")
    listed = _text(clients["beta"].get("/console/broadcasts?show=cancelled").text)
    assert f"Broadcast #{bid} discarded" in listed
    again = _post(clients["beta"], f"/console/broadcasts/{bid}/send", {})
    assert again.status_code == 400 and "already cancelled" in _text(again.text)


def _wait_status(service: Sandbox, bid: int, status: str) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if _db(service, "SELECT status FROM broadcasts WHERE id = ?", (bid,))[0][0] == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"broadcast {bid} never became {status}")


def test_send_an_alert_now_then_follow_up_and_refuse_when_everyone_answered(world) -> None:
    service, w, clients = world
    admin = clients["admin"]
    bid = _saved(admin, kind="alert", body="Register to vote, {first_name}", cta_text="Register",
                 cta_link="https://www.gov.uk/register-to-vote", groups=str(w.spaced), channel="sms")
    page = _text(admin.get(f"/console/broadcasts/{bid}").text)
    assert f"Action alert #{bid} draft" in page
    assert "Call to action Register https://www.gov.uk/register-to-vote" in page
    assert "Urgent" not in page  # no quiet hours in this deployment: nothing to be urgent about
    sent = _post(admin, f"/console/broadcasts/{bid}/send", {})
    assert sent.status_code == 303
    shown = _text(admin.get(sent.headers["location"]).text)
    assert f"Action alert #{bid} is on its way: 2 messages queued." in shown
    assert f'href="/console/broadcasts/{bid}/report"' in admin.get(f"/console/broadcasts/{bid}").text
    _wait_status(service, bid, "sent")
    page = admin.get(f"/console/broadcasts/{bid}").text
    assert "Follow up those who have not answered" in page and "Send now" not in page

    followed = _post(admin, f"/console/broadcasts/{bid}/followup", {})
    assert followed.status_code == 303
    new = int(re.match(r"/console/broadcasts/(\d+)", followed.headers["location"]).group(1))  # type: ignore[union-attr]
    draft_page = _text(admin.get(followed.headers["location"]).text)
    assert f"Action alert #{new} draft" in draft_page and f"not answered yet to action alert #{bid}" in draft_page
    assert "Recipients: 2 by SMS" in draft_page

    for supporter in (w.sian, w.aisha):
        _db(service, "INSERT INTO alert_responses (broadcast_id, supporter_id, response, at) VALUES (?, ?, 'done', ?)",
            (bid, supporter, STAMP))
    before = _count(service)
    refused = _post(admin, f"/console/broadcasts/{bid}/followup", {})
    assert refused.status_code == 400
    assert "there is no one to follow up" in _text(refused.text)
    assert _count(service) == before


def test_followup_of_a_broadcast_that_is_no_alert_is_refused(world) -> None:
    service, w, clients = world
    bid = _saved(clients["beta"], body="Plain news")
    before = _count(service)
    refused = _post(clients["beta"], f"/console/broadcasts/{bid}/followup", {})
    assert refused.status_code == 400 and "is not an action alert" in _text(refused.text)
    assert _count(service) == before


def test_urgent_is_for_admins_on_alerts(world) -> None:
    service, w, clients = world
    bid = _saved(clients["beta"], kind="alert", body="Come now", cta_text="Come")
    refused = _post(clients["beta"], f"/console/broadcasts/{bid}/send", {"urgent": "yes"})
    assert refused.status_code == 400 and "Only an admin can mark an action alert urgent." in _text(refused.text)
    assert _db(service, "SELECT status FROM broadcasts WHERE id = ?", (bid,))[0][0] == "draft"


# -- a deployment with quiet hours all day -----------------------------------------------------------
@pytest.fixture(scope="module")
def quiet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, int, dict[str, httpx.Client]]]:
    workdir: Path = tmp_path_factory.mktemp("quiet")
    service = Sandbox(workdir)
    service.env["SMS_QUIET_HOURS"] = "00:00-23:59"
    service.start()
    try:
        group = _group(service, "Quiet Town", "LS1")
        _supporter(service, "Dai", group)
        yield service, group, {"admin": sign_in(service, service.organiser("admin")),
                               "local": sign_in(service, service.organiser("organiser", "Quiet Town"))}
    finally:
        service.stop()


def test_quiet_hours_say_when_sms_waits_and_only_admins_may_send_an_alert_urgently(quiet) -> None:
    service, group, clients = quiet
    fragment = _post(clients["admin"], "/console/broadcasts/preview",
                     {"kind": "broadcast", "body": "Hello", "groups": str(group)})
    assert "Quiet hours: SMS waits until" in _text(fragment.text) and "23:59" in _text(fragment.text)
    alert = _saved(clients["admin"], kind="alert", body="Come now", cta_text="Come", groups=str(group))
    page = _text(clients["admin"].get(f"/console/broadcasts/{alert}").text)
    assert "Urgent: send the SMS during quiet hours too" in page and "may wake people" in page
    assert "Urgent" not in _text(clients["local"].get(f"/console/broadcasts/{alert}").text)
    plain = _saved(clients["admin"], body="Hello", groups=str(group))
    assert "Urgent" not in _text(clients["admin"].get(f"/console/broadcasts/{plain}").text)
    sent = _post(clients["admin"], f"/console/broadcasts/{alert}/send", {"urgent": "yes"})
    assert sent.status_code == 303
    assert _db(service, "SELECT urgent, status FROM broadcasts WHERE id = ?", (alert,))[0][0] == 1


def test_nonsense_in_the_form_or_the_address_is_a_clear_answer_never_a_crash(world) -> None:
    service, w, clients = world
    admin = clients["admin"]
    odd = _post(admin, "/console/broadcasts/new", {"action": "save", "kind": "poster", "body": "Hi",
                                                   "groups": "9" * 30, "channel": "fax"})
    assert odd.status_code == 400 and "Choose the local groups from the list." in _text(odd.text)
    channel = _post(admin, "/console/broadcasts/preview", {"kind": "broadcast", "body": "Hi", "channel": "fax"})
    assert channel.status_code == 200 and "Choose any channel" in channel.text
    event = _post(admin, "/console/broadcasts/preview", {"kind": "broadcast", "body": "Hi", "event_id": "999999"})
    assert "There is no event #999999." in _text(event.text)
    alert = _post(admin, "/console/broadcasts/preview", {"kind": "broadcast", "body": "Hi", "alert_id": "999999"})
    assert "There is no action alert #999999 that has been sent." in _text(alert.text)
    assert admin.get("/console/broadcasts/" + "9" * 30).status_code == 404
    assert _post(admin, "/console/broadcasts/" + "9" * 30 + "/send", {}).status_code == 404
    assert admin.get("/console/broadcasts?show=nothing&before=abc").status_code == 200
