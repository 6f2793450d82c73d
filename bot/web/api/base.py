"""What every API route shares: the token check before anything else, rate limits, JSON bodies
read within a limit, OSDI's error shape, page tokens, and the headers of every answer.

A call is checked in this order, each refusal written to the audit log when the token is ours:
no token or not one of ours → 401 (a client sending many is slowed to 429); over the token's own
rate → 429 with Retry-After; a revoked token → 401; a token of the other scope → 403. Only then is
a body read (at most MAX_BODY bytes: 413 beyond), and bad input is a 400 saying what to change.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.web.front import Front
from bot.web.limits import Limiter
from flows.organiser import api_tokens
from flows.organiser.errors import ScopeError
from storage.api_tokens import Token
from storage.osdi import Page

log = logging.getLogger(__name__)

MAX_BODY = 16 * 1024  # a sign-up is well under 2 KiB
PER_PAGE, MAX_PER_PAGE = 25, 100
CONTENT_TYPE = "application/hal+json"
HEADERS = {
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
    "referrer-policy": "no-referrer",
}
CURIES = [{"name": "osdi", "href": "https://opensupporter.github.io/osdi-docs/{rel}", "templated": True}]


@dataclass
class Api(Front):
    """What the API's routes need from the running service, and nothing more."""
    event_page: Callable[[str], str] | None = None  # an event's public page from its public id, where there is one
    per_token: Limiter = field(default_factory=lambda: Limiter(limit=60, window=60))
    failures: Limiter = field(default_factory=lambda: Limiter(limit=60, window=60))  # per client
    noted: Limiter = field(default_factory=lambda: Limiter(limit=1, window=60))  # one 429 audited a minute


@dataclass(frozen=True)
class Call:
    """An authenticated call: its token, where it came from, and the base of the links it is answered with."""
    token: Token
    origin: str | None
    base: str

    def url(self, path: str) -> str:
        return f"{self.base}/api/v1{path}"


class BadInput(ValueError):
    """The request cannot be answered as sent: `properties` name the fields at fault."""

    def __init__(self, message: str, *properties: str, code: str = "INVALID") -> None:
        super().__init__(message)
        self.properties = list(properties)
        self.code = code


def hal(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status, headers={**HEADERS, **(headers or {})}, media_type=CONTENT_TYPE)


def error(status: int, message: str, *, code: str, properties: list[str] | None = None, resource: str | None = None,
          headers: dict[str, str] | None = None) -> JSONResponse:
    """An OSDI error object, with the reason also as a plain `error` string for a person reading it."""
    described: dict[str, Any] = {"error_code": code, "description": message}
    if properties:
        described["properties"] = properties
    status_of = {"response_code": status, "error_descriptions": [described]}
    if resource:
        status_of = {"resource": resource, **status_of}
    return hal({"error": message, "osdi:error": {"request_type": "atomic", "response_code": status,
                                                 "resource_status": [status_of]}}, status, headers)


def bad_input(exc: BadInput, resource: str | None = None) -> JSONResponse:
    return error(400, str(exc), code=exc.code, properties=exc.properties, resource=resource)


def presented(request: Request) -> str | None:
    """The token sent in OSDI's header, or as a bearer token."""
    token = request.headers.get("osdi-api-token")
    if token:
        return token.strip()
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


Handler = Callable[[Request, Call], Awaitable[Response]]
UNAUTHORISED = {"www-authenticate": 'Bearer realm="muster-api"'}


def guarded(api: Api, scope: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The route, for a live token of this scope ('signup', 'read', or 'any') within its rate."""
    def unauthenticated(origin: str | None, secret: str | None, path: str) -> Response:
        log.info("API call without a valid token from %s to %s", origin, path)
        client = origin or "-"
        if not api.failures.allow(client):
            wait = api.failures.retry_after(client)
            return error(429, f"Too many calls without a valid token: try again in {wait} s.",
                         code="RATE_LIMITED", headers={"retry-after": str(wait)})
        missing = secret is None
        return error(401, "An API token is needed: send it in the OSDI-API-Token header (or as "
                          "Authorization: Bearer)." if missing else "That API token is not one of ours.",
                     code="TOKEN_MISSING" if missing else "TOKEN_UNKNOWN", headers=UNAUTHORISED)

    async def endpoint(request: Request) -> Response:
        origin = client_address(request)
        secret = presented(request)
        if secret is None or not api_tokens.well_formed(secret):  # refused without a transaction
            return unauthenticated(origin, secret, request.url.path)
        now = api.now()
        async with api.transaction() as tx:
            token = await api_tokens.find(tx, secret)
            if token is None:
                return unauthenticated(origin, secret, request.url.path)
            key = str(token.id)
            if not api.per_token.allow(key, token.per_minute):
                wait = api.per_token.retry_after(key)
                if api.noted.allow(key):
                    api_tokens.refused(tx, token, origin, now, f"over its rate of {token.per_minute} a minute",
                                       target=request.url.path)
                return error(429, f"This token may make {token.per_minute} calls a minute: try again in {wait} s.",
                             code="RATE_LIMITED", headers={"retry-after": str(wait)})
            if not token.live:
                api_tokens.refused(tx, token, origin, now, "revoked token", target=request.url.path)
                return error(401, "This API token was revoked: ask an admin for a new one.", code="TOKEN_REVOKED",
                             headers=UNAUTHORISED)
            if scope != "any":
                try:
                    api_tokens.check(token, scope)
                except ScopeError as exc:
                    api_tokens.refused(tx, token, origin, now, f"needs scope {scope}", target=request.url.path)
                    return error(403, str(exc), code="OUT_OF_SCOPE")
        return await handler(request, Call(token, origin, api.base_url(request)))

    return endpoint


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object, read only up to MAX_BODY bytes (BodyTooLarge beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY):
        raise BodyTooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise BodyTooLarge
        chunks.append(chunk)
    try:
        body = json.loads(b"".join(chunks))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadInput("The body should be JSON (Content-Type: application/json).", code="NOT_JSON") from None
    if not isinstance(body, dict):
        raise BadInput("The body should be a JSON object: {\"person\": {…}}.", code="NOT_JSON")
    return body


class BodyTooLarge(Exception):
    pass


def too_large() -> JSONResponse:
    return error(413, f"The body is over {MAX_BODY:,} bytes: a sign-up is far smaller.", code="TOO_LARGE")


# -- pages ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Paging:
    """Which page a collection call asked for: its size, number and where it starts."""
    per_page: int
    number: int
    page: Page
    token: str = ""  # the page_token that asked for it ('' for the first page)


def paging(request: Request, key_types: tuple[type, ...]) -> Paging:
    """per_page (1–100, 25 unless given) and page_token (from a next or prev link; opaque)."""
    raw = request.query_params.get("per_page", "")
    if raw and (not raw.isdigit() or not 1 <= int(raw) <= MAX_PER_PAGE):
        raise BadInput(f"per_page should be a whole number from 1 to {MAX_PER_PAGE}.", "per_page")
    per_page = int(raw) if raw else PER_PAGE
    token = request.query_params.get("page_token", "")
    if not token:
        if request.query_params.get("page", "1") != "1":
            raise BadInput("Pages are reached by their links: follow _links.next.href (page_token), "
                           "not page=N.", "page")
        return Paging(per_page, 1, Page())
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)))
        direction, key, number = data["d"], tuple(data["k"]), data["n"]
        if direction not in ("a", "b") or len(key) != len(key_types) or not isinstance(number, int):
            raise ValueError
        if not all(type(k) is t for k, t in zip(key, key_types, strict=True)) or not 1 <= number <= 10**9:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError, json.JSONDecodeError):
        raise BadInput("That page_token is damaged: start again from the first page.", "page_token") from None
    return Paging(per_page, number, Page(after=key) if direction == "a" else Page(before=key), token)


def page_token(direction: str, key: tuple[Any, ...], number: int) -> str:
    raw = json.dumps({"d": direction, "k": list(key), "n": number}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")
