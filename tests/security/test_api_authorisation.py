"""The API's authorisation matrix: every API route × every kind of token, over real HTTP.

Who: no token, a token not ours, a revoked token, a token of the other scope, a token of the
route's scope. Refused cells answer 401 or 403 and change nothing (no supporter, no consent, no
outbox row); allowed cells get through (a 2xx, or a 404 for an id that is not there, never a
refusal). Every API route needs a row and a line in the OpenAPI description: a new route without
them fails `test_every_api_route_has_a_row_and_is_described`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from starlette.routing import Mount

from bot.config import Settings
from bot.web import api
from bot.web.api import openapi
from bot.web.api.base import Api
from tests.web.console_support import Sandbox, sandbox

WHO = ("no_token", "not_ours", "revoked", "other_scope", "right_scope")
UNKNOWN = "mst_" + "Q" * 43
SIGNUP = {"person": {"phone_numbers": [{"number": "+447400123777"}]},
          "muster:consent": {"campaign": True, "wording": "Yes, text me."}}


@dataclass(frozen=True)
class Row:
    scope: str  # 'read', 'signup' or 'any'
    path: str   # with ids filled in


ROWS: dict[tuple[str, str], Row] = {
    ("GET", "/v1/"): Row("any", "/api/v1/"),
    ("GET", "/v1/people"): Row("read", "/api/v1/people"),
    ("GET", "/v1/people/{person_id}"): Row("read", "/api/v1/people/1"),
    ("POST", "/v1/people/person_signup_helper"): Row("signup", "/api/v1/people/person_signup_helper"),
    ("POST", "/v1/people"): Row("signup", "/api/v1/people"),
    ("GET", "/v1/events"): Row("read", "/api/v1/events"),
    ("GET", "/v1/events/{event_id}"): Row("read", "/api/v1/events/1"),
    ("GET", "/v1/events/{event_id}/attendances"): Row("read", "/api/v1/events/1/attendances"),
    ("GET", "/v1/events/{event_id}/attendances/{person_id}"): Row("read", "/api/v1/events/1/attendances/1"),
    ("GET", "/v1/tags"): Row("read", "/api/v1/tags"),
    ("GET", "/v1/tags/{tag}"): Row("read", "/api/v1/tags/housing"),
    ("GET", "/v1/tags/{tag}/taggings"): Row("read", "/api/v1/tags/housing/taggings"),
}
PUBLIC = {("GET", "/openapi.json")}
CATCH_ALL = "/{rest:path}"


def api_routes() -> set[tuple[str, str]]:
    mounted = api.routes(Api(lambda: None, lambda: datetime.now(UTC), Settings(), lambda: None))
    assert len(mounted) == 1 and isinstance(mounted[0], Mount) and mounted[0].path == "/api"
    return {(method, route.path) for route in mounted[0].routes if route.path != CATCH_ALL  # type: ignore[attr-defined]
            for method in (getattr(route, "methods", None) or set()) - {"HEAD"}}


def test_every_api_route_has_a_row_and_is_described() -> None:
    assert api_routes() == set(ROWS) | PUBLIC, "add a row to ROWS for each new API route"
    described = {(m.upper(), p.removeprefix("/api")) for m, p, *_ in openapi.ROUTES}
    assert described == set(ROWS), "describe each API route in bot/web/api/openapi.py ROUTES"
    assert {scope for (m, p, scope, *_) in openapi.ROUTES} == {"read", "signup", "any"}
    assert all(ROWS[(m.upper(), p.removeprefix("/api"))].scope == scope for m, p, scope, *_ in openapi.ROUTES)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandbox, dict[str, str]]]:
    with sandbox(tmp_path_factory.mktemp("api-matrix")) as service:
        tokens = {}
        for name, scope in (("reader", "read"), ("signer", "signup"), ("gone-reader", "read"),
                            ("gone-signer", "signup")):
            tokens[name] = service.cli("api-token", "create", "--name", name, "--scope", scope,
                                       "--per-minute", "1000").stdout.strip()
        for name in ("gone-reader", "gone-signer"):
            token_id = _sql(service, "SELECT id FROM api_tokens WHERE name = ?", (name,))[0][0]
            service.cli("api-token", "revoke", str(token_id))
        yield service, tokens


def _sql(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _fingerprint(service: Sandbox) -> tuple:
    return tuple(_sql(service, f"SELECT COUNT(*) FROM {table}")[0][0]
                 for table in ("supporters", "consent_log", "outbox", "signup_requests", "consent_wordings"))


def _token(who: str, scope: str, tokens: dict[str, str]) -> str | None:
    if who == "no_token":
        return None
    if who == "not_ours":
        return UNKNOWN
    own, other = ("signer", "reader") if scope == "signup" else ("reader", "signer")
    return tokens[{"revoked": f"gone-{own}", "other_scope": other, "right_scope": own}[who]]


CELLS = [(key, who) for key in ROWS for who in WHO]


@pytest.mark.parametrize("key, who", CELLS, ids=[f"{m} {p} {w}" for (m, p), w in CELLS])
def test_api_matrix(world: tuple[Sandbox, dict[str, str]], key: tuple[str, str], who: str) -> None:
    service, tokens = world
    row = ROWS[key]
    secret = _token(who, row.scope, tokens)
    headers = {"OSDI-API-Token": secret} if secret else {}
    before = _fingerprint(service)
    if key[0] == "POST":
        answer = httpx.post(f"{service.base}{row.path}", json=SIGNUP, headers=headers, timeout=10)
    else:
        answer = httpx.get(f"{service.base}{row.path}", headers=headers, timeout=10)
    allowed = who == "right_scope" or (row.scope == "any" and who == "other_scope")
    if allowed:
        assert answer.status_code in (200, 202, 404), answer.text
        if answer.status_code == 404:
            assert answer.json()["osdi:error"]["resource_status"][0]["error_descriptions"][0]["error_code"] \
                == "NOT_FOUND"
        return
    expected = 403 if who == "other_scope" else 401
    assert answer.status_code == expected, answer.text
    assert answer.headers["content-type"].startswith("application/hal+json")
    assert _fingerprint(service) == before, "a refused call changed something"
