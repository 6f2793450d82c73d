"""The web simulator: chat with the bot as any phone number or Telegram user (sandbox only).

It can speak as anyone, so it exists only in sandbox mode or when MUSTER_SIMULATOR
is set for a local test.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import Channel
from bot.channels.sandbox import SandboxChannel
from flows.core.engine import Handled
from flows.core.types import Inbound
from flows.values import phones
from storage import privacy
from storage.db import Database

MAX_TEXT = 4096
FAVICON = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" '
           b'fill="#8b1e1e"/><path d="M3 12V4l5 5 5-5v8" stroke="#fff" stroke-width="2" fill="none"/></svg>')


def address_for(channel: str, raw: str) -> str:
    """The channel identity for what a person typed, or ValueError saying what is expected."""
    if channel == "sms":
        phone = phones.normalise(raw)
        if phone is None:
            raise ValueError("address: expected a phone number such as +447400123456")
        return phone
    if channel == "telegram":
        if not raw.strip().isdigit() or int(raw) <= 0:
            raise ValueError("address: expected a Telegram user id, a positive whole number")
        return str(int(raw))
    raise ValueError("channel: expected 'sms' or 'telegram'")


def routes(channels: Mapping[str, Channel], submit: Callable[[Inbound], Awaitable[Handled]],
           now: Callable[[], datetime], database: Callable[[], Database | None]) -> list[BaseRoute]:
    """`submit` hands a message to the engine and returns once it is committed."""

    def sandbox(channel: str) -> SandboxChannel:
        found = channels.get(channel)
        if not isinstance(found, SandboxChannel):
            raise ValueError(f"channel: {channel!r} is not a sandbox channel here")
        return found

    async def page(request: Request) -> Response:
        html = resources.files("bot.web").joinpath("static/simulator.html").read_text(encoding="utf-8")
        return HTMLResponse(html)

    async def send(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
            if not isinstance(body, dict):
                raise ValueError("body: expected a JSON object")
            channel = str(body.get("channel", ""))
            sandbox(channel)
            address = address_for(channel, str(body.get("address", "")))
            text = str(body.get("text") or "")[:MAX_TEXT]
            choice = body.get("choice")
            if not text and not choice:
                raise ValueError("text: say something, or pick a choice")
        except json.JSONDecodeError:
            return JSONResponse({"error": "body: expected JSON"}, 400)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        message = Inbound(
            channel=channel, address=address, text=text, choice=str(choice) if choice else None,
            provider_id=f"sim:{uuid.uuid4().hex}", received_at=now(),
        )
        await sandbox(channel).heard(address, text or str(body.get("label") or choice))
        result = await submit(message)
        return JSONResponse({"ok": True, "address": address, "duplicate": result.duplicate})

    async def unerased(box: SandboxChannel, address: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The conversation without anything from before its supporter was erased (forgotten too)."""
        db = database()
        if db is None or not found:
            return found
        async with db.transaction() as tx:
            erased = await privacy.erased_messages(tx, [int(m["outbox_id"]) for m in found if "outbox_id" in m])
        if not erased:
            return found
        cut = max(int(m["id"]) for m in found if m.get("outbox_id") in erased)
        after = [int(m["id"]) for m in found if "outbox_id" in m and int(m["id"]) > cut]
        if after:  # what they said up to the next message sent (the erasure's own confirmation) goes too
            cut = min(after) - 1
        box.forget(address, cut)
        return [m for m in found if int(m["id"]) > cut]

    async def messages(request: Request) -> Response:
        try:
            channel = request.query_params.get("channel", "")
            box = sandbox(channel)
            address = address_for(channel, request.query_params.get("address", ""))
            after = int(request.query_params.get("after", "0"))
            wait = min(float(request.query_params.get("wait", "0")), 25.0)
            both = request.query_params.get("both") == "1"  # what they said too
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        if wait > 0:
            found = await box.wait(address, after, wait, both=both)
        else:
            found = box.conversation(address, after) if both else box.messages(address, after)
        return JSONResponse({"address": address, "messages": await unerased(box, address, found)})

    async def favicon(request: Request) -> Response:
        return Response(FAVICON, media_type="image/svg+xml", headers={"cache-control": "max-age=86400"})

    return [
        Route("/", page, methods=["GET"]),
        Route("/sim/send", send, methods=["POST"]),
        Route("/sim/messages", messages, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
    ]
