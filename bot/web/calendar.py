"""Public event routes: `GET /events/<public id>.ics`, the calendar file linked from SMS confirmations."""
from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from flows.values import calendar
from storage import events
from storage.db import Database

log = logging.getLogger(__name__)

_PUBLIC_ID = re.compile(r"^[a-z0-9]{4,32}$")


def routes(database: Callable[[], Database | None], now: Callable[[], datetime], movement: str) -> list[BaseRoute]:
    """`database` is the open database (None before start and after stop); `movement` is the
    movement's name, written into each file."""

    async def ics(request: Request) -> Response:
        public_id = request.path_params["public_id"]
        db = database()
        if not _PUBLIC_ID.match(public_id) or db is None:
            return PlainTextResponse("no such event", status_code=404)
        async with db.transaction() as tx:
            event = await events.by_public_id(tx, public_id)
        if event is None or event.status == "draft":
            return PlainTextResponse("no such event", status_code=404)
        body = calendar.ics(event, now(), movement)
        return Response(body, media_type="text/calendar; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{calendar.filename(event)}"',
            "Cache-Control": "public, max-age=300",
        })

    return [Route("/events/{public_id}.ics", ics, methods=["GET"])]
