"""The dispatcher: drains the outbox, one worker per channel, at each channel's pace.

At most once: rows are committed as `sending` before the provider is called and as
`sent`/`failed` after; a crash in between leaves them `sending`, and start-up marks
those `unknown` for organisers to see. Only errors known to mean "not sent" are retried.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from collections import deque
from datetime import datetime, timedelta, timezone

from bot.channels.base import Channel, SendError
from flows import delivery
from flows.clock import Clock
from flows.types import Reply
from storage import outbox
from storage.db import Database, DatabaseBusy, parse_ts
from storage.outbox import Outcome, OutboxRow

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Rows queued by another process (the CLI) cannot wake us, so an idle worker looks every second.
IDLE_POLL_SECONDS = 1.0


class Dispatcher:
    def __init__(
        self, db: Database, channels: dict[str, Channel], clock: Clock, *,
        batch: int = 50, attempts: int = 5, sleep: Sleep = asyncio.sleep,
        on_outcome: Callable[[str, str], None] | None = None, per_address_per_minute: int | None = None,
    ) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self.attempts = attempts
        self.sleep = sleep
        self.on_outcome = on_outcome  # (channel, status) for metrics
        # A cap per recipient, so no bug or loop can flood one person; the rest waits.
        self.per_address_per_minute = per_address_per_minute
        self._recent: dict[str, deque[float]] = {}
        self._wake = {name: asyncio.Event() for name in channels}
        self._tasks: list[asyncio.Task] = []
        self._handing: tuple[list[int], asyncio.Future] | None = None

    async def recover(self) -> tuple[int, int]:
        """After a crash: rows never handed to a provider are queued again; rows that were may
        have gone out, so they are marked `unknown` and never resent. Returns (requeued, unknown)."""
        async with self.db.transaction() as tx:
            requeued, unknown = await outbox.recover(tx, self.clock.now())
        if requeued:
            log.info("%d outbox rows claimed but never handed to a provider at the last stop; queued again", requeued)
        if unknown:
            log.warning("%d outbox rows were mid-send at the last stop; marked unknown", unknown)
        return requeued, unknown

    async def start(self) -> None:
        await self.recover()
        self._tasks = [asyncio.create_task(self._work(name), name=f"dispatch-{name}") for name in self.channels]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    @property
    def alive(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    def wake(self) -> None:
        for event in self._wake.values():
            event.set()

    def _seconds(self) -> float:
        return self.clock.now().timestamp()

    async def _work(self, name: str) -> None:
        while True:
            try:
                if await self.drain_once(name):
                    continue
                wait = await self._idle_wait(name)
            except asyncio.CancelledError:
                raise
            except DatabaseBusy as exc:  # another process held the write lock: nothing was claimed
                log.warning("dispatcher for %s: %s; carrying on", name, exc)
                wait = 1.0
            except Exception:
                log.exception("dispatcher for %s failed; carrying on", name)
                wait = 1.0
            event = self._wake[name]
            try:
                await asyncio.wait_for(event.wait(), wait)
            except TimeoutError:
                pass
            event.clear()

    async def _idle_wait(self, name: str) -> float:
        async with self.db.transaction() as tx:
            due = await outbox.next_due(tx, name)
        if due is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.0, (parse_ts(due) - self.clock.now()).total_seconds()))

    async def drain_once(self, name: str, address: str | None = None) -> int:
        """Claim one batch of due rows for a channel, send them, record the outcomes."""
        channel = self.channels[name]
        async with self.db.transaction() as tx:
            rows = await outbox.claim(
                tx, name, self.clock.now(), channel.pacer.batch_size(self.batch), address
            )
        if not rows:
            return 0
        results = await asyncio.gather(*(self._send(channel, row) for row in rows))
        now = self.clock.now()
        async with self.db.transaction() as tx:
            outbox.finish(tx, [outcome for outcome, _ in results], now)
            for (outcome, error), row in zip(results, rows):
                if error and (error.opt_out or error.undeliverable):
                    await delivery.provider_signal(
                        tx, row.supporter_id, name, now, opt_out=error.opt_out,
                        undeliverable=error.undeliverable, code=error.code,
                    )
        if self.on_outcome:
            for outcome, _ in results:
                self.on_outcome(name, "retry" if outcome.status == "queued" else outcome.status)
        return len(rows)

    def _capped(self, row: OutboxRow) -> float | None:
        """When this recipient has had their fill for the minute: the time the next may go."""
        if not self.per_address_per_minute:
            return None
        now = self._seconds()
        times = self._recent.setdefault(f"{row.channel}:{row.address}", deque())
        while times and times[0] <= now - 60:
            times.popleft()
        if len(times) >= self.per_address_per_minute:
            return times[0] + 60
        times.append(now)
        if len(self._recent) > 50_000:
            self._recent = {k: v for k, v in self._recent.items() if v and v[-1] > now - 60}
        return None

    async def _send(self, channel: Channel, row: OutboxRow) -> tuple[Outcome, SendError | None]:
        reply = Reply.from_payload(row.payload)
        free_at = self._capped(row)
        if free_at is not None:
            log.warning("outbox row %s waits: recipient cap of %d a minute reached on %s",
                        row.id, self.per_address_per_minute, channel.name)
            retry_at = datetime.fromtimestamp(free_at, timezone.utc)
            return Outcome(row.id, "capped", error_code="capped", retry_at=retry_at), None
        wait = channel.pacer.reserve(self._seconds(), row.address, channel.cost(reply))
        if wait > 0:
            await self.sleep(wait)
        # A 429 to another send while this one waited pauses it too: book again after the pause.
        while channel.pacer.paused(now := self._seconds()):
            await self.sleep(channel.pacer.reserve(now, row.address, channel.cost(reply)))
            if self._seconds() == now:  # a clock that sleeping does not move (tests): never spin
                break
        for _ in range(3):  # bounded: other sends may record while this one sleeps
            extra = channel.pacer.settle(self._seconds())
            if extra <= 0:
                break
            await self.sleep(extra)
        try:
            await self._hand(row.id)
        except Exception:  # not recorded as handed over, so not sent: try again shortly
            log.warning("outbox row %s on %s: could not record the hand-over; not sent, retrying", row.id, channel.name)
            return Outcome(row.id, "queued", error_code="db", retry_at=self.clock.now() + timedelta(seconds=1)), None
        channel.pacer.sent(self._seconds())
        try:
            sent = await channel.send(row, reply)
        except SendError as error:
            return self._failed(channel, row, error), error
        except Exception as error:  # an adapter bug: we cannot know whether it went out
            log.exception("unexpected error sending outbox row %s on %s", row.id, channel.name)
            return Outcome(row.id, "unknown", error=type(error).__name__), None
        return Outcome(row.id, "sent", provider_id=sent.provider_id), None

    async def _hand(self, row_id: int) -> None:
        """Commit that a row is about to reach its provider. Sends that get here in the same
        turn of the event loop share one transaction; a crash before this commit leaves the
        row claimed but not handed over, and recovery queues it again instead of `unknown`."""
        if self._handing is None:
            self._handing = ([], asyncio.get_running_loop().create_future())
            asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._write_handed()))
        ids, done = self._handing
        ids.append(row_id)
        await asyncio.shield(done)

    async def _write_handed(self) -> None:
        assert self._handing is not None
        (ids, done), self._handing = self._handing, None
        try:
            async with self.db.transaction() as tx:
                outbox.hand(tx, ids, self.clock.now())
        except Exception as exc:
            done.set_exception(exc)
        except BaseException:
            done.cancel()
            raise
        else:
            done.set_result(None)

    def _failed(self, channel: Channel, row: OutboxRow, error: SendError) -> Outcome:
        now = self.clock.now()
        if error.retry_after:
            channel.pacer.pause(self._seconds(), error.retry_after)
            log.warning("%s asked us to pause %.1fs", channel.name, error.retry_after)
        if error.retryable and row.attempts < self.attempts:
            delay = error.retry_after or min(2 ** row.attempts, 300)
            log.info("outbox row %s on %s: %s; retry %d in %.0fs", row.id, channel.name, error.code, row.attempts, delay)
            return Outcome(row.id, "queued", error_code=error.code, error=str(error)[:200],
                           retry_at=now + timedelta(seconds=delay))
        if error.maybe_sent and not error.retryable:  # like a crash mid-send: shown, never resent
            log.warning("outbox row %s on %s: %s; may have been sent, marked unknown", row.id, channel.name, error.code)
            return Outcome(row.id, "unknown", error_code=error.code, error=str(error)[:200])
        log.info("outbox row %s on %s failed: %s", row.id, channel.name, error.code or error)
        return Outcome(row.id, "failed", error_code=error.code, error=str(error)[:200])
