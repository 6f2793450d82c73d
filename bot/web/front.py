"""What every web front (the console, the public pages, the API) shares: the running service's
database, clock, settings and dispatcher, one transaction at a time, the base of its links, and
the security headers each front puts on every answer."""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings
from storage.db import Database, Tx


@dataclass
class Front:
    """What a front's routes need from the running service, and nothing more."""
    database: Callable[[], Database | None]  # None until the service starts, and after it stops
    now: Callable[[], datetime]
    settings: Settings
    wake: Callable[[], None]  # the dispatcher: something was queued

    @property
    def secure_cookies(self) -> bool:
        return (self.settings.public_url or "").startswith("https://")

    def base_url(self, request: Request) -> str:
        return (self.settings.public_url or str(request.base_url)).rstrip("/")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        db = self.database()
        if db is None:
            raise RuntimeError("the service is not running")
        async with db.transaction() as tx:
            yield tx


class Headers:
    """These headers on every response the app sends; a header the response sets itself wins
    (a page's own Cache-Control, say)."""

    def __init__(self, app: ASGIApp, headers: Sequence[tuple[bytes, bytes]]) -> None:
        self.app = app
        self.headers = list(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(k, v) for k, v in self.headers if k not in names]]
            await send(message)

        await self.app(scope, receive, with_headers)
