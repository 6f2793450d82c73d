"""The Starlette application: the routes it is given, behind the body limit, with the service's
start and stop as its lifespan."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bot.web.middleware import BodyLimit


def build(routes: Sequence[BaseRoute], running: Callable[[], AbstractAsyncContextManager[object]]) -> Starlette:
    """`running()` starts the service on entry and stops it on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running():
            yield

    return Starlette(routes=list(routes), lifespan=lifespan, middleware=[Middleware(BodyLimit)])
