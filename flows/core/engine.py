"""The engine: turns inbound messages into state changes and queued replies, atomically.

Messages are handled in small batches that share one transaction (group commit):
each database round trip costs about 0.1 ms, so the writes of a whole batch go in a
handful of `executemany` calls. A batch never holds two messages from the same
sender, so their writes cannot interfere. If any step raises, the batch is rolled
back and each message is run again on its own; the one that fails again leaves only
its dedupe record and an apology. `handle()` returns once the message is committed.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.core import routes
from flows.core.clock import Clock
from flows.core.context import Context
from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Inbound, Reply
from flows.supporter import language
from flows.values.phones import masked_address
from flows.verdicts import delivery
from storage import conversations, inbound, outbox, space, supporters
from storage.conversations import Conversation
from storage.db import ConstraintFailed, Database, DatabaseBusy, Tx, parse_ts

log = logging.getLogger(__name__)

# How long a batch refused for a full disk keeps the service unhealthy when nothing arrives since.
FULL_REMEMBERED = timedelta(seconds=60)


@dataclass(frozen=True)
class Handled:
    duplicate: bool = False
    failed: bool = False
    throttled: bool = False


class StepFailed(Exception):
    pass


class Engine:
    def __init__(
        self, db: Database, clock: Clock, settings: FlowSettings | None = None,
        on_commit: Callable[[set[str]], None] | None = None, max_batch: int = 64,
    ) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or FlowSettings()
        self.on_commit = on_commit  # told, after a commit, the channels it queued replies on
        self._queued_on: set[str] = set()
        self.max_batch = max_batch
        self._queue: deque[tuple[Inbound, asyncio.Future[Handled]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._recent: dict[tuple[str, str], deque[float]] = {}  # sender → arrival times this minute
        self._full_at: datetime | None = None  # when a batch was last refused for a full disk

    # -- the running service ------------------------------------------------------
    async def handle(self, message: Inbound) -> Handled:
        """Queue a message for the next batch and wait until it is committed."""
        if self._task is None:
            return (await self.process([message]))[0]
        future: asyncio.Future[Handled] = asyncio.get_running_loop().create_future()
        self._queue.append((message, future))
        self._wake.set()
        return await future

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="engine")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        while self._queue:  # nothing waits forever
            _, future = self._queue.popleft()
            if not future.done():
                future.set_exception(RuntimeError("engine stopped"))

    @property
    def alive(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def out_of_space(self) -> bool:
        """The last batch could not be written because the disk (or the database's size limit) was
        full, less than FULL_REMEMBERED ago: the health check says so between messages too."""
        return self._full_at is not None and self.clock.now() - self._full_at < FULL_REMEMBERED

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
            batch: list[tuple[Inbound, asyncio.Future[Handled]]] = []
            senders: set[tuple[str, str]] = set()
            while self._queue and len(batch) < self.max_batch:
                key = (self._queue[0][0].channel, self._queue[0][0].address)
                if key in senders:
                    break
                senders.add(key)
                batch.append(self._queue.popleft())
            try:
                results: list[Handled | Exception] = list(await self.process([m for m, _ in batch]))
                self._full_at = None
            except DatabaseBusy as exc:  # another process held the write lock: nothing was written
                log.error("engine batch of %d not handled: %s; answered as unavailable", len(batch), exc)
                results = [exc] * len(batch)
            except Exception as exc:  # the database itself failed: callers get the error
                if space.is_full(exc):  # a traceback per batch would only fill the disk faster
                    self._full_at = self.clock.now()
                    log.error("engine batch of %d not handled: %s; answered as unavailable", len(batch), space.FULL)
                else:
                    log.exception("engine batch failed")
                results = [exc] * len(batch)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():
                    continue
                if isinstance(result, Handled):
                    future.set_result(result)
                else:
                    future.set_exception(result)

    # -- one batch ----------------------------------------------------------------
    async def process(self, batch: list[Inbound]) -> list[Handled]:
        """Handle a batch in one transaction; on a failing step or commit, one at a time."""
        try:
            async with self.db.transaction() as tx:
                results = await self._handle_batch(tx, batch)
        except (StepFailed, ConstraintFailed) as exc:
            clash = isinstance(exc, ConstraintFailed)
            if len(batch) == 1:
                if clash:
                    log.error("a message could not be committed: %s", exc)
                results = [await self._apologise(batch[0])]
            else:
                if clash:  # e.g. two messages of the batch picked the same new unique value
                    log.info("a batch of %d broke a constraint at commit (%s); one by one instead", len(batch), exc)
                results = [(await self.process([m]))[0] for m in batch]
        if self.on_commit and self._queued_on:
            queued_on, self._queued_on = self._queued_on, set()
            self.on_commit(queued_on)
        return results

    async def _handle_batch(self, tx: Tx, batch: list[Inbound]) -> list[Handled]:
        now = self.clock.now()
        ids = [m.provider_id or f"local:{uuid.uuid4().hex}" for m in batch]
        addresses: dict[str, list[str]] = {}
        for m in batch:
            addresses.setdefault(m.channel, []).append(m.address)
        # One round trip for the batch's dedupe records and what is known of its senders: the
        # claim first, the reads behind it.
        reads = [r for channel, some in addresses.items()
                 for r in (supporters.find_many(tx, channel, some), conversations.load_by_address(tx, channel, some))]
        fresh, *known = await tx.together(inbound.claim_new(tx, ids, now), *reads)
        todo = [m for m, pid in zip(batch, ids, strict=True) if pid in fresh]
        people: dict[tuple[str, str], supporters.Supporter] = {}
        states: dict[tuple[str, int], Conversation] = {}
        for n, channel in enumerate(addresses):
            found, loaded = known[2 * n], known[2 * n + 1]
            new = [m.address for m in todo if m.channel == channel and m.address not in found]
            found.update(await supporters.create_many(tx, channel, new, now))
            people.update({(channel, a): s for a, s in found.items()})
            states.update({(channel, sid): c for sid, c in loaded.items()})
        contexts = []
        for message in todo:
            person = people[(message.channel, message.address)]
            conv = states.get((message.channel, person.id)) or Conversation(person.id, message.channel)
            ctx = Context(tx, message, person, conv, self.clock, self.settings, routes.TABLE)
            self._expire(ctx)
            language.first_contact(ctx)
            contexts.append(ctx)
        # The reads the messages' steps will ask for, together: one round trip rather than one each.
        # One failing fails the batch as its step would have: one by one, then an apology.
        try:
            await tx.read_ahead(read for ctx in contexts for read in routes.read_ahead(ctx))
        except Exception as exc:
            if space.is_full(exc):
                raise
            log.exception("a read ahead of the batch's steps failed")
            raise StepFailed() from exc
        throttled = set()
        for ctx in contexts:
            message, conv = ctx.inbound, ctx.conversation
            flood = self._flood(message, ctx.now.timestamp())
            ctx.throttled = bool(flood)
            try:
                if flood and not routes.is_consent(ctx):
                    throttled.add(id(message))
                    if flood == 1:  # say so once, then stay quiet until the minute has passed
                        ctx.say("engine.throttled")
                else:
                    await routes.route(ctx)
            except Exception as exc:
                if space.is_full(exc):  # not this step's fault: an apology could not be written either
                    raise
                log.exception("step failed: flow=%s step=%s", conv.flow, conv.step)
                raise StepFailed() from exc
            self._commit_effects(ctx)
        return [Handled(duplicate=pid not in fresh, throttled=id(m) in throttled)
                for m, pid in zip(batch, ids, strict=True)]

    def _flood(self, message: Inbound, now: float) -> int:
        """0 within the limit; otherwise how far over it this sender is in the last minute."""
        if message.kind != "message":
            return 0
        key = (message.channel, message.address)
        times = self._recent.setdefault(key, deque())
        while times and times[0] <= now - 60:
            times.popleft()
        times.append(now)
        if len(self._recent) > 50_000:  # forget senders who have gone quiet
            self._recent = {k: v for k, v in self._recent.items() if v and v[-1] > now - 60}
        over = len(times) - self.settings.inbound_per_minute
        if over == 1:
            log.info("throttling %s sender %s: over %d messages a minute", message.channel,
                     masked_address(message.channel, message.address),
                     self.settings.inbound_per_minute)
        return max(over, 0)

    def _expire(self, ctx: Context) -> None:
        conv = ctx.conversation
        if conv.flow and conv.updated_at:
            idle = ctx.now - parse_ts(conv.updated_at)
            if idle > timedelta(minutes=self.settings.conversation_timeout_minutes):
                ctx.finish()

    def _commit_effects(self, ctx: Context) -> None:
        tx, person, channel = ctx.tx, ctx.supporter, ctx.channel
        supporters.seen(tx, person, channel, ctx.now)
        delivery.texted_in(tx, person, channel)
        conversations.save(tx, ctx.conversation, ctx.now)
        if person.consent(channel) == "opted_out" and not ctx.send_when_opted_out:
            return  # nothing more to an opted-out channel until they opt back in
        if ctx.replies:
            self._queued_on.add(channel)
        for reply in ctx.replies:
            outbox.enqueue(
                tx, channel, ctx.inbound.address, reply.to_payload(), ctx.now,
                supporter_id=person.id, priority=outbox.INTERACTIVE,
            )

    async def _apologise(self, message: Inbound) -> Handled:
        """The step failed on its own: keep the dedupe record and say sorry, nothing else."""
        async with self.db.transaction() as tx:
            now = self.clock.now()
            pid = message.provider_id or f"local:{uuid.uuid4().hex}"
            if not await inbound.claim_new(tx, [pid], now):
                return Handled(duplicate=True)
            found = await supporters.find_or_create_many(tx, message.channel, [message.address], now)
            person = found[message.address]
            if person.consent(message.channel) != "opted_out":
                self._queued_on.add(message.channel)
                outbox.enqueue(
                    tx, message.channel, message.address, Reply(t("engine.sorry", person.language)).to_payload(),
                    now, supporter_id=person.id,
                )
        return Handled(failed=True)
