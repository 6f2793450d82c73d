"""The organisers' web console under /console/: sign-in through the bot, then one module per area.

Every page is server-rendered and works without JavaScript; every form is protected against
CSRF (asgi-csrf's double-submit cookie) and every response carries the security headers.
Authorisation is never decided here: pages call the organiser operations in flows.organiser,
which check the signed-in organiser's roles.
"""
from __future__ import annotations

from asgi_csrf import asgi_csrf
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bot.web.console import (
    audit,
    broadcasts,
    events,
    groups,
    inbox,
    language,
    organisers,
    overview,
    reports,
    signin,
    supporters,
    transfers,
)
from bot.web.console.base import SECURITY_HEADERS, Console
from bot.web.front import Headers

# Area modules, in the order of the navigation; each has routes(console) -> list[BaseRoute].
AREAS = (overview, supporters, events, broadcasts, inbox, groups, transfers, reports, organisers, audit, signin,
         language)


def routes(console: Console, secret: str) -> list[BaseRoute]:
    inner: list[BaseRoute] = [Mount("/static", app=StaticFiles(packages=[("bot.web", "static")]), name="static")]
    for area in AREAS:
        inner += area.routes(console)
    app = Starlette(routes=inner)
    protected = asgi_csrf(Headers(app, SECURITY_HEADERS), signing_secret=secret, cookie_path="/console",
                          cookie_secure=console.secure_cookies,
                          always_protect={"/console/login", "/console/login/code"},
                          skip_if_scope=transfers.checks_its_own_csrf)
    return [Mount("/console", app=protected)]
