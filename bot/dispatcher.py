"""The dispatcher: drains the outbox, one worker per channel, at each channel's pace.

At most once: rows are committed as `sending` (owned by this instance, for a lease) before the
provider is called, as handed over just before, and as `sent`/`failed` after; a crash in between
leaves them `sending`, and the next owner of the database marks those handed over `unknown` for
organisers to see. A row whose pacing lets it go the moment it is claimed is handed over in the
claim's own transaction; the others when their turn comes. Only errors known to mean "not sent"
are retried.

No head-of-line blocking: each send is its own task, so a hung provider request holds one slot of
the in-flight window (`batch`), never the channel; claims look at most about a second of pacing
ahead, so a reply queued behind a broadcast waits for that second, not for the whole window.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial

from bot.channels.base import Channel, SendError
from bot.commit_group import CommitGroup
from bot.pacing import Pacer
from flows.core.clock import Clock
from flows.core.types import Reply
from flows.organiser import reports
from flows.verdicts import delivery
from storage import instances, outbox
from storage.db import Database, DatabaseBusy, Tx, parse_ts
from storage.outbox import OutboxRow, Outcome

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
# Rows queued by another process (the CLI) cannot wake us, so an idle worker looks every second.
IDLE_POLL_SECONDS = 1.0
LEASE_SECONDS = 60.0  # a claim's lease; renewed every third of it while sends are in flight
HEARTBEAT_SECONDS = LEASE_SECONDS / 3  # how often a worker beats and renews its leases
JOINING_POLL_SECONDS = 2.0


def instance_id() -> str:
    """Who claims: host, pid and a random part, unique across restarts and machines."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


# Each pacer's configured rate, as first seen: a share set by an earlier dispatcher is not a rate.
_BASE_RATES: weakref.WeakKeyDictionary[Pacer, float | None] = weakref.WeakKeyDictionary()


class _Lost(Exception):
    """The row's claim was recovered by another worker before its hand-over was recorded: not ours to send."""


@dataclass
class _Booked:
    """A claimed row's reply and its pacing slot, booked when it was claimed."""
    reply: Reply
    at: float  # the moment of its slot (the clock's timestamp)
    handed: bool  # its hand-over was committed with the claim: it goes at once


@dataclass
class _Finished:
    row: OutboxRow
    outcome: Outcome
    error: SendError | None


class Dispatcher:
    def __init__(
        self, db: Database, channels: dict[str, Channel], clock: Clock, *,
        batch: int = 50, attempts: int = 5, sleep: Sleep = asyncio.sleep,
        on_outcome: Callable[[str, str], None] | None = None, per_address_per_minute: int | None = None,
        owner: str | None = None, stop_grace: float = 10.0,
    ) -> None:
        self.db = db
        self.channels = channels
        self.clock = clock
        self.batch = batch
        self.attempts = attempts
        self.sleep = sleep
        self.on_outcome = on_outcome  # (channel, status) for metrics
        self.owner = owner or instance_id()
        self.stop_grace = stop_grace  # seconds a stop waits for sends already handed to a provider
        # A cap per recipient, so no bug or loop can flood one person; the rest waits.
        self.per_address_per_minute = per_address_per_minute
        self._recent: dict[str, deque[float]] = {}
        self._wake = {name: asyncio.Event() for name in channels}
        self._workers: list[asyncio.Task[None]] = []
        self._sends: dict[str, set[asyncio.Task[None]]] = {name: set() for name in channels}
        self._due: dict[str, str | None] = {}  # per channel, when the next queued row is due, as of the last claim
        self._pacing: dict[str, set[asyncio.Task[None]]] = {name: set() for name in channels}  # not yet handed over
        self._stopping = False
        # Hand-overs (row ids, committed before their sends) and outcomes (after theirs) share
        # transactions: two a cycle with the claim, not three.
        self._records: CommitGroup[int | _Finished] = CommitGroup(self._write_records)
        # Several workers on one database (PostgreSQL) share each channel's rate: each paces at its
        # share, the configured rate divided by the workers alive at the last heartbeat. A worker that
        # joins others sends nothing until each of them has beaten since, and so paces at the smaller
        # share: until then their shares and its own would add up to more than the rate.
        self._joining = False
        self._registered = False
        self._rates = {name: _BASE_RATES.setdefault(channel.pacer, channel.pacer.rate)
                       for name, channel in channels.items()}
        self.workers = 1
        self._lost: set[int] = set()  # claims found taken back when their hand-over was recorded
        # Outcomes whose recording failed (a deadlock, a lost connection): still our claims, recorded
        # at the next heartbeat, so a row is never left `sending` by a worker that is alive.
        self._unrecorded: list[_Finished] = []
        # The send under way for each row: a claim recovered while this worker was cut off, queued
        # again and claimed by it once more, must not start a second send beside the first.
        self._live: dict[int, asyncio.Task[None]] = {}

    async def recover(self, *, others_gone: bool = True) -> tuple[int, int]:
        """Claims of instances that are gone: rows never handed to a provider are queued again; rows
        that were may have gone out, so they are marked `unknown` and never resent. `others_gone`:
        the caller knows no other instance is alive (it holds the database lock); otherwise only
        claims whose lease has run out are touched. Returns (requeued, unknown)."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            live = (await instances.alive(tx, now - timedelta(seconds=LEASE_SECONDS))
                    if self.db.shared and not others_gone else [])
            requeued, unknown = await outbox.recover(tx, now, self.owner, others_gone=others_gone, alive=live)
        if requeued:
            log.info("%d outbox rows claimed but never handed to a provider at the last stop; queued again", requeued)
        if unknown:
            log.warning("%d outbox rows were mid-send at the last stop; marked unknown", unknown)
        return requeued, unknown

    async def start(self, *, others_gone: bool = True) -> None:
        if self.db.shared:  # registered before anything is claimed, so no other worker takes us for gone
            await self.heartbeat()
        await self.recover(others_gone=others_gone)
        self._stopping = False
        self._workers = [asyncio.create_task(self._work(name), name=f"dispatch-{name}") for name in self.channels]
        self._workers.append(asyncio.create_task(self._renew_leases(), name="dispatch-leases"))

    async def stop(self) -> None:
        """Stop claiming; sends already handed to a provider get `stop_grace` seconds to answer and
        are recorded; what is still unanswered then becomes `unknown`, and rows still waiting for
        their turn go back to the queue."""
        self._stopping = True
        workers, self._workers = self._workers, []
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        for waiting in self._pacing.values():
            for task in waiting:
                task.cancel()
        sends = [task for tasks in self._sends.values() for task in tasks]
        if sends:
            _, late = await asyncio.wait(sends, timeout=self.stop_grace)
            if late:
                log.warning("%d sends still unanswered after %.0fs; stopping without their results",
                            len(late), self.stop_grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*sends, return_exceptions=True)
        await self._records.drain()
        await self._record_late()
        try:
            async with self.db.transaction() as tx:
                requeued, unknown = await outbox.release(tx, self.clock.now(), self.owner)
        except Exception:
            log.exception("could not settle this instance's claims at stop; the next start will")
            return
        if self.db.shared:
            try:
                async with self.db.transaction() as tx:
                    instances.forget(tx, self.owner)
            except Exception as exc:  # its heartbeat then simply stops; it counts as gone after the lease
                log.warning("could not record this worker's stop: %s", exc)
        if unknown:
            log.warning("%d outbox rows were handed to a provider that did not answer in time; marked unknown",
                        unknown)

    @property
    def alive(self) -> bool:
        return bool(self._workers) and all(not t.done() for t in self._workers)

    def wake(self, channels: Iterable[str] | None = None) -> None:
        """Look at the outbox now: rows were queued on these channels (None: on any)."""
        for name in self._wake if channels is None else channels:
            if name in self._wake:
                self._wake[name].set()

    def _seconds(self) -> float:
        return self.clock.now().timestamp()

    async def _work(self, name: str) -> None:
        while not self._stopping:
            try:
                room = self._room(name)
                if room <= 0:
                    wait = IDLE_POLL_SECONDS  # a send handed over or finished wakes us first
                elif await self._claim(name, room) == room:
                    continue  # there may be more due
                else:
                    wait = self._idle_wait(name)
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

    def _room(self, name: str) -> int:
        """How many rows to claim now: free slots of the window, and no more than about a second
        of pacing ahead. Below a quarter of that, wait for more to free up (fewer, larger claims)."""
        if self._joining:
            return 0
        ahead = self.channels[name].pacer.batch_size(self.batch)
        room = min(self.batch - len(self._sends[name]), ahead - len(self._pacing[name]))
        return room if room >= max(1, ahead // 4) or not self._sends[name] else 0

    async def _claim(self, name: str, limit: int, address: str | None = None) -> int:
        """Claim up to `limit` due rows and start a send for each; returns how many."""
        now = self.clock.now()
        sends, pacing, wake, live = self._sends[name], self._pacing[name], self._wake[name], self._live
        async with self.db.transaction() as tx:
            # With the claim, when the next row still queued is due: how long to wait if it fell short.
            rows, self._due[name] = await tx.together(
                outbox.claim(tx, name, now, limit, address, owner=self.owner,
                             lease_until=now + timedelta(seconds=LEASE_SECONDS)),
                outbox.next_due(tx, name))
            # Rows that may go this moment are handed over in this transaction: one fewer for each. Should
            # it fail, their pacing slots were booked for nothing, and the next claim's start a little later.
            booked = {row.id: self._book(self.channels[name], row) for row in rows if row.id not in live}
            ready = [row_id for row_id, booking in booked.items() if booking is not None and booking.handed]
            if ready:
                outbox.hand(tx, ready, now, self.owner)
        if rows and self._unrecorded:  # claimed again: what was left to record belongs to the old claim
            again = {row.id for row in rows}
            self._unrecorded = [f for f in self._unrecorded if f.row.id not in again]

        def done(row_id: int, task: asyncio.Task[None]) -> None:
            sends.discard(task)
            pacing.discard(task)
            if live.get(row_id) is task:
                del live[row_id]
            wake.set()

        for row in rows:
            if row.id in live:  # still on its way under an earlier claim of ours: that send carries on, once
                continue
            booking = booked[row.id]
            task = asyncio.create_task(self._deliver(name, row, booking), name=f"send-{name}-{row.id}")
            live[row.id] = task
            sends.add(task)
            if booking is None or not booking.handed:
                pacing.add(task)
            task.add_done_callback(partial(done, row.id))
        return len(rows)

    def _idle_wait(self, name: str) -> float:
        due = self._due.get(name)
        if due is None:
            return IDLE_POLL_SECONDS
        return min(IDLE_POLL_SECONDS, max(0.0, (parse_ts(due) - self.clock.now()).total_seconds()))

    async def drain_once(self, name: str, address: str | None = None) -> int:
        """Claim one batch of due rows for a channel, send them and record the outcomes (tests, chat)."""
        channel = self.channels[name]
        count = await self._claim(name, channel.pacer.batch_size(self.batch), address)
        while self._sends[name]:
            await asyncio.gather(*self._sends[name])
        return count

    async def heartbeat(self) -> int:
        """Several workers on one database: say this one is alive, renew its claims, recover the
        expired claims of workers whose heartbeats stopped, and pace each channel at this worker's
        share of its rate. Returns how many workers are alive."""
        now = self.clock.now()
        first = not self._registered
        async with self.db.transaction() as tx:
            instances.beat(tx, self.owner, socket.gethostname(), now)
            if self._holding():
                outbox.renew(tx, self.owner, now + timedelta(seconds=LEASE_SECONDS))
            seen = await instances.seen(tx, now - timedelta(seconds=LEASE_SECONDS))
            live = list(seen)
            requeued, unknown = await outbox.recover(tx, now, self.owner, others_gone=False, alive=live)
            await instances.forget_before(tx, now - timedelta(days=1))
        self._registered = True
        if requeued or unknown:
            log.warning("claims of workers gone: %d queued again, %d marked unknown", requeued, unknown)
        # Who has not beaten since this worker joined, among those still beating (a worker silent for
        # longer than its heartbeat's interval is dead or cut off: it sends nothing, so it is not waited for).
        joined = parse_ts(seen[self.owner][0]) if self.owner in seen else now
        beating = now - timedelta(seconds=HEARTBEAT_SECONDS + 5)
        waiting = sum(beating <= parse_ts(beat) < joined + timedelta(seconds=1)
                      for other, (_, beat) in seen.items() if other != self.owner)
        if first or self._joining:
            self._joining = waiting > 0
            if self._joining:
                log.info("%d other workers have not yet counted this one in their share of the pace; "
                         "sending once they have", waiting)
        self.workers = max(1, len(live))
        for name, channel in self.channels.items():
            rate = self._rates[name]
            channel.pacer.rate = rate / self.workers if rate else rate
        return self.workers

    async def _renew_leases(self) -> None:
        while True:  # a joining worker asks more often whether the others have counted it yet
            await asyncio.sleep(JOINING_POLL_SECONDS if self._joining else HEARTBEAT_SECONDS)
            if self.db.shared:
                try:
                    await self.heartbeat()
                except Exception as exc:  # the next beat tries again, well within the lease
                    log.warning("could not record this worker's heartbeat: %s", exc)
            elif self._holding():
                try:
                    async with self.db.transaction() as tx:
                        outbox.renew(tx, self.owner, self.clock.now() + timedelta(seconds=LEASE_SECONDS))
                except Exception as exc:  # the next renewal tries again, well within the lease
                    log.warning("could not renew outbox leases: %s", exc)
            await self._record_late()

    def _holding(self) -> bool:
        """Whether this worker holds claims: sends in flight, or outcomes still to record."""
        return bool(self._unrecorded) or any(self._sends.values())

    async def _record_late(self) -> None:
        """Record the outcomes whose first recording failed; those failing again wait for the next beat."""
        if not self._unrecorded:
            return
        late, self._unrecorded = self._unrecorded, []
        try:
            await self._write_finished(late)
        except Exception as exc:
            self._unrecorded = late + self._unrecorded
            log.warning("%d outcomes still not recorded: %s; trying again at the next heartbeat", len(late), exc)
        else:
            log.info("%d outcomes recorded late", len(late))

    async def _deliver(self, name: str, row: OutboxRow, booking: _Booked | None) -> None:
        """Send one claimed row and record its outcome."""
        try:
            outcome, error = await self._send(self.channels[name], row, booking)
        except _Lost:
            log.warning("outbox row %s on %s: its claim expired and was recovered by another worker; not sent",
                        row.id, name)
            return
        finished = _Finished(row, outcome, error)
        try:
            await self._records.add(finished)
        except Exception:
            log.exception("outbox row %s on %s: outcome %s could not be recorded; it stays claimed and is "
                          "recorded at the next heartbeat", row.id, name, outcome.status)
            self._unrecorded.append(finished)
            return
        if self.on_outcome:
            self.on_outcome(name, "retry" if outcome.status == "queued" else outcome.status)

    async def _write_records(self, items: list[int | _Finished]) -> None:
        """One transaction for the hand-overs and outcomes asked for together."""
        async with self.db.transaction() as tx:
            handed = [item for item in items if isinstance(item, int)]
            if handed:
                await self._write_handed(tx, handed)
            done = [item for item in items if isinstance(item, _Finished)]
            if done:
                await self._write_outcomes(tx, done)

    async def _write_finished(self, done: list[_Finished]) -> None:
        async with self.db.transaction() as tx:
            await self._write_outcomes(tx, done)

    async def _write_outcomes(self, tx: Tx, done: list[_Finished]) -> None:
        now = self.clock.now()
        outbox.finish(tx, [f.outcome for f in done], now, self.owner)
        for f in done:
            error = f.error
            if error and (error.opt_out or error.undeliverable):
                await delivery.provider_signal(
                    tx, f.row.supporter_id, f.row.channel, now, opt_out=error.opt_out,
                    undeliverable=error.undeliverable, code=error.code,
                )
        # A broadcast is sent the moment its last message is settled, not at the next sweep.
        settled = {f.row.broadcast_id for f in done if f.row.broadcast_id and f.outcome.status != "queued"}
        if settled:
            await reports.settle(tx, settled, now)

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

    def _book(self, channel: Channel, row: OutboxRow) -> _Booked | None:
        """Book a just-claimed row's pacing slot; None when its recipient has had their fill for the
        minute (its send then says so) or its payload cannot be read (its send then fails on it)."""
        try:
            reply = Reply.from_payload(row.payload)
        except Exception:
            return None
        if self._capped(row) is not None:
            return None
        at, now = self._reserve(channel, row, reply), self._seconds()
        return _Booked(reply, at, at <= now and not channel.pacer.paused(now) and channel.pacer.settle(now) <= 0)

    def _reserve(self, channel: Channel, row: OutboxRow, reply: Reply) -> float:
        """Book the row's pacing slot: the moment it may go."""
        now = self._seconds()
        return now + channel.pacer.reserve(now, row.address, channel.cost(reply))

    async def _send(self, channel: Channel, row: OutboxRow,
                    booking: _Booked | None) -> tuple[Outcome, SendError | None]:
        if booking is None:  # not booked at the claim: its recipient was over their cap, or its payload unreadable
            reply = Reply.from_payload(row.payload)
            free_at = self._capped(row)
            if free_at is not None:
                log.warning("outbox row %s waits: recipient cap of %d a minute reached on %s",
                            row.id, self.per_address_per_minute, channel.name)
                retry_at = datetime.fromtimestamp(free_at, UTC)
                return Outcome(row.id, "capped", error_code="capped", retry_at=retry_at), None
            booking = _Booked(reply, self._reserve(channel, row, reply), False)
        reply = booking.reply
        if booking.handed:  # its hand-over was committed with the claim
            channel.pacer.sent(self._seconds())
            return await self._call(channel, row, reply)
        if (wait := booking.at - self._seconds()) > 0:
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
        self._pacing[row.channel].discard(asyncio.current_task())  # no longer cancelled by a stop
        try:
            await self._records.add(row.id)
        except Exception:  # not recorded as handed over, so not sent: try again shortly
            log.warning("outbox row %s on %s: could not record the hand-over; not sent, retrying", row.id, channel.name)
            return Outcome(row.id, "queued", error_code="db", retry_at=self.clock.now() + timedelta(seconds=1)), None
        if row.id in self._lost:
            self._lost.discard(row.id)
            raise _Lost
        self._wake[row.channel].set()  # a place in the pacing look-ahead is free
        channel.pacer.sent(self._seconds())
        return await self._call(channel, row, reply)

    async def _call(self, channel: Channel, row: OutboxRow, reply: Reply) -> tuple[Outcome, SendError | None]:
        """The provider, for a row handed over: whatever happens now, it may have gone out."""
        try:
            sent = await channel.send(row, reply)
        except SendError as error:
            return self._failed(channel, row, error), error
        except Exception as error:  # an adapter bug: we cannot know whether it went out
            log.exception("unexpected error sending outbox row %s on %s", row.id, channel.name)
            return Outcome(row.id, "unknown", error=type(error).__name__), None
        return Outcome(row.id, "sent", provider_id=sent.provider_id), None

    async def _write_handed(self, tx: Tx, ids: list[int]) -> None:
        """Record that rows are about to reach their provider. A crash before this commits leaves them
        claimed but not handed over, and recovery queues them again instead of marking them `unknown`."""
        outbox.hand(tx, ids, self.clock.now(), self.owner)
        if self.db.shared:  # another worker may have recovered a claim whose lease ran out
            self._lost.update(set(ids) - await outbox.owned(tx, ids, self.owner))

    def _failed(self, channel: Channel, row: OutboxRow, error: SendError) -> Outcome:
        now = self.clock.now()
        if error.retry_after:
            channel.pacer.pause(self._seconds(), error.retry_after)
            log.warning("%s asked us to pause %.1fs", channel.name, error.retry_after)
        if error.retryable and row.attempts < self.attempts:
            delay = error.retry_after or min(2 ** row.attempts, 300)
            log.info("outbox row %s on %s: %s; retry %d in %.0fs",
                     row.id, channel.name, error.code, row.attempts, delay)
            return Outcome(row.id, "queued", error_code=error.code, error=str(error)[:200],
                           retry_at=now + timedelta(seconds=delay))
        if error.maybe_sent and not error.retryable:  # like a crash mid-send: shown, never resent
            log.warning("outbox row %s on %s: %s; may have been sent, marked unknown", row.id, channel.name, error.code)
            return Outcome(row.id, "unknown", error_code=error.code, error=str(error)[:200])
        log.info("outbox row %s on %s failed: %s", row.id, channel.name, error.code or error)
        return Outcome(row.id, "failed", error_code=error.code, error=str(error)[:200])
