"""The composition root: builds the database, engine, channels, dispatcher and scheduler, and runs them."""
from __future__ import annotations

import contextlib
import logging
import secrets
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from starlette.applications import Starlette

from bot import demo
from bot.channels.base import Channel
from bot.channels.sandbox import Receipts, SandboxChannel
from bot.channels.sms import SmsChannel
from bot.channels.telegram import TelegramChannel
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.metrics import Metrics
from bot.scheduler import Scheduler
from bot.web import api, console, monitoring, public, simulator
from bot.web import app as web_app
from bot.web import calendar as calendar_routes
from bot.web.api.base import Api
from bot.web.console.base import Console
from flows.core.clock import Clock, SystemClock
from flows.core.engine import Engine, Handled
from flows.core.types import Inbound
from flows.due import broadcasts as due_broadcasts
from flows.due import event_notices
from storage import broadcasts as broadcast_store
from storage import deployment, inbound, open_database, privacy, space
from storage.db import Database, parse_ts
from storage.lock import DatabaseLock

log = logging.getLogger(__name__)


class Service:
    def __init__(self, settings: Settings, clock: Clock | None = None, *,
                 lock: DatabaseLock | None = None, db: Database | None = None) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        # One service per database: the lock proves every earlier holder gone, so their claims
        # on the outbox can be recovered. `muster run` takes it (and opens the database) before
        # binding its port; otherwise start() does.
        self.lock = lock or DatabaseLock(settings.db_path)
        self.metrics = Metrics()
        self.channels: dict[str, Channel] = self._build_channels()
        self.scheduler = Scheduler(self.clock, leader=self._due_lease if settings.shared_database else None)
        self.db: Database | None = db
        self.engine: Engine | None = None
        self.dispatcher: Dispatcher | None = None
        self.app: Starlette = self._build_app()

    def _build_channels(self) -> dict[str, Channel]:
        """A live channel where its credentials are set, the sandbox otherwise."""
        settings = self.settings
        channels: dict[str, Channel] = {}
        if settings.telegram_live:
            # Polling with several workers: one polls, by lease; the webhook needs none (any worker answers).
            lease = self._poll_lease if settings.shared_database and not settings.telegram_webhook_url else None
            channels["telegram"] = TelegramChannel(settings, self.submit, self.clock, poll_lease=lease)
        else:
            channels["telegram"] = SandboxChannel("telegram", settings.sandbox_rate("telegram"))
        if settings.sms_live:
            channels["sms"] = SmsChannel(settings, self.submit, self.clock, database=lambda: self.db)
        else:
            receipts = Receipts(lambda: self.db, self.clock, settings.sandbox_failure_rate)
            channels["sms"] = SandboxChannel("sms", settings.sandbox_rate("sms"), receipts)
        return channels

    def _build_app(self) -> Starlette:
        """The web app: each route gets only what it uses; its lifespan runs the service."""
        def database() -> Database | None:  # None until start, and after stop
            return self.db

        routes = monitoring.routes(database=database, unwritable=self._unwritable, alive=self._alive,
                                   metrics=self.metrics)
        if self.settings.simulator_enabled:
            routes += simulator.routes(self.channels, self.submit, self.clock.now, database)
        for channel in self.channels.values():
            routes += channel.routes()
        routes += calendar_routes.routes(database, self.clock.now, self.settings.movement)
        routes += console.routes(Console(database, self.clock.now, self.settings, self._wake_dispatcher),
                                 self.settings.secret_key or secrets.token_urlsafe(32))
        routes += api.routes(Api(database, self.clock.now, self.settings, self._wake_dispatcher))
        routes += public.routes(public.Public(database, self.clock.now, self.settings, self._wake_dispatcher),
                                self.settings.secret_key or secrets.token_urlsafe(32))
        return web_app.build(routes, self.running)

    def _wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def _unwritable(self) -> str | None:
        """Why the database cannot take writes, though it still answers reads (None: it can)."""
        if self.engine is not None and self.engine.out_of_space:
            return f"{space.FULL}: the last messages could not be written"
        if self.settings.shared_database:
            return None  # the server's disk is the server's to watch
        return space.shortage(self.settings.db_path)

    async def _due_lease(self) -> bool:
        """Whether this worker runs due work (one of several on PostgreSQL: the advisory lock's holder)."""
        return self.db is not None and await self.db.leader("due")

    async def _poll_lease(self) -> bool:
        """Whether this worker polls Telegram (one of several on PostgreSQL: the advisory lock's holder)."""
        return self.db is not None and await self.db.leader("telegram-poll")

    def _alive(self) -> dict[str, bool]:
        """Whether each running part is alive, as /healthz reports it."""
        return {
            "engine": self.engine is not None and self.engine.alive,
            "dispatcher": self.dispatcher is not None and self.dispatcher.alive,
            "scheduler": self.scheduler.alive,
        }

    def _register_jobs(self) -> None:
        """Due-work functions the scheduler's sweep calls (each reads the database)."""
        db = self.db
        if db is None:
            raise RuntimeError("the database is not open: open it before registering the jobs")

        async def forget_old_inbound_ids(now: datetime) -> None:
            async with db.transaction() as tx:
                await inbound.forget_before(tx, now - timedelta(days=7))

        self.scheduler.register("inbound_seen", forget_old_inbound_ids)

        event_settings = self.settings.flow_settings()

        async def event_notices_due(now: datetime) -> None:
            """Reminders, change and cancellation notices, attendance questions."""
            async with db.transaction() as tx:
                queued = await event_notices.run(tx, now, event_settings)
            if queued and self.dispatcher is not None:
                self.dispatcher.wake()

        self.scheduler.register("events", event_notices_due)

        wal_pending = False  # the log still holds erased data that a busy checkpoint could not clear

        async def scrub_erased_addresses(now: datetime) -> None:
            nonlocal wal_pending
            wal_pending = await privacy.sweep(db, wal_pending)

        self.scheduler.register("erasure_scrub", scrub_erased_addresses)

        broadcast_settings = self.settings.flow_settings()

        async def broadcasts_due(now: datetime) -> None:
            """Start due broadcasts (missed ones are reported), report progress, and wake for the next."""
            async with db.transaction() as tx:
                await due_broadcasts.run_due(tx, now, broadcast_settings)
                upcoming = await broadcast_store.upcoming(tx, now)
            for when in upcoming[:50]:  # APScheduler only wakes us; the database says what is due
                self.scheduler.wake_at(parse_ts(when), "broadcast")
            quiet = due_broadcasts.quiet_hours_begin(now, broadcast_settings)
            if quiet:  # hold bulk SMS the moment quiet hours begin, not at the next sweep
                self.scheduler.wake_at(quiet, "quiet")
            if self.dispatcher is not None:
                self.dispatcher.wake()

        self.scheduler.register("broadcasts", broadcasts_due)

    async def submit(self, message: Inbound) -> Handled:
        """Hand one verified inbound message to the engine; returns once it is committed."""
        if self.engine is None:
            raise RuntimeError("service is not running")
        try:
            result = await self.engine.handle(message)
        except Exception:
            self.metrics.inbound.labels(message.channel, "error").inc()
            raise
        label = ("duplicate" if result.duplicate else "failed" if result.failed
                 else "throttled" if result.throttled else "ok")
        self.metrics.inbound.labels(message.channel, label).inc()
        return result

    async def start(self) -> None:
        """Take the database, then recover, dispatch, start the channels and the scheduler; a start
        that fails part-way undoes what it did (an open database would keep the process alive)."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        settings = self.settings
        if not settings.shared_database:  # on PostgreSQL several workers share it: leases, not a lock
            self.lock.acquire()
        if self.db is None:
            self.db = await open_database(settings.database, check=True)
        try:  # what a command from another shell decides by
            async with self.db.transaction() as tx:
                await deployment.record(tx, settings.deployment(), self.clock.now())
        except sqlite3.OperationalError as exc:
            if not space.is_full(exc):
                raise
            log.warning("could not record the settings for the command line: %s", space.FULL)
        if settings.sandbox and settings.demo:
            await demo.seed(self.db, self.clock)
        self.dispatcher = Dispatcher(
            self.db, self.channels, self.clock, batch=settings.outbox_batch, attempts=settings.send_attempts,
            on_outcome=lambda channel, status: self.metrics.outbound.labels(channel, status).inc(),
            per_address_per_minute=settings.outbound_per_minute, stop_grace=settings.stop_grace,
        )
        self.engine = Engine(self.db, self.clock, settings.flow_settings(), on_commit=self.dispatcher.wake)
        self.engine.start()
        await self.dispatcher.start(others_gone=self.lock.held)
        for channel in self.channels.values():
            await channel.start()
        self._register_jobs()
        self.scheduler.start()
        mode = "sandbox" if settings.sandbox else "live"
        log.info("muster running in %s mode (database %s)", mode, self.db.path)

    async def stop(self) -> None:
        self.scheduler.stop()
        if self.dispatcher:  # first, while the channels can still hear the answers to sends in flight
            await self.dispatcher.stop()
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.stop()
        if self.engine:
            await self.engine.stop()
        if self.db:
            await self.db.close()
            self.db = None
        self.lock.release()
        log.info("muster stopped")

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Service]:
        await self.start()
        try:
            yield self
        finally:
            await self.stop()
