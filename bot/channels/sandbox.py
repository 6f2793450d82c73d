"""The sandbox channel: delivers into memory, where the simulator, the terminal chat and tests read it.

Used for every channel when no credentials are set; `sms` shows choices as numbered
lines, `telegram` as buttons, as the real channels would. Given a database (the running
service), the SMS sandbox also reports delivery as Twilio does, a moment after each send:
`sent`, then `delivered`, or `undelivered` with a carrier's error code for a share of broadcast
texts (MUSTER_SANDBOX_FAILURE_RATE), recorded by the same code as Twilio's status webhook. Telegram
has no delivery receipts, in the sandbox as for real: `sent` is final.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import zlib
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.routing import BaseRoute

from bot.channels.base import SendError, Sent
from bot.channels.render import as_text
from bot.pacing import Pacer
from flows.core.clock import Clock
from flows.core.types import Reply
from flows.values.segments import count_segments
from flows.verdicts import sms_status
from storage.db import Database
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

_ids = itertools.count(1)
# Provider ids stay unique across restarts of the sandbox (receipts are kept by provider id).
_RUN = secrets.token_hex(4)
# Undelivered codes a carrier gives, with how often each comes up among failures.
FAILURE_CODES = (("30003", 4), ("30005", 1), ("30006", 2), ("30007", 2), ("30008", 1))


@dataclass(frozen=True)
class Receipts:
    """Where and how the SMS sandbox records its delivery receipts."""
    database: Callable[[], Database | None]
    clock: Clock
    failure_rate: float = 0.0  # 0–1: the share of texts reported undelivered
    seconds: float = 1.0       # about how long after the send the final receipt comes


def verdict(outbox_id: int, failure_rate: float) -> str | None:
    """The sandbox carrier's verdict on one message: None for delivered, else an error code. The same
    message always gets the same one, so a run with a failure rate is repeatable."""
    roll = zlib.crc32(f"fail:{outbox_id}".encode())
    if roll % 10_000 >= failure_rate * 10_000:
        return None
    pick = zlib.crc32(f"code:{outbox_id}".encode()) % sum(w for _, w in FAILURE_CODES)
    for code, weight in FAILURE_CODES:
        if pick < weight:
            return code
        pick -= weight
    return FAILURE_CODES[-1][0]


class SandboxChannel:
    def __init__(self, name: str, rate: float | None = None, receipts: Receipts | None = None) -> None:
        self.name = name
        self.pacer = Pacer(rate)
        self.receipts = receipts if name == "sms" else None  # Telegram sends no receipts
        self.delivered: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.said: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self._failures: list[SendError] = []
        self._changed = asyncio.Condition()
        self._reporting: dict[str, tuple[asyncio.Task[None], str, str | None, str]] = {}

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        """Receipts still to come are recorded at once, so no text is left awaiting one."""
        waiting, self._reporting = self._reporting, {}
        for task, *_ in waiting.values():
            task.cancel()
        for task, *_ in waiting.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if waiting:
            await self._record([(pid, status, code, to) for pid, (_, status, code, to) in waiting.items()])

    def routes(self) -> list[BaseRoute]:
        return []

    def cost(self, reply: Reply) -> float:
        """SMS: segments, which is what a provider's rate counts; one message otherwise."""
        if self.name == "sms":
            return float(max(1, count_segments(as_text(reply)).segments))
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
        provider_id = f"SB{_RUN}{message['id']:010d}"
        if self.receipts is not None:
            # Only broadcast texts fail: a sign-in link or a reply always arrives in the sandbox.
            code = verdict(row.id, self.receipts.failure_rate) if row.broadcast_id else None
            final = "undelivered" if code else "delivered"
            task = asyncio.create_task(self._report(provider_id, final, code, row.address),
                                       name=f"receipt-{provider_id}")
            self._reporting[provider_id] = (task, final, code, row.address)
        return Sent(provider_id=provider_id)

    async def _report(self, provider_id: str, final: str, code: str | None, to: str) -> None:
        """As Twilio's status callbacks would: `sent` soon, the final word a little later."""
        assert self.receipts is not None
        spread = 0.5 + (zlib.crc32(provider_id.encode()) % 1000) / 1000  # 0.5–1.5 × the usual wait
        await asyncio.sleep(self.receipts.seconds * spread * 0.3)
        await self._record([(provider_id, "sent", None, to)])
        await asyncio.sleep(self.receipts.seconds * spread * 0.7)
        self._reporting.pop(provider_id, None)
        await self._record([(provider_id, final, code, to)])

    async def _record(self, receipts: list[tuple[str, str, str | None, str]]) -> None:
        """Each receipt as Twilio's status webhook records one (flows.verdicts.sms_status)."""
        assert self.receipts is not None
        db = self.receipts.database()
        if db is None:
            return
        try:
            async with db.transaction() as tx:
                for provider_id, status, code, to in receipts:
                    await sms_status.record(tx, provider_id, status, code, to, self.receipts.clock.now())
        except Exception:  # a receipt lost is a text left "sent"; never a reason to stop sending
            log.exception("sandbox receipts for %d texts could not be recorded", len(receipts))

    def messages(self, address: str, after: int = 0) -> list[dict[str, Any]]:
        return [m for m in self.delivered.get(address, []) if m["id"] > after]

    async def heard(self, address: str, text: str) -> None:
        """What the person at `address` said, kept beside what they were sent (the simulator's
        conversation shows both after a reload)."""
        async with self._changed:
            self.said[address].append({"id": next(_ids), "from": "supporter", "text": text})
            self._changed.notify_all()

    def conversation(self, address: str, after: int = 0) -> list[dict[str, Any]]:
        """Both sides, oldest first: what they said ("from": "supporter") and what they were sent."""
        theirs = [m for m in self.said.get(address, []) if m["id"] > after]
        return sorted(theirs + self.messages(address, after), key=lambda m: int(m["id"]))

    def forget(self, address: str, up_to: int) -> None:
        """Drop both sides of the conversation up to and including message `up_to` (an erasure)."""
        for box in (self.delivered, self.said):
            kept = [m for m in box.get(address, []) if m["id"] > up_to]
            if kept:
                box[address] = kept
            else:
                box.pop(address, None)

    def pop(self, address: str) -> list[dict[str, Any]]:
        """Take everything delivered to this address so far (tests push, then pop)."""
        return self.delivered.pop(address, [])

    async def wait(self, address: str, after: int = 0, timeout: float = 10.0,
                   both: bool = False) -> list[dict[str, Any]]:
        """Messages to this address newer than `after` (and what it said, with `both`), waiting up to
        `timeout` for the first."""
        read = self.conversation if both else self.messages
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: bool(read(address, after))), timeout)
            except TimeoutError:
                pass
        return read(address, after)
