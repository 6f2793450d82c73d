"""The OSDI-compatible API under /api/: read-only people, events, attendances and tags for a read
token, the Person Signup Helper for a signup token, and its OpenAPI description (no token needed).

JSON in and out (HAL+JSON, OSDI's shape), authenticated by a token in the OSDI-API-Token header (or
`Authorization: Bearer`): no cookies, so no CSRF. The token is checked before a body is read (the
app's own body buffering leaves /api/ alone; bot.web.api.base reads at most 16 KiB).
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from bot.web.api import openapi, reads, signup
from bot.web.api.base import Api, error, hal


def routes(api: Api) -> list[BaseRoute]:
    async def description(request: Request) -> Response:
        return hal(openapi.document(api.base_url(request)))

    async def unknown(request: Request) -> Response:
        return error(404, f"There is no {request.url.path} in this API: see /api/openapi.json.", code="NOT_FOUND")

    inner: list[BaseRoute] = [Route("/openapi.json", description, methods=["GET"]),
                              *reads.routes(api), *signup.routes(api),
                              Route("/{rest:path}", unknown, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])]
    return [Mount("/api", routes=inner)]
