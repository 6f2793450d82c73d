"""The sandbox as a provider: SMS delivery receipts a moment after each send, through the same recording
as Twilio's status webhook (some undelivered with a carrier's code, at MUSTER_SANDBOX_FAILURE_RATE);
none on Telegram, where sent is final; its pace from the providers' rate settings when they are set."""
from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.channels import sandbox
from bot.channels.sandbox import FAILURE_CODES, Receipts, SandboxChannel, verdict
from bot.config import load
from bot.dispatcher import Dispatcher
from bot.service import Service
from flows.core.clock import FakeClock
from flows.core.settings import FlowSettings
from flows.organiser import reports
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import broadcasts as store
from storage import open_database, outbox
from storage.broadcasts import Audience
from storage.db import Database
from tests.flows.broadcast_support import person

SETTINGS = FlowSettings(sms_quiet_hours="")
CLI = Actor(trusted=True)
CODES = {code for code, _ in FAILURE_CODES}


async def _no_sleep(seconds: float) -> None:
    return None


class Provider:
    """A database, the sandbox channels with receipts (quick ones), and the real dispatcher."""

    def __init__(self, db: Database, clock: FakeClock, failure_rate: float, seconds: float) -> None:
        self.db = db
        self.sms = SandboxChannel("sms", receipts=Receipts(lambda: db, clock, failure_rate, seconds))
        self.telegram = SandboxChannel("telegram", receipts=Receipts(lambda: db, clock, failure_rate, seconds))
        self.dispatcher = Dispatcher(db, {"sms": self.sms, "telegram": self.telegram}, clock, sleep=_no_sleep)

    async def broadcast(self, clock: FakeClock, sms: int, telegram: int = 0) -> int:
        async with self.db.transaction() as tx:
            for _ in range(sms):
                await person(tx)
            for _ in range(telegram):
                await person(tx, sms=None, telegram="opted_in")
            draft = await compose(tx, CLI, clock.now(), body="Rally on Saturday", audience=Audience())
            b = await broadcast_send.confirm(tx, draft, CLI, clock.now(), SETTINGS)
        for name in ("sms", "telegram"):
            while await self.dispatcher.drain_once(name):
                pass
        return b.id

    async def receipts(self, broadcast_id: int) -> list[tuple[str, str, str | None]]:
        async with self.db.transaction() as tx:
            rows = await tx.query(
                "SELECT o.channel, d.status, d.error_code FROM outbox o JOIN deliveries d "
                "ON d.channel = o.channel AND d.provider_id = o.provider_id WHERE o.broadcast_id = ? ORDER BY o.id",
                (broadcast_id,))
        return [(r[0], r[1], r[2]) for r in rows]

    async def settled(self, broadcast_id: int, expected: int) -> list[tuple[str, str, str | None]]:
        for _ in range(200):
            found = await self.receipts(broadcast_id)
            if len(found) == expected and all(status != "sent" for _, status, _ in found):
                return found
            await asyncio.sleep(0.01)
        raise AssertionError(f"receipts did not all come: {await self.receipts(broadcast_id)}")


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await open_database(str(tmp_path / "muster.db"))
    yield database
    await database.close()


async def test_every_text_is_reported_delivered_and_telegram_reports_nothing(db: Database, clock: FakeClock) -> None:
    provider = Provider(db, clock, failure_rate=0.0, seconds=0.02)
    broadcast_id = await provider.broadcast(clock, sms=6, telegram=3)
    found = await provider.settled(broadcast_id, 6)
    assert found == [("sms", "delivered", None)] * 6, "only SMS has receipts"
    async with db.transaction() as tx:
        report = await reports.build(tx, await store.fetch(tx, broadcast_id), clock.now())
    assert report.funnel is not None
    assert (report.funnel.sent, report.funnel.delivered, report.funnel.telegram_sent) == (9, 6, 3)
    assert report.delivered == 6 and report.broadcast.status == "sent"
    assert "No delivery receipts on Telegram" in reports.describe(report, SETTINGS)


async def test_at_a_failure_rate_of_one_every_broadcast_text_is_undelivered_with_a_carriers_code(
        db: Database, clock: FakeClock) -> None:
    provider = Provider(db, clock, failure_rate=1.0, seconds=0.02)
    broadcast_id = await provider.broadcast(clock, sms=12)
    found = await provider.settled(broadcast_id, 12)
    assert {status for _, status, _ in found} == {"undelivered"} and {code for _, _, code in found} <= CODES
    async with db.transaction() as tx:
        report = await reports.build(tx, await store.fetch(tx, broadcast_id), clock.now())
        # 30006 (landline) marks the number undeliverable, as Twilio's webhook does
        landlines = sum(1 for _, _, code in found if code == "30006")
        marked = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE sms_undeliverable = 1")
        # a reply (no broadcast) is never failed by the sandbox
        outbox.enqueue(tx, "sms", "+447400999111", '{"text": "Hello"}', clock.now())
    assert marked == landlines
    assert sum(report.failed.values()) == 12 and set(report.failed) <= CODES
    assert all(f.means.short and f.means.action for f in report.failures)
    await provider.dispatcher.drain_once("sms")
    for _ in range(200):
        async with db.transaction() as tx:
            reply = await tx.one("SELECT d.status FROM outbox o JOIN deliveries d ON d.provider_id = o.provider_id "
                                 "WHERE o.address = '+447400999111'")
        if reply and reply[0] != "sent":
            break
        await asyncio.sleep(0.01)
    assert reply is not None and reply[0] == "delivered"


def test_the_failure_share_is_about_the_rate_and_the_same_message_always_fares_the_same() -> None:
    verdicts = [verdict(i, 0.1) for i in range(1, 5001)]
    share = sum(1 for v in verdicts if v) / len(verdicts)
    assert 0.08 < share < 0.12
    assert {v for v in verdicts if v} == CODES
    assert verdicts == [verdict(i, 0.1) for i in range(1, 5001)]
    assert not any(verdict(i, 0.0) for i in range(1, 5001))


async def test_receipts_still_to_come_are_recorded_when_the_service_stops(db: Database, clock: FakeClock) -> None:
    provider = Provider(db, clock, failure_rate=0.0, seconds=60.0)
    broadcast_id = await provider.broadcast(clock, sms=3)
    assert [s for _, s, _ in await provider.receipts(broadcast_id)] == [], "none yet: a minute to wait"
    await provider.sms.stop()
    assert await provider.receipts(broadcast_id) == [("sms", "delivered", None)] * 3


async def test_provider_ids_carry_a_token_of_the_run(db: Database, clock: FakeClock) -> None:
    """Receipts are kept by provider id: a restarted sandbox must not reuse the last run's ids."""
    first = Provider(db, clock, failure_rate=0.0, seconds=0.01)
    await first.broadcast(clock, sms=2, telegram=1)
    async with db.transaction() as tx:
        ids = [r[0] for r in await tx.query("SELECT provider_id FROM outbox ORDER BY id")]
    assert len(set(ids)) == len(ids) == 3
    assert all(re.fullmatch(rf"SB{sandbox._RUN}\d{{10}}", i) for i in ids), ids
    await first.sms.stop()


def test_the_sandbox_paces_at_the_providers_rates_only_when_they_are_set(tmp_path: Path) -> None:
    quick = Service(load(db_path=tmp_path / "a.db"))
    assert quick.channels["sms"].pacer.rate is None and quick.channels["telegram"].pacer.rate is None
    assert isinstance(quick.channels["sms"], SandboxChannel) and quick.channels["sms"].receipts is not None
    assert quick.channels["sms"].receipts.failure_rate == 0.0
    slow = Service(load(db_path=tmp_path / "b.db", sms_segments_per_second=2, telegram_messages_per_second=3,
                        sandbox_failure_rate=0.05))
    assert slow.channels["sms"].pacer.rate == 2 and slow.channels["telegram"].pacer.rate == 3
    assert slow.channels["sms"].receipts.failure_rate == 0.05
    assert slow.channels["telegram"].receipts is None, "Telegram has no delivery receipts"
