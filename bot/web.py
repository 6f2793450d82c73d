"""The web server's routes: health, metrics, the simulator and each channel's webhooks."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route

from bot import events_web, simulator
from bot.limits import BodyLimit
from bot.metrics import CONTENT_TYPE
from storage import outbox, space

if TYPE_CHECKING:
    from bot.service import Service


def build(service: Service) -> Starlette:
    def unwritable() -> str | None:
        """Why the database cannot take writes, though it still answers reads (None: it can)."""
        if service.engine is not None and service.engine.out_of_space:
            return f"{space.FULL}: the last messages could not be written"
        return space.shortage(service.settings.db_path)

    async def healthz(request: Request) -> Response:
        problems: dict[str, str] = {}
        database = service.db is not None and await service.db.ping()
        if database and (full := unwritable()):
            database, problems["database"] = False, full
        checks = {
            "database": database,
            "engine": service.engine is not None and service.engine.alive,
            "dispatcher": service.dispatcher is not None and service.dispatcher.alive,
            "scheduler": service.scheduler.alive,
        }
        healthy = all(checks.values())
        body: dict[str, object] = {"status": "ok" if healthy else "unhealthy", **checks}
        if problems:
            body["problems"] = problems
        return JSONResponse(body, 200 if healthy else 503)

    async def metrics(request: Request) -> Response:
        if service.db is not None:
            async with service.db.transaction() as tx:
                service.metrics.set_outbox_depth(await outbox.depth(tx))
        return Response(service.metrics.render(), media_type=CONTENT_TYPE)

    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if service.settings.simulator_enabled:
        routes += simulator.routes(service)
    for channel in service.channels.values():
        routes += channel.routes()
    routes += events_web.routes(service)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with service.running():
            yield

    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(BodyLimit)])
