"""Health and metrics: `GET /healthz` for the load balancer, `GET /metrics` for Prometheus."""
from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.metrics import CONTENT_TYPE, Metrics
from storage import outbox
from storage.db import Database


def routes(*, database: Callable[[], Database | None], unwritable: Callable[[], str | None],
           alive: Callable[[], dict[str, bool]], metrics: Metrics) -> list[BaseRoute]:
    """`database` is the open database (None before start and after stop); `unwritable` says why it
    cannot take writes (None: it can); `alive` is each running part's liveness, by name."""

    async def healthz(request: Request) -> Response:
        problems: dict[str, str] = {}
        db = database()
        ready = db is not None and await db.ping()
        if ready and (full := unwritable()):
            ready, problems["database"] = False, full
        checks = {"database": ready, **alive()}
        healthy = all(checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "unhealthy", **checks}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, 200 if healthy else 503)

    async def render(request: Request) -> Response:
        db = database()
        if db is not None:
            async with db.transaction() as tx:
                metrics.set_outbox_depth(await outbox.depth(tx))
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    return [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", render, methods=["GET"]),
    ]
