"""What a flow step sees and does while handling one inbound message."""
from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

from flows.core import keywords
from flows.core.clock import Clock
from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Choice, Inbound, Reply
from storage import organisers, outbox
from storage.conversations import Conversation
from storage.db import Tx
from storage.supporters import Supporter

Handler = Callable[["Context"], Awaitable[None]]

_NUMBERS = re.compile(r"^\s*\d+(?:[\s,]+\d+)*\s*$")


class Router(Protocol):
    """The routing table, as a step that hands a message on sees it (flows.core.routes.TABLE)."""

    def keyword(self, name: str) -> Handler | None: ...

    async def pass_on(self, ctx: Context) -> None:
        """Route as if the consent keywords had not looked at this message."""


class Context:
    """One inbound message being handled: its supporter, their conversation, and the replies."""

    def __init__(
        self, tx: Tx, inbound: Inbound, supporter: Supporter, conversation: Conversation,
        clock: Clock, settings: FlowSettings, router: Router | None = None,
    ) -> None:
        self.tx = tx
        self._router = router
        self.inbound = inbound
        self.supporter = supporter
        self.conversation = conversation
        self.clock = clock
        self.now: datetime = clock.now()
        self.settings = settings
        self.replies: list[Reply] = []
        # Replies still sent when the supporter is opted out here (the one opt-out confirmation).
        self.send_when_opted_out = False
        # The sender is over the flood limit: only their consent keywords are being answered.
        self.throttled = False
        # What a step's read-ahead (flows.core.routes.Flow.ahead) chose for the step to use: a
        # candidate referral code it has already looked up, say.
        self.ahead: dict[str, Any] = {}
        self.text = inbound.text.strip()
        self._word: str | None = None
        self.args = ""  # what followed a keyword, as typed
        self.choice, self.picked = self._resolve_choice()

    @property
    def channel(self) -> str:
        return self.inbound.channel

    @property
    def word(self) -> str:
        """The text read as a keyword (flows.core.keywords.normalise), worked out once."""
        if self._word is None:
            self._word = keywords.normalise(self.text)
        return self._word

    @property
    def router(self) -> Router:
        if self._router is None:
            raise RuntimeError("this context was made without a routing table")
        return self._router

    def _resolve_choice(self) -> tuple[str | None, list[str]]:
        """A pressed button, or on text channels a number naming one of the choices offered last."""
        if self.inbound.choice is not None:
            keys = [k for k in self.inbound.choice.split(",") if k]
            return (keys[0] if keys else None), keys
        offered = self.conversation.choices
        if offered and _NUMBERS.match(self.text):
            numbers = [int(n) for n in re.findall(r"\d+", self.text)]
            if all(1 <= n <= len(offered) for n in numbers):
                keys = list(dict.fromkeys(offered[n - 1] for n in numbers))
                return keys[0], keys
        return None, []

    # -- saying things -------------------------------------------------------------
    def t(self, key: str, **values: Any) -> str:
        return t(key, self.supporter.language, **values)

    def reply(self, text: str, choices: Iterable[Choice] = (), **options: Any) -> None:
        options.setdefault("lang", self.supporter.language)
        reply = Reply(text, tuple(choices), **options)
        self.replies.append(reply)
        if reply.choices:
            self.conversation.choices = [c.key for c in reply.choices]

    def say(self, key: str, choices: Iterable[Choice] = (), **values: Any) -> None:
        self.reply(self.t(key, **values), choices)

    def notify(
        self, channel: str, address: str, reply: Reply, *, supporter_id: int | None = None,
        priority: int = outbox.NOTICE, dedupe_key: str | None = None,
    ) -> None:
        """Queue a message to someone other than the sender (a promoted waitlister, a group chat)."""
        outbox.enqueue(
            self.tx, channel, address, reply.to_payload(), self.now,
            supporter_id=supporter_id, priority=priority, dedupe_key=dedupe_key,
        )

    # -- moving through a flow ----------------------------------------------------
    def begin(self, flow: str, step: str, data: dict[str, Any] | None = None) -> None:
        conv = self.conversation
        conv.flow, conv.step, conv.data, conv.misses, conv.choices = flow, step, dict(data or {}), 0, []

    def goto(self, step: str) -> None:
        self.conversation.step, self.conversation.misses, self.conversation.choices = step, 0, []

    def finish(self) -> None:
        conv = self.conversation
        conv.flow, conv.step, conv.data, conv.misses, conv.choices = None, None, {}, 0, []

    def miss(self) -> int:
        """Count one unusable answer at the current step; returns misses so far."""
        self.conversation.misses += 1
        return self.conversation.misses

    # -- who is asking ---------------------------------------------------------------
    async def roles(self) -> list[organisers.Role]:
        """Organiser roles held by the sender, read from our database on every call."""
        telegram_id = int(self.inbound.address) if self.channel == "telegram" else None
        phone = self.supporter.phone
        return await organisers.roles_for(self.tx, phone, telegram_id or self.supporter.telegram_id)
