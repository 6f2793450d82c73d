"""Request body limit: anything larger than a webhook could honestly be is refused with 413."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 256 * 1024  # Telegram updates and Twilio forms are a few KiB
# Routes that take a file: their own limit, and the body is streamed to the route (which spools it
# to disk) rather than read here. The declared length is required and checked before anything is read.
UPLOADS = {"/console/import": 20 * 1024 * 1024}  # a CSV of supporters
# The API checks its token before it reads a body, and reads at most its own limit (bot.web.api.base).
OWN_LIMIT = "/api/"


class BodyLimit:
    """Reads the body up front (it is small by construction) and replays it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD") or scope["path"].startswith(OWN_LIMIT):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        upload = UPLOADS.get(scope.get("path", ""))
        if upload is not None:
            if declared is None or not declared.isdigit() or int(declared) > upload:
                await self._refuse(send, upload)
                return
            await self.app(scope, receive, send)
            return
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, limit: int | None = None) -> None:
        payload = json.dumps({"error": f"request body over {limit or self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})
