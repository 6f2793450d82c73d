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

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.channels.base import Channel
from bot.channels.sandbox import SandboxChannel
from flows.core.engine import Handled
from flows.core.types import Inbound
from flows.values import phones

MAX_TEXT = 4096


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
           now: Callable[[], datetime]) -> list[BaseRoute]:
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
        result = await submit(message)
        return JSONResponse({"ok": True, "address": address, "duplicate": result.duplicate})

    async def messages(request: Request) -> Response:
        try:
            channel = request.query_params.get("channel", "")
            box = sandbox(channel)
            address = address_for(channel, request.query_params.get("address", ""))
            after = int(request.query_params.get("after", "0"))
            wait = min(float(request.query_params.get("wait", "0")), 25.0)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        found = await box.wait(address, after, wait) if wait > 0 else box.messages(address, after)
        return JSONResponse({"address": address, "messages": found})

    return [
        Route("/", page, methods=["GET"]),
        Route("/sim/send", send, methods=["POST"]),
        Route("/sim/messages", messages, methods=["GET"]),
    ]
