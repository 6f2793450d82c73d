"""The public web pages: events at /e/<public id>, listings at /events and /g/<group>, sign-up at
/join and /g/<group>/join, and their stylesheet. No JavaScript, nothing from another site.

Every form is protected against CSRF (asgi-csrf's double-submit cookie, under its own name and with
the path /, so it covers these pages and never shadows the console's); a POST without the cookie is
refused too (a bookmarked form cannot be replayed by another site). Pages with a form are never
cached; listings for a minute; the stylesheet for a day (its URL carries its hash).
"""
from __future__ import annotations

from typing import Any

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from bot.web.front import Headers
from bot.web.public import pages
from bot.web.public.base import Public

__all__ = ["Public", "routes"]

CSRF_COOKIE = "muster_csrf"
# No inline script or style; images only from here (none are used); forms post only here.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


class _EveryPath:
    """asgi-csrf's `always_protect`: every path, so a POST that comes without any cookie is refused."""

    def __contains__(self, path: object) -> bool:
        return True


class _Asgi:
    """An ASGI app as a Route's endpoint (a plain function would be taken for a request handler)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def routes(public: Public, secret: str) -> list[BaseRoute]:
    inner = pages.routes(public)
    protected = _Asgi(Headers(asgi_csrf(Starlette(routes=inner), cookie_name=CSRF_COOKIE, signing_secret=secret,
                                         signing_namespace="muster-public", cookie_path="/",
                                         cookie_secure=public.secure_cookies, always_protect=_EveryPath()), HEADERS))
    # The same paths outside, each handing the request to the protected app (which routes it again).
    paths = dict.fromkeys(r.path for r in inner if isinstance(r, Route))
    return [Route(path, endpoint=protected) for path in paths]
