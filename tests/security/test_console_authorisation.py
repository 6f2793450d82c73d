"""The console's authorisation matrix: every route and action × who is asking, over real HTTP.

Who: someone signed out (a supporter has no console account), an organiser of group A acting on
group B's people and items, the same organiser on their own group A, a national organiser (no
group) and an admin. A refused cell answers 403 or 404 and changes nothing; an allowed cell is
let through (its answer may still be a 400 for a form that makes no sense twice, never a refusal).
Every console route must have a row: a new route without one fails `test_every_route_has_a_row`.
"""
from __future__ import annotations

import hashlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.config import Settings
from bot.web.console import AREAS
from bot.web.console.base import Console
from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

WHO = ("signed_out", "organiser_a_on_b", "organiser_a_on_a", "national", "admin")
PUBLIC = {("GET", "/login"), ("POST", "/login"), ("POST", "/login/code"), ("GET", "/login/{token}"),
          ("POST", "/login/{token}"), ("POST", "/logout")}


@dataclass(frozen=True)
class World:
    group: dict[str, int]       # side ("a" or "b") → group id
    supporter: dict[str, int]   # side → a supporter of that group
    item: dict[str, int]        # side → an open inbox item of that supporter
    role: dict[str, int]        # side → an organiser role of that group (not the one signed in)
    session: dict[str, int]     # side → a session of that role
    event: dict[str, int]       # side → a published event of that group, starting tomorrow
    broadcast: dict[str, int]   # side → a draft broadcast to that group


@dataclass(frozen=True)
class Row:
    """A route: how to call it on a side's objects, and who may. `rule` is one of
    'everyone' (every organiser; lists are checked for scope separately), 'scoped' (the object's
    group decides), 'national' (national organisers and admins), 'admin' (admins only)."""
    method: str
    path: Callable[[World, str], str]
    rule: str
    form: Callable[[World, str], dict[str, str]] = lambda w, side: {}


def _side(who: str) -> str:
    return "a" if who == "organiser_a_on_a" else "b"


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/"): Row("GET", lambda w, s: "/console/", "everyone"),
    ("GET", "/supporters"): Row("GET", lambda w, s: "/console/supporters", "everyone"),
    ("GET", "/supporters/{supporter_id:int}"): Row("GET", lambda w, s: f"/console/supporters/{w.supporter[s]}",
                                                   "scoped"),
    ("POST", "/supporters/{supporter_id:int}/group"): Row(
        "POST", lambda w, s: f"/console/supporters/{w.supporter[s]}/group", "scoped",
        lambda w, s: {"group": str(w.group[s])}),
    ("POST", "/supporters/{supporter_id:int}/interests"): Row(
        "POST", lambda w, s: f"/console/supporters/{w.supporter[s]}/interests", "scoped",
        lambda w, s: {"interest": "housing", "action": "add"}),
    ("POST", "/supporters/{supporter_id:int}/opt-out"): Row(
        "POST", lambda w, s: f"/console/supporters/{w.supporter[s]}/opt-out", "scoped",
        lambda w, s: {"channel": "sms", "reason": "asked us on the phone"}),
    ("POST", "/supporters/{supporter_id:int}/language"): Row(
        "POST", lambda w, s: f"/console/supporters/{w.supporter[s]}/language", "scoped",
        lambda w, s: {"language": "cy"}),
    ("POST", "/language"): Row("POST", lambda w, s: "/console/language", "everyone",
                               lambda w, s: {"lang": "cy", "next": "/console/"}),
    ("GET", "/inbox"): Row("GET", lambda w, s: "/console/inbox", "everyone"),
    ("GET", "/inbox/{item_id}"): Row("GET", lambda w, s: f"/console/inbox/{w.item[s]}", "scoped"),
    ("POST", "/inbox/{item_id}/answer"): Row("POST", lambda w, s: f"/console/inbox/{w.item[s]}/answer", "scoped",
                                             lambda w, s: {"answer": "Thanks, we will call you."}),
    ("POST", "/inbox/{item_id}/done"): Row("POST", lambda w, s: f"/console/inbox/{w.item[s]}/done", "scoped"),
    ("GET", "/groups"): Row("GET", lambda w, s: "/console/groups", "everyone"),
    ("POST", "/groups"): Row("POST", lambda w, s: "/console/groups", "admin",
                             lambda w, s: {"name": f"New {s} {datetime.now(UTC).timestamp()}", "areas": ""}),
    ("GET", "/groups/{group_id:int}"): Row("GET", lambda w, s: f"/console/groups/{w.group[s]}", "scoped"),
    ("POST", "/groups/{group_id:int}"): Row("POST", lambda w, s: f"/console/groups/{w.group[s]}", "admin",
                                            lambda w, s: {"name": f"Group {s}", "areas": ""}),
    ("GET", "/organisers"): Row("GET", lambda w, s: "/console/organisers", "admin"),
    ("POST", "/organisers"): Row("POST", lambda w, s: "/console/organisers", "admin",
                                 lambda w, s: {"identity": "07700 900950", "role": "organiser",
                                               "scope": str(w.group[s])}),
    ("GET", "/organisers/{role_id:int}"): Row("GET", lambda w, s: f"/console/organisers/{w.role[s]}", "admin"),
    ("POST", "/organisers/{role_id:int}"): Row("POST", lambda w, s: f"/console/organisers/{w.role[s]}", "admin",
                                               lambda w, s: {"role": "organiser", "scope": str(w.group[s])}),
    ("POST", "/organisers/{role_id:int}/sessions/{session_id:int}/end"): Row(
        "POST", lambda w, s: f"/console/organisers/{w.role[s]}/sessions/{w.session[s]}/end", "admin"),
    ("POST", "/organisers/{role_id:int}/remove"): Row(
        "POST", lambda w, s: f"/console/organisers/{w.role[s]}/remove", "admin"),
    ("GET", "/audit"): Row("GET", lambda w, s: "/console/audit", "admin"),
    # Events (bot/web/console/events.py). Cancel comes last: the events stay published until then.
    ("GET", "/events"): Row("GET", lambda w, s: "/console/events", "everyone"),
    ("GET", "/events/new"): Row("GET", lambda w, s: "/console/events/new", "everyone"),
    ("POST", "/events"): Row("POST", lambda w, s: "/console/events", "scoped", lambda w, s: _event_form(w, s)),
    ("GET", "/events/{event_id:int}"): Row("GET", lambda w, s: f"/console/events/{w.event[s]}", "scoped"),
    ("GET", "/events/{event_id:int}/edit"): Row("GET", lambda w, s: f"/console/events/{w.event[s]}/edit", "scoped"),
    ("POST", "/events/{event_id:int}/edit"): Row("POST", lambda w, s: f"/console/events/{w.event[s]}/edit", "scoped",
                                                 lambda w, s: _event_form(w, s, title=f"Meeting {s}")),
    ("POST", "/events/{event_id:int}/publish"): Row(
        "POST", lambda w, s: f"/console/events/{w.event[s]}/publish", "scoped"),
    ("GET", "/events/{event_id:int}/announce"): Row(
        "GET", lambda w, s: f"/console/events/{w.event[s]}/announce", "scoped"),
    ("POST", "/events/{event_id:int}/announce"): Row(
        "POST", lambda w, s: f"/console/events/{w.event[s]}/announce", "scoped"),
    ("GET", "/events/{event_id:int}/attendees.csv"): Row(
        "GET", lambda w, s: f"/console/events/{w.event[s]}/attendees.csv", "scoped"),
    ("GET", "/events/{event_id:int}/poster.pdf"): Row(
        "GET", lambda w, s: f"/console/events/{w.event[s]}/poster.pdf?size=A5", "scoped"),
    ("GET", "/events/{event_id:int}/checkin"): Row(
        "GET", lambda w, s: f"/console/events/{w.event[s]}/checkin", "scoped"),
    ("POST", "/events/{event_id:int}/attend"): Row(
        "POST", lambda w, s: f"/console/events/{w.event[s]}/attend", "scoped",
        lambda w, s: {"supporter_id": str(w.supporter[s]), "attended": "1"}),
    ("GET", "/events/{event_id:int}/cancel"): Row("GET", lambda w, s: f"/console/events/{w.event[s]}/cancel", "scoped"),
    ("POST", "/events/{event_id:int}/cancel"): Row(
        "POST", lambda w, s: f"/console/events/{w.event[s]}/cancel", "scoped"),
    ("GET", "/broadcasts/{broadcast_id:int}/report"): Row(
        "GET", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/report", "scoped"),
    ("GET", "/broadcasts/{broadcast_id:int}/report/progress"): Row(
        "GET", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/report/progress", "scoped"),
    ("GET", "/broadcasts/{broadcast_id:int}/report/recipients"): Row(
        "GET", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/report/recipients?status=failed", "scoped"),
    ("GET", "/broadcasts/{broadcast_id:int}/report/resend-unknown"): Row(
        "GET", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/report/resend-unknown", "scoped"),
    ("POST", "/broadcasts/{broadcast_id:int}/report/resend-unknown"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/report/resend-unknown", "scoped"),
    # Broadcasts (bot/web/console/broadcasts.py): the drafts are sent first, so the later actions meet a
    # started broadcast (a 400 for schedule and discard) and cancel stops it.
    ("GET", "/broadcasts"): Row("GET", lambda w, s: "/console/broadcasts", "everyone"),
    ("GET", "/broadcasts/new"): Row("GET", lambda w, s: "/console/broadcasts/new", "everyone"),
    ("POST", "/broadcasts/new"): Row("POST", lambda w, s: "/console/broadcasts/new", "scoped",
                                     lambda w, s: {"action": "save", "kind": "broadcast", "body": f"Draft {s}",
                                                   "groups": str(w.group[s])}),
    ("POST", "/broadcasts/preview"): Row("POST", lambda w, s: "/console/broadcasts/preview", "scoped",
                                         lambda w, s: {"kind": "broadcast", "body": f"Hi {s}",
                                                       "groups": str(w.group[s])}),
    ("GET", "/broadcasts/{broadcast_id:int}"): Row("GET", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}",
                                                   "scoped"),
    ("POST", "/broadcasts/{broadcast_id:int}/send"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/send", "scoped"),
    ("POST", "/broadcasts/{broadcast_id:int}/schedule"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/schedule", "scoped",
        lambda w, s: {"date": (datetime.now(UTC) + timedelta(days=1)).date().isoformat(), "time": "18:00",
                      "repeat": "none"}),
    ("POST", "/broadcasts/{broadcast_id:int}/discard"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/discard", "scoped"),
    ("POST", "/broadcasts/{broadcast_id:int}/followup"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/followup", "scoped"),
    ("POST", "/broadcasts/{broadcast_id:int}/cancel"): Row(
        "POST", lambda w, s: f"/console/broadcasts/{w.broadcast[s]}/cancel", "scoped"),
    # Import and export (bot/web/console/transfers.py): importing is for national organisers and admins (an
    # upload no one holds is 410 Gone to them); exports are every organiser's, within their scope
    # (tests/web/test_console_transfers.py reads what a local organiser's file holds).
    ("GET", "/import"): Row("GET", lambda w, s: "/console/import", "national"),
    ("POST", "/import"): Row("POST", lambda w, s: "/console/import", "national", lambda w, s: {"kind": "supporters"}),
    ("GET", "/import/{token}"): Row("GET", lambda w, s: "/console/import/no-such-upload", "national"),
    ("POST", "/import/{token}/check"): Row("POST", lambda w, s: "/console/import/no-such-upload/check", "national"),
    ("POST", "/import/{token}/run"): Row("POST", lambda w, s: "/console/import/no-such-upload/run", "national"),
    ("GET", "/import/{token}/progress"): Row("GET", lambda w, s: "/console/import/no-such-upload/progress",
                                             "national"),
    ("GET", "/import/{token}/refused.csv"): Row("GET", lambda w, s: "/console/import/no-such-upload/refused.csv",
                                                "national"),
    ("POST", "/import/{token}/discard"): Row("POST", lambda w, s: "/console/import/no-such-upload/discard",
                                             "national"),
    ("GET", "/export"): Row("GET", lambda w, s: "/console/export", "everyone"),
    ("GET", "/export/{kind}.csv"): Row("GET", lambda w, s: "/console/export/supporters.csv", "everyone"),
}


def _event_form(w: World, side: str, title: str = "New meeting") -> dict[str, str]:
    """The events form, filled in for that side's group, starting tomorrow."""
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    return {"title": title, "date": tomorrow, "time": "19:00", "hours": "2", "venue": "The Hall", "address": "",
            "postcode": "", "address_public": "1", "online_url": "", "capacity": "", "group": str(w.group[side]),
            "description": "", "instructions": ""}


def allowed(rule: str, who: str) -> bool:
    if who == "signed_out":
        return False
    if rule == "everyone":
        return True
    if rule == "admin":
        return who == "admin"
    if rule == "national":
        return who in ("national", "admin")
    return who != "organiser_a_on_b"


def console_routes() -> set[tuple[str, str]]:
    console = Console(lambda: None, lambda: datetime.now(UTC), Settings(), lambda: None)
    return {(method, route.path) for area in AREAS for route in area.routes(console)
            for method in (getattr(route, "methods", None) or set()) - {"HEAD"}}


def test_every_route_has_a_row() -> None:
    assert console_routes() == set(ROWS) | PUBLIC, "add a row to ROWS for each new console route"


# -- the world: two groups, their people, items and organisers ----------------------------------------
def _sql(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _seed(service: Sandbox) -> World:
    group, supporter, item, role, session, event, broadcast = {}, {}, {}, {}, {}, {}, {}
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for side, name, area in (("a", "Alpha Town", "LS6"), ("b", "Beta City", "YO1")):
        service.cli("group", "add", name, "--areas", area)
        group[side] = _sql(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0]
        phone = f"+44740011{ord(side):04d}"
        _sql(service, "INSERT INTO supporters (phone, first_name, group_id, status, sms_consent, last_channel, "
                      "created_at) VALUES (?, ?, ?, 'active', 'opted_in', 'sms', ?)",
             (phone, f"Member{side.upper()}", group[side], stamp))
        supporter[side] = _sql(service, "SELECT id FROM supporters WHERE phone = ?", (phone,))[0][0]
        _sql(service, "INSERT INTO inbox_items (supporter_id, channel, text, received_at, status) "
                      "VALUES (?, 'sms', ?, ?, 'open')", (supporter[side], f"question from {side}", stamp))
        item[side] = _sql(service, "SELECT MAX(id) FROM inbox_items")[0][0]
        other = service.organiser("organiser", name)
        role[side] = _sql(service, "SELECT id FROM organisers WHERE phone = ?", (other,))[0][0]
        sign_in(service, other)
        session[side] = _sql(service, "SELECT MAX(id) FROM console_sessions WHERE address = ?", (other,))[0][0]
        service.cli("event", "create", "--title", f"Meeting {side}", "--when", "tomorrow 19:00", "--venue",
                    "The Hall", "--group", name, "--publish")
        event[side] = _sql(service, "SELECT MAX(id) FROM events")[0][0]
        _sql(service, "INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                      "VALUES (?, ?, 'going', ?, ?)", (event[side], supporter[side], stamp, stamp))
        service.cli("broadcast", "create", "--body", f"Hello {side}", "--audience", f"group:{group[side]}")
        broadcast[side] = _sql(service, "SELECT MAX(id) FROM broadcasts")[0][0]
    return World(group, supporter, item, role, session, event, broadcast)


SWEEPS_OWN = {"noticed_version", "cancel_noticed"}


def _columns(service: Sandbox, table: str) -> set[str]:
    return {row[1] for row in _sql(service, f"PRAGMA table_info({table})")}


def fingerprint(service: Sandbox) -> dict[str, str]:
    """What any action could change, except the asker's own session's last_seen_at. Taken once the
    service is quiet: a broadcast an earlier cell sent goes on sending (and is marked sent) in the
    background, which is no refused request's doing."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _sql(
            service, "SELECT (SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending') AND not_before <= ?)"
                     " + (SELECT COUNT(*) FROM broadcasts WHERE status = 'sending')",
            (datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),))[0][0]:
        time.sleep(0.05)
    parts = {sql.split(" FROM ")[1].split()[0]: sql for sql in (
        "SELECT id, group_id, sms_consent, telegram_consent FROM supporters ORDER BY id",
        "SELECT supporter_id, interest FROM supporter_interests ORDER BY 1, 2",
        "SELECT id, status FROM inbox_items ORDER BY id",
        "SELECT id, role, group_id FROM organisers ORDER BY id",
        "SELECT id, name FROM local_groups ORDER BY id",
        "SELECT area, group_id FROM group_areas ORDER BY area",
        "SELECT COUNT(*) FROM consent_log",
        "SELECT COUNT(*) FROM outbox",
        "SELECT id, ended_at FROM console_sessions ORDER BY id",
        # Not the notices sweep's own record (noticed_version, cancel_noticed): it runs every 30 s and
        # marks an event changed by an earlier cell as noticed, whatever request is being made then.
        f"SELECT {', '.join(sorted(_columns(service, 'events') - SWEEPS_OWN))} FROM events ORDER BY id",
        "SELECT * FROM rsvps ORDER BY event_id, supporter_id",
        "SELECT id, status, send_at, repeat, urgent FROM broadcasts ORDER BY id",
    )}
    # By table, so that a failure says what changed.
    return {table: hashlib.sha256(repr(_sql(service, sql)).encode()).hexdigest()[:12] for table, sql in parts.items()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, World, dict[str, httpx.Client]]]:
    with sandbox(tmp_path_factory.mktemp("authz")) as service:
        w = _seed(service)
        a_organiser = service.organiser("organiser", "Alpha Town")
        clients = {"organiser": sign_in(service, a_organiser),
                   "national": sign_in(service, service.organiser("organiser")),
                   "admin": sign_in(service, service.organiser("admin"))}
        yield service, w, clients


def _client(clients: dict[str, httpx.Client], service: Sandbox, who: str) -> httpx.Client:
    if who == "signed_out":
        return httpx.Client(base_url=service.base, timeout=10)
    return clients["organiser" if who.startswith("organiser") else who]


@pytest.mark.parametrize("path, marker", [("/console/supporters", "MemberB"), ("/console/inbox", "question from b"),
                                          ("/console/groups", "Beta City"), ("/console/events", "Meeting b")])
def test_lists_show_a_local_organiser_only_their_own_groups(world, path: str, marker: str) -> None:
    service, w, clients = world
    assert marker not in clients["organiser"].get(path).text
    assert "MemberB" in clients["admin"].get("/console/supporters").text


CELLS = [(key, who) for key in ROWS for who in WHO]


@pytest.mark.parametrize("key, who", CELLS, ids=[f"{m} {p} {w}" for (m, p), w in CELLS])
def test_console_matrix(world, key: tuple[str, str], who: str) -> None:
    service, w, clients = world
    row, side = ROWS[key], _side(who)
    client = _client(clients, service, who)
    before = fingerprint(service)
    if row.method == "GET":
        answer = client.get(row.path(w, side))
    else:
        token = csrf(client.get("/console/login"))
        answer = client.post(row.path(w, side), data={"csrftoken": token, **row.form(w, side)})
    if who == "signed_out":
        assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login"), answer.text
        assert fingerprint(service) == before
    elif allowed(row.rule, who):
        assert answer.status_code not in (403, 404) and answer.status_code < 500, (answer.status_code, answer.text)
        assert not answer.headers.get("location", "").startswith("/console/login")
    else:
        assert answer.status_code in (403, 404), (answer.status_code, answer.text[:300])
        assert fingerprint(service) == before, "a refused request changed something"
