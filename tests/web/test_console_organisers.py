"""The console's Organisers page (admins only), over real HTTP against the real service: adding a
role, changing its scope, removing it, and ending a session."""
from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator

import httpx
import pytest

from flows.organiser import team
from flows.organiser.access import Actor
from flows.organiser.errors import TeamError
from flows.organiser.signin import Identity, web_actor
from storage import organisers
from tests.web.console_support import Sandbox, csrf, sandbox, sign_in


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(tmp_path_factory.mktemp("organisers")) as running:
        running.cli("group", "add", "Leeds", "--areas", "LS6")
        running.cli("group", "add", "York", "--areas", "YO1")
        yield running


def _db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _group_id(service: Sandbox, name: str) -> int:
    return _db(service, "SELECT id FROM local_groups WHERE name = ?", (name,))[0][0]


def _role_of(service: Sandbox, phone: str) -> tuple[int, str, int | None]:
    rows = _db(service, "SELECT id, role, group_id FROM organisers WHERE phone = ?", (phone,))
    assert len(rows) == 1, rows
    return rows[0]


def _post(client: httpx.Client, path: str, **data: str) -> httpx.Response:
    token = csrf(client.get("/console/"))
    return client.post(path, data={"csrftoken": token, **data})


@pytest.fixture(scope="module")
def admin(service: Sandbox) -> httpx.Client:
    return sign_in(service)


def test_only_an_admin_reaches_the_organisers_page(service: Sandbox) -> None:
    for who in (service.organiser("organiser", "Leeds"), service.organiser("organiser")):
        client = sign_in(service, who)
        assert client.get("/console/organisers").status_code == 403
        role_id = _role_of(service, who)[0]
        assert client.get(f"/console/organisers/{role_id}").status_code == 403
        before = _db(service, "SELECT id, role, group_id FROM organisers ORDER BY id")
        added = _post(client, "/console/organisers", identity="07700 900950", role="admin", scope="national")
        assert added.status_code == 403
        assert _post(client, f"/console/organisers/{role_id}", role="admin", scope="national").status_code == 403
        assert _post(client, f"/console/organisers/{role_id}/remove").status_code == 403
        assert _db(service, "SELECT id, role, group_id FROM organisers ORDER BY id") == before
        assert 'href="/console/organisers"' not in client.get("/console/").text  # not in their navigation


def test_the_list_shows_every_role_and_its_scope(service: Sandbox, admin: httpx.Client) -> None:
    leeds = service.organiser("organiser", "Leeds")
    page = admin.get("/console/organisers")
    assert page.status_code == 200
    assert "Admin · Everything" in page.text and "National (every group)" in page.text
    assert f"{leeds}</a>" in page.text and "Organiser · Leeds" in page.text
    assert "+447700900001 · Telegram 1001" in page.text  # the demo admin holds the role under both
    role_id = _role_of(service, leeds)[0]
    assert leeds in admin.get(f"/console/organisers/{role_id}").text


def test_an_admin_adds_an_organiser_by_phone_or_telegram_id(service: Sandbox, admin: httpx.Client) -> None:
    york = _group_id(service, "York")
    added = _post(admin, "/console/organisers", identity="07700 900960", role="organiser", scope=str(york))
    assert added.status_code == 303, added.text
    role_id, role, group_id = _role_of(service, "+447700900960")
    assert (role, group_id) == ("organiser", york)
    assert added.headers["location"].startswith(f"/console/organisers/{role_id}?done=")
    by_telegram = _post(admin, "/console/organisers", identity="7123456", role="organiser", scope="national")
    assert by_telegram.status_code == 303
    assert _db(service, "SELECT role, group_id FROM organisers WHERE telegram_id = 7123456") == [("organiser", None)]
    # The new organiser can sign in at once, and reaches York only.
    client = sign_in(service, "+447700900960")
    groups = client.get("/console/groups").text
    assert "York" in groups and "Leeds" not in groups
    audit = _db(service, "SELECT action, front, detail FROM audit_log WHERE target = ?", (f"organiser:{role_id}",))
    assert audit == [("organiser.add", "web", f"group:{york}")]


def test_an_unclear_request_is_refused_with_a_reason(service: Sandbox, admin: httpx.Client) -> None:
    before = _db(service, "SELECT COUNT(*) FROM organisers")
    no_scope = _post(admin, "/console/organisers", identity="07700 900961", role="organiser", scope="")
    assert no_scope.status_code == 400 and "Choose National (every group) or one local group" in no_scope.text
    assert 'value="07700 900961"' in no_scope.text
    odd = _post(admin, "/console/organisers", identity="robert", role="organiser", scope="national")
    assert odd.status_code == 400 and "phone number (starting 07 or +44)" in odd.text
    bad_role = _post(admin, "/console/organisers", identity="07700 900961", role="boss", scope="national")
    assert bad_role.status_code == 400 and "A role is one of admin, organiser" in bad_role.text
    no_group = _post(admin, "/console/organisers", identity="07700 900961", role="organiser", scope="99999")
    assert no_group.status_code == 400 and "no local group #99999" in no_group.text
    assert _db(service, "SELECT COUNT(*) FROM organisers") == before


def test_changing_the_scope_takes_effect_at_once(service: Sandbox, admin: httpx.Client) -> None:
    phone = service.organiser("organiser", "Leeds")
    role_id = _role_of(service, phone)[0]
    client = sign_in(service, phone)
    assert "York" not in client.get("/console/groups").text
    page = admin.get(f"/console/organisers/{role_id}")
    assert re.search(rf'<option value="{_group_id(service, "Leeds")}" selected>Leeds</option>', page.text)
    changed = _post(admin, f"/console/organisers/{role_id}", role="organiser", scope="national")
    assert changed.status_code == 303, changed.text
    assert _role_of(service, phone) == (role_id, "organiser", None)
    assert "York" in client.get("/console/groups").text
    assert "Role saved." in admin.get(changed.headers["location"]).text
    audit = _db(service, "SELECT detail FROM audit_log WHERE action = 'organiser.change' AND target = ?",
                (f"organiser:{role_id}",))
    assert audit == [(f"group:{_group_id(service, 'Leeds')} (organiser) → national (organiser)",)]


def test_removing_a_role_signs_its_holder_out(service: Sandbox, admin: httpx.Client) -> None:
    phone = service.organiser("organiser", "York")
    role_id = _role_of(service, phone)[0]
    client = sign_in(service, phone)
    assert client.get("/console/").status_code == 200
    removed = _post(admin, f"/console/organisers/{role_id}/remove")
    assert removed.status_code == 303 and removed.headers["location"].startswith("/console/organisers?done=")
    assert _db(service, "SELECT COUNT(*) FROM organisers WHERE phone = ?", (phone,)) == [(0,)]
    assert client.get("/console/").status_code == 303
    assert _db(service, "SELECT ended_why FROM console_sessions WHERE address = ?", (phone,)) == [("role removed",)]
    assert admin.get(f"/console/organisers/{role_id}").status_code == 404
    assert _db(service, "SELECT action, front FROM audit_log WHERE target = ?", (f"organiser:{role_id}",))[-1] == \
        ("organiser.remove", "web")


def test_an_admin_ends_a_session(service: Sandbox, admin: httpx.Client) -> None:
    phone = service.organiser("organiser", "Leeds")
    role_id = _role_of(service, phone)[0]
    client = sign_in(service, phone)
    page = admin.get(f"/console/organisers/{role_id}")
    ends = re.findall(rf'action="/console/organisers/{role_id}/sessions/(\d+)/end"', page.text)
    assert len(ends) == 1 and "End this session" in page.text
    assert _post(admin, f"/console/organisers/{role_id}/sessions/{ends[0]}/end").status_code == 303
    assert client.get("/console/").status_code == 303
    assert _db(service, "SELECT ended_why FROM console_sessions WHERE id = ?", (int(ends[0]),)) == [("revoked",)]
    assert "Ended: revoked" in admin.get(f"/console/organisers/{role_id}").text
    assert _db(service, "SELECT front FROM audit_log WHERE action = 'session.revoke' AND target = ?",
               (f"session:{ends[0]}",)) == [("web",)]
    # Someone else's session cannot be ended through this role's page.
    other = _db(service, "SELECT id FROM console_sessions WHERE address <> ? ORDER BY id LIMIT 1", (phone,))[0][0]
    assert _post(admin, f"/console/organisers/{role_id}/sessions/{other}/end").status_code == 404


def test_the_cli_writes_the_audit_log_too(service: Sandbox) -> None:
    service.cli("organiser", "add", "--role", "organiser", "--phone", "+447700900970", "--group", "York")
    role_id = _role_of(service, "+447700900970")[0]
    service.cli("organiser", "remove", "--phone", "+447700900970")
    audit = _db(service, "SELECT action, front, actor FROM audit_log WHERE target = ? ORDER BY id",
                (f"organiser:{role_id}",))
    assert audit == [("organiser.add", "cli", "cli"), ("organiser.remove", "cli", "cli")]


async def test_the_console_never_leaves_the_movement_without_an_admin(harness) -> None:
    """Through the operation every front calls: the only admin role cannot be removed or demoted
    from the console; the command line (its operator can always add one back) may."""
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        only = await organisers.add(tx, "admin", now, phone="+447700900990")
        web = web_actor((only,), Identity("sms", "+447700900990"))
        with pytest.raises(TeamError, match="only admin role"):
            await team.change(tx, web, now, only.id, "organiser", None)
        with pytest.raises(TeamError, match="only admin role"):
            await team.remove(tx, web, now, only.id)
        second = await organisers.add(tx, "admin", now, phone="+447700900991")
        await team.remove(tx, web, now, only.id)  # another admin remains
        cli = Actor(trusted=True, label="cli")
        assert await team.remove_identity(tx, cli, now, second.phone, None) == 1
        assert await organisers.admin_count(tx) == 0
