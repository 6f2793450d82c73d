"""The one interface every channel implements, and its typed send errors."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from starlette.routing import BaseRoute

from bot.pacing import Pacer
from flows.core.types import Reply
from storage.outbox import OutboxRow


class SendError(Exception):
    """A send that did not succeed, typed so the dispatcher knows what to do next.

    retryable: known not to have been sent (HTTP 429, connection refused) — try again later.
    retry_after: the provider asked the whole channel to pause this many seconds.
    opt_out: the provider says this recipient has opted out or blocked us.
    undeliverable: the address can never receive (invalid, landline).
    maybe_sent: no answer (timeout, connection lost mid-request): it may have gone out.
    """

    def __init__(
        self, message: str, *, retryable: bool, code: str | None = None,
        retry_after: float | None = None, opt_out: bool = False, undeliverable: bool = False,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.retry_after = retry_after
        self.opt_out = opt_out
        self.undeliverable = undeliverable
        self.maybe_sent = maybe_sent


@dataclass(frozen=True)
class Sent:
    provider_id: str | None = None


class Channel(Protocol):
    name: str
    pacer: Pacer

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> list[BaseRoute]: ...

    def cost(self, reply: Reply) -> float:
        """Pacing units one message uses (SMS: segments)."""
        ...

    async def send(self, row: OutboxRow, reply: Reply) -> Sent:
        """Deliver one message or raise SendError."""
        ...
