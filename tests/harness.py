"""A conversation harness: the real engine, outbox and dispatcher, sandbox channels and a fake clock.

    h = await Harness.create(tmp_path)
    replies = await h.say("sms", "+447400123456", "JOIN")   # texts delivered in answer
"""
from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import Any

from bot.channels.sandbox import SandboxChannel
from bot.dispatcher import Dispatcher
from flows.core.clock import FakeClock
from flows.core.engine import Engine, Handled
from flows.core.settings import FlowSettings
from flows.core.types import Inbound
from storage import open_database
from storage.db import Database

_ids = itertools.count(1)


async def _no_sleep(seconds: float) -> None:
    return None


class Harness:
    def __init__(self, db: Database, clock: FakeClock, settings: FlowSettings) -> None:
        self.db = db
        self.clock = clock
        self.channels = {"sms": SandboxChannel("sms"), "telegram": SandboxChannel("telegram")}
        self.engine = Engine(db, clock, settings)
        self.dispatcher = Dispatcher(db, self.channels, clock, sleep=_no_sleep)

    @classmethod
    async def create(cls, tmp_path: Path, settings: FlowSettings | None = None,
                     clock: FakeClock | None = None) -> Harness:
        db = await open_database(str(tmp_path / "muster.db"))
        return cls(db, clock or FakeClock(), settings or FlowSettings())

    async def close(self) -> None:
        await self.db.close()

    async def send(self, channel: str, address: str, text: str = "", *, choice: str | None = None,
                   provider_id: str | None = None, kind: str = "message", **extra: Any) -> Handled:
        message = Inbound(
            channel=channel, address=address, text=text, choice=choice,
            provider_id=provider_id or f"test:{next(_ids)}", received_at=self.clock.now(),
            kind=kind, extra=extra,
        )
        return (await self.engine.process([message]))[0]

    async def deliver(self) -> None:
        """Send everything due, on every channel."""
        for name in self.channels:
            while await self.dispatcher.drain_once(name):
                pass

    async def say(self, channel: str, address: str, text: str = "", **kwargs: Any) -> list[dict[str, Any]]:
        """Send a message and return what the bot sent back to that address."""
        await self.send(channel, address, text, **kwargs)
        await self.deliver()
        return self.channels[channel].pop(address)

    async def texts(self, channel: str, address: str, text: str = "", **kwargs: Any) -> str:
        """Like say(), as one string (messages joined by blank lines) for easy asserts."""
        return "\n\n".join(m["text"] for m in await self.say(channel, address, text, **kwargs))


def query_file(path: str | Path, sql: str, params: tuple = ()) -> list[tuple]:
    """Read a database file from synchronous test code (e.g. after a CLI command)."""
    async def go() -> list[tuple]:
        db = await open_database(str(path))
        try:
            async with db.transaction() as tx:
                return [tuple(r) for r in await tx.query(sql, params)]
        finally:
            await db.close()
    return asyncio.run(go())
