"""The console's supporters pages over real HTTP against `muster run` in sandbox mode: search,
filters, keyset pages, a supporter's page, the changes made there, and who reaches whom."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

JOINED = "2026-03-{day:02d}T10:00:00.000000Z"


@dataclass
class World:
    service: Sandbox
    groups: dict[str, int]
    people: dict[str, int]
    admin: httpx.Client
    leeds: httpx.Client      # the organiser of Leeds only
    national: httpx.Client   # an organiser with no group


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _supporter(service: Sandbox, name: str | None, group: int | None, *, phone: str | None = None,
               telegram: int | None = None, email: str | None = None, postcode: str | None = None,
               day: int = 1, sms: str = "none", tg: str = "none", status: str = "active",
               referred_by: int | None = None) -> int:
    area = postcode.split()[0] if postcode else None
    [(new_id,)] = _db(
        service,
        "INSERT INTO supporters (phone, telegram_id, first_name, email, postcode, area, group_id, status, "
        "sms_consent, telegram_consent, last_channel, created_at, last_seen_at, referred_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (phone, telegram, name, email, postcode, area, group, status, sms, tg, "sms" if phone else "telegram",
         JOINED.format(day=day), JOINED.format(day=day), referred_by))
    for channel, state in (("sms", sms), ("telegram", tg)):
        if state != "none":
            _db(service, "INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, at) "
                         "VALUES (?, ?, 'opt_in', 'flow', 'consent-v1', ?)", (new_id, channel, JOINED.format(day=day)))
    return int(new_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sandbox(tmp_path_factory.mktemp("supporters")) as service:
        service.cli("group", "add", "Leeds", "--areas", "LS1 LS2")
        service.cli("group", "add", "York", "--areas", "YO1")
        service.cli("group", "add", "Bulk")
        groups = {name: gid for gid, name in _db(service, "SELECT id, name FROM local_groups")}
        leeds, york = groups["Leeds"], groups["York"]
        people = {
            "alice": _supporter(service, "Alice", leeds, phone="+447700900123", email="alice.smith@example.org",
                                postcode="LS1 4AP", day=3, sms="opted_in"),
            "alan": _supporter(service, "Alan", leeds, telegram=7_654_321_001, postcode="LS2 7EY", day=5,
                               tg="opted_in"),
            "yasmin": _supporter(service, "Yasmin", york, phone="+447700900456", postcode="YO1 7HH", day=7,
                                 sms="opted_in", tg="opted_out", telegram=7_654_321_002),
            "erased": _supporter(service, None, leeds, status="erased", day=9),
            "nogroup": _supporter(service, "Nadia", None, phone="+447700900789", day=11, sms="opted_out"),
        }
        people["recruit"] = _supporter(service, "Rob", leeds, phone="+447700900124", day=12, sms="opted_in",
                                       referred_by=people["alice"])
        _db(service, "INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, 'housing'), (?, 'housing'), "
                     "(?, 'elections')", (people["alice"], people["yasmin"], people["alan"]))
        yield World(service, groups, people, admin=sign_in(service),
                    leeds=sign_in(service, service.organiser("organiser", "Leeds")),
                    national=sign_in(service, service.organiser("organiser")))


def _ids(page: httpx.Response) -> list[int]:
    assert page.status_code == 200, page.text[:2000]
    return [int(n) for n in re.findall(r'class="sup-who" href="/console/supporters/(\d+)"', page.text)]


def _find(client: httpx.Client, **params: str) -> list[int]:
    return _ids(client.get("/console/supporters", params=params))


# -- search ---------------------------------------------------------------------------------------------
def test_one_box_searches_names_phone_digits_emails_and_postcodes(world: World) -> None:
    p, admin = world.people, world.admin
    assert _find(admin, q="ali") == [p["alice"]]
    assert _find(admin, q="AL") == [p["alan"], p["alice"]]  # newest first
    assert _find(admin, q="900123") == [p["alice"]]  # digits anywhere in the number
    assert set(_find(admin, q="07700 9001")) == {p["alice"], p["recruit"]}  # the start, as dialled
    assert _find(admin, q="+447700900456") == [p["yasmin"]]
    assert _find(admin, q="7654321001") == [p["alan"]]  # a Telegram id
    assert _find(admin, q="alice.smith@") == [p["alice"]]
    assert _find(admin, q="@example.org") == [p["alice"]]
    assert _find(admin, q="ls1 4ap") == [p["alice"]]
    assert _find(admin, q="LS2") == [p["alan"]]  # a whole postcode district
    assert _find(admin, q="nobody") == []
    short = admin.get("/console/supporters", params={"q": "12"})
    assert short.status_code == 400 and "at least 3 digits" in short.text


def test_the_list_shows_phone_numbers_masked(world: World) -> None:
    page = world.admin.get("/console/supporters", params={"q": "alice"})
    assert "+447700900123" not in page.text and "07700 900123" not in page.text
    assert "+44…123" in page.text


def test_filters_by_group_interest_channel_consent_and_sign_up_date(world: World) -> None:
    p, g, admin = world.people, world.groups, world.admin

    def found(**params: str) -> list[int]:  # among the people seeded here (other tests add more)
        return [i for i in _find(admin, **params) if i in p.values()]

    assert set(found(group=str(g["Leeds"]))) == {p["alice"], p["alan"], p["recruit"]}
    assert found(group="none") == [p["nogroup"]]
    assert set(found(interest="housing")) == {p["alice"], p["yasmin"]}
    assert found(interest="housing", group=str(g["York"])) == [p["yasmin"]]
    assert set(found(channel="telegram")) == {p["alan"], p["yasmin"]}
    assert found(consent="telegram:opted_out") == [p["yasmin"]]
    assert found(consent="sms:opted_out") == [p["nogroup"]]
    assert found(consent="sms:not_asked") == []
    assert found(consent="telegram:opted_in") == [p["alan"]]
    assert found(joined_from="2026-03-04", joined_to="2026-03-07") == [p["yasmin"], p["alan"]]
    assert found(joined_from="2026-03-04", joined_to="2026-03-07", sort="name") == [p["alan"], p["yasmin"]]
    assert p["alice"] in found(language="en") and found(language="cy") == []
    for bad in ({"interest": "astrology"}, {"consent": "sms:maybe"}, {"joined_from": "last week"}, {"language": "fr"},
                {"joined_from": "2026-03-09", "joined_to": "2026-03-01"}, {"sort": "random"}):
        assert world.admin.get("/console/supporters", params=bad).status_code == 400, bad


def test_pages_follow_each_other_by_keyset_in_both_orders(world: World) -> None:
    service, bulk = world.service, world.groups["Bulk"]
    names = [f"Bulk{n:03d}" for n in range(73)]
    made = [_supporter(service, name, bulk, day=1 + n % 20) for n, name in enumerate(names)]
    made.append(_supporter(service, None, bulk, day=2))  # no name yet: after the named ones, by name
    for sort in ("newest", "name"):
        seen: list[int] = []
        url: str | None = f"/console/supporters?group={bulk}&sort={sort}"
        while url:
            page = world.admin.get(url)
            seen += _ids(page)
            found = re.search(r'rel="next" href="([^"]+)"', page.text)
            url = found.group(1).replace("&amp;", "&") if found else None
            if url:
                assert "after=" in url and "after_id=" in url and f"group={bulk}" in url
        assert sorted(seen) == sorted(made) and len(seen) == len(made), sort
        if sort == "name":
            assert seen[:-1] == [made[n] for n in range(73)] and seen[-1] == made[-1]
        else:
            days = {m: 1 + n % 20 for n, m in enumerate(made[:-1])} | {made[-1]: 2}
            assert seen == sorted(made, key=lambda m: (days[m], m), reverse=True)
    first = world.admin.get(f"/console/supporters?group={bulk}")
    assert len(_ids(first)) == 50
    damaged = world.admin.get(f"/console/supporters?group={bulk}&after=yesterday&after_id=3")
    assert damaged.status_code == 400 and "damaged" in damaged.text


def test_an_erased_supporter_is_never_listed_nor_shown(world: World) -> None:
    erased = world.people["erased"]
    for params in ({}, {"group": str(world.groups["Leeds"])}, {"sort": "name"}):
        assert erased not in _find(world.admin, **params)
    assert world.admin.get(f"/console/supporters/{erased}").status_code == 404


# -- one supporter --------------------------------------------------------------------------------------
def test_a_supporter_page_shows_profile_identities_consent_events_broadcasts_and_referrals(world: World) -> None:
    service, p = world.service, world.people
    yasmin = p["yasmin"]
    _db(service, "INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, at) "
                 "VALUES (?, 'telegram', 'opt_out', 'keyword', NULL, '2026-03-20T08:30:00.000000Z')", (yasmin,))
    [(event,)] = _db(service, "INSERT INTO events (public_id, title, starts_at, ends_at, group_id, status, created_at, "
                              "updated_at) VALUES ('pubyork01', 'York canvass', '2026-04-04T10:00:00.000000Z', "
                              "'2026-04-04T12:00:00.000000Z', ?, 'confirmed', ?, ?) RETURNING id",
                     (world.groups["York"], JOINED.format(day=1), JOINED.format(day=1)))
    _db(service, "INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                 "VALUES (?, ?, 'going', ?, ?)", (event, yasmin, JOINED.format(day=2), JOINED.format(day=2)))
    [(broadcast,)] = _db(service, "INSERT INTO broadcasts (body, status, created_by, created_at) "
                                  "VALUES ('Rally in York on Saturday', 'sent', 'cli', ?) RETURNING id",
                         (JOINED.format(day=3),))
    _db(service, "INSERT INTO outbox (channel, address, supporter_id, payload, priority, status, not_before, "
                 "broadcast_id, created_at, updated_at) "
                 "VALUES ('sms', '+447700900456', ?, '{}', 10, 'failed', ?, ?, ?, ?)",
        (yasmin, JOINED.format(day=3), broadcast, JOINED.format(day=3), JOINED.format(day=3)))
    page = world.admin.get(f"/console/supporters/{yasmin}")
    assert page.status_code == 200
    text = re.sub(r"\s+", " ", page.text)
    assert "Yasmin" in text and "YO1 7HH" in text and "York" in text
    assert "+447700900456" in text and "7654321002" in text  # in full, on their own page
    assert "Housing and rents" in text
    history = text[text.index('id="consent"'):text.index('id="events"')]
    assert history.index("Opted in") < history.index("Opted out")
    assert "consent-v1" in history and "sign-up" in history and "keyword" in history
    assert "20 Mar 2026, 08:30" in history  # Europe/London, still GMT in March
    assert "York canvass" in text and "going" in text
    assert "Rally in York on Saturday" in text and "failed" in text
    alice = world.admin.get(f"/console/supporters/{p['alice']}").text
    assert re.search(r"Recruited</dt><dd>1 supporter<", alice)
    recruit = world.admin.get(f"/console/supporters/{p['recruit']}").text
    assert f'href="/console/supporters/{p["alice"]}">Alice</a>' in recruit


def test_there_is_no_way_to_opt_anyone_in(world: World) -> None:
    page = world.admin.get(f"/console/supporters/{world.people['nogroup']}").text
    forms = re.findall(r'<form[^>]*action="([^"]+)"', page)
    assert forms and not any("opt-in" in f or "optin" in f or "consent" in f for f in forms)
    assert 'value="opt_in"' not in page and "opted_in" not in re.findall(r'<option value="([^"]+)"', page)
    for path in ("opt-in", "consent"):
        refused = world.admin.post(f"/console/supporters/{world.people['nogroup']}/{path}",
                                   data={"csrftoken": csrf(world.admin.get("/console/supporters")), "channel": "sms"})
        assert refused.status_code in (404, 405)
    assert _db(world.service, "SELECT sms_consent FROM supporters WHERE id = ?", (world.people["nogroup"],)) == \
        [("opted_out",)]


# -- changes --------------------------------------------------------------------------------------------
def _post(client: httpx.Client, supporter: int, act: str, **data: str) -> httpx.Response:
    token = csrf(client.get(f"/console/supporters/{supporter}"))
    return client.post(f"/console/supporters/{supporter}/{act}", data={"csrftoken": token, **data})


def _audit(service: Sandbox, target: str) -> list[tuple]:
    return _db(service, "SELECT action, front, detail, actor FROM audit_log WHERE target = ? ORDER BY id", (target,))


def test_moving_a_supporter_to_a_group_is_audited(world: World) -> None:
    service, g = world.service, world.groups
    person = _supporter(service, "Mover", g["Leeds"], phone="+447700900321", day=14)
    moved = _post(world.admin, person, "group", group=str(g["York"]))
    assert moved.status_code == 303 and "done=Moved" in moved.headers["location"]
    assert _db(service, "SELECT group_id FROM supporters WHERE id = ?", (person,)) == [(g["York"],)]
    assert world.admin.get(moved.headers["location"]).text.count("Moved to York.") == 1
    [entry] = _audit(service, f"supporter:{person}")
    assert entry[:3] == ("supporter.move", "web", f"group {g['Leeds']} → {g['York']}")
    assert "Mover" not in str(entry) and "900321" not in str(entry)
    again = _post(world.admin, person, "group", group=str(g["York"]))
    assert again.status_code == 400 and "already" in again.text
    assert _post(world.national, person, "group", group="none").status_code == 303
    assert _db(service, "SELECT group_id FROM supporters WHERE id = ?", (person,)) == [(None,)]


def test_a_local_organiser_moves_only_within_their_groups(world: World) -> None:
    service, g = world.service, world.groups
    person = _supporter(service, "Stayer", g["Leeds"], day=15)
    page = world.leeds.get(f"/console/supporters/{person}").text
    assert f'<option value="{g["York"]}">' not in page and 'value="none"' not in page
    for target in (str(g["York"]), "none"):
        refused = _post(world.leeds, person, "group", group=target)
        assert refused.status_code == 403, target
    assert _db(service, "SELECT group_id FROM supporters WHERE id = ?", (person,)) == [(g["Leeds"],)]
    assert _audit(service, f"supporter:{person}") == []


def test_interests_are_added_and_removed_from_the_configured_list(world: World) -> None:
    service, person = world.service, world.people["alan"]
    assert _post(world.leeds, person, "interests", action="add", interest="jobs_pay").status_code == 303
    assert _post(world.leeds, person, "interests", action="remove", interest="elections").status_code == 303
    assert _db(service, "SELECT interest FROM supporter_interests WHERE supporter_id = ?", (person,)) == [("jobs_pay",)]
    assert [a[:3] for a in _audit(service, f"supporter:{person}")] == [
        ("supporter.interest_add", "web", "jobs_pay"), ("supporter.interest_remove", "web", "elections")]
    unknown = _post(world.leeds, person, "interests", action="add", interest="astrology")
    assert unknown.status_code == 400 and "from the list" in unknown.text
    twice = _post(world.leeds, person, "interests", action="add", interest="jobs_pay")
    assert twice.status_code == 303 and "already" in twice.headers["location"]
    assert len(_audit(service, f"supporter:{person}")) == 2


def test_an_opt_out_on_their_behalf_is_logged_with_its_reason_and_cancels_queued_broadcasts(world: World) -> None:
    service, g = world.service, world.groups
    person = _supporter(service, "Quiet", g["Leeds"], phone="+447700900654", day=16, sms="opted_in")
    stamp = "2099-01-01T00:00:00.000000Z"  # not due: nothing sends them meanwhile
    for priority in (10, 0):
        _db(service, "INSERT INTO outbox (channel, address, supporter_id, payload, priority, not_before, "
                     "created_at, updated_at) VALUES ('sms', '+447700900654', ?, '{\"text\": \"x\"}', ?, ?, ?, ?)",
            (person, priority, stamp, stamp, stamp))
    missing = _post(world.leeds, person, "opt-out", channel="sms", reason=" ")
    assert missing.status_code == 400 and "Say why" in missing.text
    done = _post(world.leeds, person, "opt-out", channel="sms", reason="Asked by email on 3 March")
    assert done.status_code == 303
    assert _db(service, "SELECT sms_consent FROM supporters WHERE id = ?", (person,)) == [("opted_out",)]
    log = _db(service, "SELECT channel, action, source, reason FROM consent_log WHERE supporter_id = ? ORDER BY id",
              (person,))
    assert log[-1] == ("sms", "opt_out", "organiser", "Asked by email on 3 March")
    assert _db(service, "SELECT priority, status FROM outbox WHERE supporter_id = ? ORDER BY priority", (person,)) == [
        (0, "queued"), (10, "cancelled")]
    [entry] = _audit(service, f"supporter:{person}")
    assert entry[:3] == ("supporter.opt_out", "web", "channel sms") and "email" not in str(entry)
    page = world.leeds.get(f"/console/supporters/{person}").text
    assert "Asked by email on 3 March" in page and "organiser, on their behalf" in page
    again = _post(world.leeds, person, "opt-out", channel="telegram", reason="Said so at the stall")
    assert again.status_code == 303
    after = world.leeds.get(f"/console/supporters/{person}").text
    assert f'action="/console/supporters/{person}/opt-out"' not in after  # nothing left to opt out of


# -- reach ----------------------------------------------------------------------------------------------
def test_an_organiser_of_one_group_cannot_reach_another_groups_supporter_by_url(world: World) -> None:
    p, g = world.people, world.groups
    yasmin = p["yasmin"]
    assert world.leeds.get(f"/console/supporters/{p['alice']}").status_code == 200
    outside = world.leeds.get(f"/console/supporters/{yasmin}")
    assert outside.status_code == 404 and "Yasmin" not in outside.text
    assert world.leeds.get(f"/console/supporters/{p['nogroup']}").status_code == 404
    assert world.leeds.get("/console/supporters/999999").status_code == 404
    token = csrf(world.leeds.get("/console/supporters"))
    for act, data in (("group", {"group": str(g["Leeds"])}), ("interests", {"action": "add", "interest": "housing"}),
                      ("opt-out", {"channel": "sms", "reason": "Asked by phone"})):
        refused = world.leeds.post(f"/console/supporters/{yasmin}/{act}", data={"csrftoken": token, **data})
        assert refused.status_code == 404, act
    assert _db(world.service, "SELECT group_id, sms_consent FROM supporters WHERE id = ?", (yasmin,)) == [
        (g["York"], "opted_in")]
    listed = _find(world.leeds)
    assert p["alice"] in listed and yasmin not in listed and p["nogroup"] not in listed
    assert _find(world.leeds, q="yasmin") == []
    assert world.leeds.get("/console/supporters", params={"group": str(g["York"])}).status_code == 403
    assert world.leeds.get("/console/supporters", params={"group": "none"}).status_code == 403
    for client in (world.national, world.admin):
        assert client.get(f"/console/supporters/{yasmin}").status_code == 200
        assert client.get(f"/console/supporters/{p['nogroup']}").status_code == 200
        assert _find(client, q="yasmin") == [yasmin] and _find(client, q="nadia") == [p["nogroup"]]


def test_a_recruiter_outside_the_organisers_groups_is_not_linked(world: World) -> None:
    service, g = world.service, world.groups
    recruit = _supporter(service, "Recruited", g["Leeds"], day=17, referred_by=world.people["yasmin"])
    page = world.leeds.get(f"/console/supporters/{recruit}").text
    assert "a supporter outside your groups" in page and "Yasmin" not in page


def test_a_change_without_its_csrf_token_is_refused(world: World) -> None:
    person = world.people["alice"]
    refused = world.admin.post(f"/console/supporters/{person}/interests",
                               data={"action": "add", "interest": "jobs_pay"})
    assert refused.status_code == 403
    assert ("jobs_pay",) not in _db(world.service, "SELECT interest FROM supporter_interests WHERE supporter_id = ?",
                                    (person,))
