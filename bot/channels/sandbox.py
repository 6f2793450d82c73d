"""The sandbox channel: delivers into memory, where the simulator, the terminal chat and tests read it.

Used for every channel when no credentials are set; `sms` shows choices as numbered
lines, `telegram` as buttons, as the real channels would.
"""
from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from typing import Any

from starlette.routing import BaseRoute

from bot.channels.base import SendError, Sent
from bot.channels.render import as_text
from bot.pacing import Pacer
from flows.core.types import Reply
from storage.outbox import OutboxRow

_ids = itertools.count(1)


class SandboxChannel:
    def __init__(self, name: str, rate: float | None = None) -> None:
        self.name = name
        self.pacer = Pacer(rate)
        self.delivered: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._failures: list[SendError] = []
        self._changed = asyncio.Condition()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def routes(self) -> list[BaseRoute]:
        return []

    def cost(self, reply: Reply) -> float:
        return 1.0

    def fail_next(self, error: SendError, times: int = 1) -> None:
        """Make the next sends fail with this error (tests)."""
        self._failures.extend([error] * times)

    async def send(self, row: OutboxRow, reply: Reply) -> Sent:
        if self._failures:
            raise self._failures.pop(0)
        message: dict[str, Any] = {"id": next(_ids), "outbox_id": row.id}
        if self.name == "telegram":
            message["text"] = reply.text
            message["choices"] = [
                {"key": c.key, "label": c.label, **({"url": c.url} if c.url else {})} for c in reply.choices
            ]
            message["multi"] = reply.multi
            message["request_contact"] = reply.request_contact
        else:
            message["text"] = as_text(reply)
        if reply.document:
            message["document"] = reply.document.filename
        async with self._changed:
            self.delivered[row.address].append(message)
            self._changed.notify_all()
        return Sent(provider_id=f"sandbox-{message['id']}")

    def messages(self, address: str, after: int = 0) -> list[dict[str, Any]]:
        return [m for m in self.delivered.get(address, []) if m["id"] > after]

    def pop(self, address: str) -> list[dict[str, Any]]:
        """Take everything delivered to this address so far (tests push, then pop)."""
        return self.delivered.pop(address, [])

    async def wait(self, address: str, after: int = 0, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Messages to this address newer than `after`, waiting up to `timeout` for the first."""
        async with self._changed:
            try:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: bool(self.messages(address, after))), timeout
                )
            except TimeoutError:
                pass
        return self.messages(address, after)
