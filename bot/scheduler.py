"""The scheduler: a thin shell over APScheduler that only wakes things up.

The database is the source of truth. Jobs carry no state: each one calls a due-work
function `async def due(now) -> None` that reads the database and does whatever is
due. A periodic sweep calls all of them, so nothing is lost if a wake-up is missed
or the service was down; `wake_at()` adds a one-off wake-up for an exact time.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from flows.core.clock import Clock
from storage import space
from storage.db import DatabaseBusy

log = logging.getLogger(__name__)

DueWork = Callable[[datetime], Awaitable[None]]
Leader = Callable[[], Awaitable[bool]]


class Scheduler:
    def __init__(self, clock: Clock, sweep_seconds: float = 30.0, leader: Leader | None = None) -> None:
        self.clock = clock
        self.sweep_seconds = sweep_seconds
        # Several workers on one database: only the one holding the due-work lease (an advisory lock
        # on PostgreSQL) runs the sweep; the others skip it until the holder dies and one takes over.
        self.leader = leader
        self.work: dict[str, DueWork] = {}
        self._aps: AsyncIOScheduler | None = None

    def register(self, name: str, due: DueWork) -> None:
        self.work[name] = due

    async def run_due(self) -> bool:
        """Call every due-work function once with the current time (also what tests call); with
        several workers, only in the one that holds the lease. Returns whether it ran here."""
        if self.leader is not None:
            try:
                if not await self.leader():
                    return False
            except Exception as exc:  # the database cannot be reached: the next sweep asks again
                log.warning("due work put off: could not take the due-work lease: %s", exc)
                return False
        now = self.clock.now()
        for name, due in list(self.work.items()):
            try:
                await due(now)
            except DatabaseBusy as exc:  # another process held the write lock; the next sweep tries again
                log.warning("due work %s put off: %s", name, exc)
            except Exception as exc:
                if space.is_full(exc):  # nothing was written; the next sweep tries again
                    log.error("due work %s put off: %s", name, space.FULL)
                else:
                    log.exception("due work %s failed", name)
        return True

    def start(self) -> None:
        self._aps = AsyncIOScheduler(timezone="UTC")
        self._aps.add_job(
            self.run_due, "interval", seconds=self.sweep_seconds, id="sweep",
            next_run_time=datetime.now(self.clock.now().tzinfo), coalesce=True, max_instances=1,
        )
        self._aps.start()

    def wake_at(self, when: datetime, name: str) -> None:
        """Run the sweep at `when` as well (e.g. a broadcast scheduled for 18:00)."""
        if self._aps is not None:
            self._aps.add_job(
                self.run_due, "date", run_date=when, id=f"wake:{name}:{when.isoformat()}",
                replace_existing=True, misfire_grace_time=None,
            )

    def stop(self) -> None:
        if self._aps is not None:
            self._aps.shutdown(wait=False)
            self._aps = None

    @property
    def alive(self) -> bool:
        return self._aps is not None and self._aps.running
