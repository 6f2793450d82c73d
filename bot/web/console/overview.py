"""The console's first page: supporters in scope, sign-ups by day, upcoming events, recent broadcasts."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, signed_in
from flows.organiser import overview
from flows.organiser.signin import SignedIn

CHART_HEIGHT = 80


def routes(console: Console) -> list[BaseRoute]:
    async def page(request: Request, who: SignedIn) -> Response:
        async with console.transaction() as tx:
            seen = await overview.build(tx, who.actor, console.now())
        tallest = max((n for _, n in seen.signups), default=0) or 1
        bars = [(day, n, round(n * CHART_HEIGHT / tallest)) for day, n in seen.signups]
        return console.render(request, "overview.html", who=who, seen=seen, bars=bars,
                              chart_height=CHART_HEIGHT, total_signups=sum(n for _, n in seen.signups))

    return [Route("/", signed_in(console, page), methods=["GET"])]
