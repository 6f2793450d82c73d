"""The console's Groups pages and `muster group edit|remove`, over real HTTP against the real service:
what each organiser sees, what only an admin may change, and placing group-less supporters."""
from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

NOTICE = "A local group has started near you"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("groups")) as running:
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _group_id(service: Sandbox, name: str) -> int:
    return _db(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0]


_people = iter(range(1000, 9999))


def _supporter(service: Sandbox, area: str | None, *, group: str | None = None, sms: str = "opted_in",
               telegram: str = "none", telegram_id: int | None = None, last: str = "sms",
               phone: bool = True) -> tuple[int, str | None]:
    """A supporter with a postcode in `area` (an outward code), written straight to the database."""
    number = f"+4474009{next(_people):05d}" if phone else None
    group_id = _group_id(service, group) if group else None
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute(
            "INSERT INTO supporters (phone, telegram_id, first_name, postcode, area, group_id, status, sms_consent, "
            "telegram_consent, last_channel, created_at) VALUES (?, ?, 'Sam', ?, ?, ?, 'active', ?, ?, ?, "
            "'2026-01-01T00:00:00.000000Z')",
            (number, telegram_id, f"{area} 1AA" if area else None, area, group_id, sms, telegram, last))
        return int(cur.lastrowid or 0), number


def _notices(service: Sandbox, supporter_id: int) -> int:
    return _db(service, "SELECT COUNT(*) FROM outbox WHERE supporter_id = ? AND dedupe_key LIKE 'group-started:%'",
               (supporter_id,))[0][0]


def _wait_for(service: Sandbox, channel: str, address: str, pattern: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for message in service.messages(channel, address):
            if re.search(pattern, message["text"]):
                return str(message["text"])
        time.sleep(0.05)
    raise AssertionError(f"no message matching {pattern!r}")


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = csrf(client.get("/console/groups"))
    return client.post(path, data={"csrftoken": token, **data})


def _refused_cli(service: Sandbox, *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=service.workdir, env=service.env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stdout + done.stderr
    return " ".join((done.stdout + done.stderr).split())


@pytest.fixture(scope="module")
def towns(service: Sandbox) -> dict[str, int]:
    """Leeds (LS6, two supporters, an organiser, a linked chat) and York (YO1, one supporter)."""
    service.cli("group", "add", "Leeds", "--areas", "LS6")
    service.cli("group", "add", "York", "--areas", "YO1")
    ids = {name: _group_id(service, name) for name in ("Leeds", "York")}
    _supporter(service, "LS6", group="Leeds")
    _supporter(service, "LS6", group="Leeds")
    _supporter(service, "YO1", group="York")
    _db(service, "INSERT INTO supporters (group_id, status, created_at) VALUES (?, 'erased', "  # not counted
                 "'2026-01-01T00:00:00.000000Z')", (ids["Leeds"],))
    _db(service, "INSERT INTO telegram_groups (chat_id, group_id, title, linked_at) VALUES "
                 "(-100500, ?, 'Leeds chat', '2026-01-01T00:00:00.000000Z')", (ids["Leeds"],))
    return ids


def test_a_local_organiser_sees_only_their_groups(service: Sandbox, towns: dict[str, int]) -> None:
    client = sign_in(service, service.organiser("organiser", "Leeds"))
    page = client.get("/console/groups")
    assert page.status_code == 200
    assert "Leeds" in page.text and "LS6" in page.text and "Leeds chat" in page.text
    assert re.search(r"<dt>Supporters</dt><dd>2</dd>", page.text)
    assert "York" not in page.text and "YO1" not in page.text
    assert "Start a local group" not in page.text  # no create form for them
    assert client.get(f"/console/groups/{towns['Leeds']}").status_code == 200
    assert client.get(f"/console/groups/{towns['York']}").status_code == 404
    assert client.get("/console/groups/99999").status_code == 404


def test_a_national_organiser_and_an_admin_see_every_group(service: Sandbox, towns: dict[str, int]) -> None:
    for who in (service.organiser("organiser"), service.organiser("admin")):
        client = sign_in(service, who)
        page = client.get("/console/groups")
        assert page.status_code == 200
        assert "Leeds" in page.text and "York" in page.text and "Manchester Central (demo)" in page.text
        assert client.get(f"/console/groups/{towns['York']}").status_code == 200
    assert "Start a local group" in page.text  # the admin's page has the form


def test_the_organisers_of_a_group_are_listed(service: Sandbox, towns: dict[str, int]) -> None:
    phone = service.organiser("organiser", "York")
    _db(service, "INSERT INTO supporters (phone, first_name, status, created_at) VALUES (?, 'Yasmin', 'active', "
                 "'2026-01-01T00:00:00.000000Z')", (phone,))
    page = sign_in(service).get(f"/console/groups/{towns['York']}")
    assert "Yasmin" in page.text
    assert phone not in page.text  # numbers are not shown here


def test_an_admin_creates_renames_and_changes_areas(service: Sandbox, towns: dict[str, int]) -> None:
    client = sign_in(service)
    made = _post(client, "/console/groups", name="  Hull  ", areas="hu1, hu2")
    assert made.status_code == 303, made.text
    hull = _group_id(service, "Hull")
    assert made.headers["location"].startswith(f"/console/groups/{hull}?done=")
    assert sorted(a for (a,) in _db(service, "SELECT area FROM group_areas WHERE group_id = ?", (hull,))) == \
        ["HU1", "HU2"]
    shown = client.get(made.headers["location"])
    assert "Created Hull." in shown.text and "HU1" in shown.text

    saved = _post(client, f"/console/groups/{hull}", name="Hull and East Riding", areas="HU1 HU3 YO25")
    assert saved.status_code == 303, saved.text
    assert _db(service, "SELECT name FROM local_groups WHERE id = ?", (hull,)) == [("Hull and East Riding",)]
    assert sorted(a for (a,) in _db(service, "SELECT area FROM group_areas WHERE group_id = ?", (hull,))) == \
        ["HU1", "HU3", "YO25"]
    audit = _db(service, "SELECT action, front, detail FROM audit_log WHERE target = ? ORDER BY id",
                (f"group:{hull}",))
    assert [(a, f) for a, f, _ in audit] == [("group.create", "web"), ("group.edit", "web")]
    assert "added HU3 YO25" in audit[1][2] and "dropped HU2" in audit[1][2]


def test_an_area_another_group_covers_is_refused_with_its_name(service: Sandbox, towns: dict[str, int]) -> None:
    client = sign_in(service)
    clash = _post(client, "/console/groups", name="Leeds West", areas="LS5 LS6")
    assert clash.status_code == 400
    assert "areas already covered by another group: LS6 (Leeds)" in clash.text
    assert 'value="Leeds West"' in clash.text  # what was typed is kept
    assert _db(service, "SELECT COUNT(*) FROM local_groups WHERE name = 'Leeds West'") == [(0,)]

    edit = _post(client, f"/console/groups/{towns['York']}", name="York", areas="YO1 LS6")
    assert edit.status_code == 400 and "LS6 (Leeds)" in edit.text
    assert _db(service, "SELECT area FROM group_areas WHERE group_id = ?", (towns["York"],)) == [("YO1",)]

    for name, areas, why in (("", "LS9", "Give the group a name"), ("Odd", "M1!", "not postcode areas"),
                             ("york", "YO9", "already exists")):
        bad = _post(client, "/console/groups", name=name, areas=areas)
        assert bad.status_code == 400 and why in bad.text, (name, bad.text[-500:])


def test_only_an_admin_changes_groups(service: Sandbox, towns: dict[str, int]) -> None:
    before = _db(service, "SELECT id, name FROM local_groups ORDER BY id")
    for who in (service.organiser("organiser", "Leeds"), service.organiser("organiser")):
        client = sign_in(service, who)
        made = _post(client, "/console/groups", name="Sneaky", areas="LS99")
        assert made.status_code == 403 and "Only an admin" in made.text
        renamed = _post(client, f"/console/groups/{towns['Leeds']}", name="Renamed", areas="LS6")
        assert renamed.status_code == 403
        assert "Rename or change areas" not in client.get(f"/console/groups/{towns['Leeds']}").text
    assert _db(service, "SELECT id, name FROM local_groups ORDER BY id") == before
    no_token = sign_in(service).post("/console/groups", data={"name": "No token", "areas": "LS98"})
    assert no_token.status_code == 403
    assert _db(service, "SELECT id, name FROM local_groups ORDER BY id") == before


def test_group_less_supporters_in_new_areas_are_placed_and_told_once(service: Sandbox,
                                                                     towns: dict[str, int]) -> None:
    told, told_phone = _supporter(service, "BD1")                          # opted in by SMS, no group
    on_telegram, _ = _supporter(service, "BD1", sms="opted_out", telegram="opted_in", telegram_id=880001,
                                last="telegram")
    opted_out, _ = _supporter(service, "BD1", sms="opted_out")             # no group, opted out
    in_leeds, _ = _supporter(service, "BD1", group="Leeds")                # already in a group
    elsewhere, _ = _supporter(service, "BD7")                              # not in the new areas
    client = sign_in(service)
    made = _post(client, "/console/groups", name="Bradford", areas="BD1 BD2")
    assert made.status_code == 303, made.text
    bradford = _group_id(service, "Bradford")
    assert "3 supporters with no group joined it; 2 will be told" in client.get(made.headers["location"]).text

    def group_of(supporter_id: int) -> int | None:
        return _db(service, "SELECT group_id FROM supporters WHERE id = ?", (supporter_id,))[0][0]

    assert group_of(told) == group_of(opted_out) == group_of(on_telegram) == bradford
    assert group_of(in_leeds) == towns["Leeds"] and group_of(elsewhere) is None
    text = _wait_for(service, "sms", told_phone, NOTICE)
    assert "Bradford" in text and "STOP" in text
    _wait_for(service, "telegram", "880001", NOTICE)
    assert [_notices(service, s) for s in (told, on_telegram, opted_out, in_leeds, elsewhere)] == [1, 1, 0, 0, 0]

    # Out of the group again and the area dropped and taken back: placed again, never told twice.
    _db(service, "UPDATE supporters SET group_id = NULL WHERE id = ?", (told,))
    assert _post(client, f"/console/groups/{bradford}", name="Bradford", areas="BD2").status_code == 303
    assert _post(client, f"/console/groups/{bradford}", name="Bradford", areas="BD1 BD2").status_code == 303
    assert group_of(told) == bradford
    assert _notices(service, told) == 1
    # A new area in a group's edit places the people there (and only them).
    assert _post(client, f"/console/groups/{bradford}", name="Bradford", areas="BD1 BD2 BD7").status_code == 303
    assert group_of(elsewhere) == bradford and _notices(service, elsewhere) == 1
    assert len([m for m in service.messages("sms", told_phone) if NOTICE in m["text"]]) == 1


def test_an_area_given_by_its_letters_yields_to_a_closer_group(service: Sandbox, towns: dict[str, int]) -> None:
    m20, _ = _supporter(service, "M20")   # in M, covered by no outward code
    m1, _ = _supporter(service, "M1")     # M1 belongs to the demo group
    me1, _ = _supporter(service, "ME1")   # Medway: not in M
    client = sign_in(service)
    assert _post(client, "/console/groups", name="Greater Manchester", areas="M").status_code == 303
    manchester = _group_id(service, "Greater Manchester")
    groups = dict(_db(service, "SELECT id, group_id FROM supporters WHERE id IN (?, ?, ?)", (m20, m1, me1)))
    assert groups == {m20: manchester, m1: None, me1: None}


def test_cli_group_edit_and_remove(service: Sandbox, towns: dict[str, int]) -> None:
    service.cli("group", "add", "Derby", "--areas", "DE1")
    derby = _group_id(service, "Derby")
    waiting, _ = _supporter(service, "DE22")
    edited = service.cli("group", "edit", "derby", "--rename", "Derby City", "--areas", "DE1 de22").stdout
    edited = " ".join(edited.split())
    assert "Updated group" in edited and "DE1 DE22" in edited and "1 supporter with no group was placed" in edited
    assert _db(service, "SELECT name FROM local_groups WHERE id = ?", (derby,)) == [("Derby City",)]
    assert _db(service, "SELECT group_id FROM supporters WHERE id = ?", (waiting,)) == [(derby,)]
    assert _notices(service, waiting) == 1

    assert "LS6 (Leeds)" in _refused_cli(service, "group", "edit", "Derby City", "--areas", "LS6")
    assert "no local group called 'Nowhere'" in _refused_cli(service, "group", "edit", "Nowhere", "--rename", "X")
    assert "give --rename" in _refused_cli(service, "group", "edit", "Derby City")

    organiser = service.organiser("organiser", "Derby City")
    client = sign_in(service, organiser)
    assert client.get("/console/groups").status_code == 200
    refused = _refused_cli(service, "group", "remove", "Derby City")
    assert "still has 1 organiser role" in refused and "--force" in refused
    removed = service.cli("group", "remove", "Derby City", "--force").stdout
    assert "1 supporter now in no group" in " ".join(removed.split())
    assert _db(service, "SELECT COUNT(*) FROM local_groups WHERE id = ?", (derby,)) == [(0,)]
    assert _db(service, "SELECT group_id FROM supporters WHERE id = ?", (waiting,)) == [(None,)]
    assert client.get("/console/groups").status_code == 303  # their only role went with the group
    audit = _db(service, "SELECT action, front, actor FROM audit_log WHERE target = ? ORDER BY id",
                (f"group:{derby}",))
    assert audit == [("group.create", "cli", "cli"), ("group.edit", "cli", "cli"), ("group.remove", "cli", "cli")]


def test_removing_an_empty_group_needs_no_force(service: Sandbox, towns: dict[str, int]) -> None:
    service.cli("group", "add", "Empty", "--areas", "ZE1")
    assert "Removed group" in service.cli("group", "remove", "Empty").stdout
    assert _db(service, "SELECT COUNT(*) FROM group_areas WHERE area = 'ZE1'") == [(0,)]
