"""A database that cannot be written: webhooks answer 503 in one log line, /healthz says so.

SQLite's `PRAGMA max_page_count` caps the file at its current size, so writes are refused with
SQLITE_FULL ("database or disk is full") exactly as on a full disk, once the free room in the
pages it already has runs out. tests/reliability/test_disk_full.py does the same on a real full
filesystem with the real `muster run` process.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from itertools import count

import httpx
import pytest

from bot.config import load
from bot.service import Service
from flows.core.clock import FakeClock
from flows.core.engine import FULL_REMEMBERED
from storage import space
from tests.bot import telegram_updates as tu
from tests.bot.sms_support import ERASURE_SALT, SENDER, inbound_fields, signed_post
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

BASE = "https://bot.example.org"
SECRET = "s3cret-Token_1"
TOKEN = "123456:TEST-token"


@pytest.fixture
def fakes() -> Iterator[tuple[FakeTelegramAPI, FakeTwilioAPI]]:
    with FakeTelegramAPI() as telegram, FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN)) as twilio:
        yield telegram, twilio


@pytest.fixture
async def service(tmp_path, fakes, clock: FakeClock) -> AsyncIterator[Service]:
    telegram, twilio = fakes
    settings = load(
        db_path=tmp_path / "muster.db", demo=False, erasure_salt=ERASURE_SALT,
        telegram_bot_token=TOKEN, telegram_api_base_url=telegram.base_url,
        telegram_webhook_url=f"{BASE}/telegram/webhook", telegram_webhook_secret=SECRET,
        twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN, twilio_from_number=SENDER,
        twilio_webhook_base_url=BASE, twilio_api_base_url=twilio.base_url, sms_quiet_hours="",
    )
    svc = Service(settings, clock)
    await svc.start()
    yield svc
    await asyncio.wait_for(svc.stop(), 10)


class Client:
    def __init__(self, service: Service) -> None:
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=service.app), base_url=BASE)
        self.ids = count(1)

    async def sms(self) -> httpx.Response:
        n = next(self.ids)
        fields = inbound_fields(sid=f"SM{n:032d}", body="JOIN", sender=f"+4474{n:08d}")
        return await self.http.post("/sms/inbound", **signed_post(f"{BASE}/sms/inbound", fields))

    async def telegram(self) -> httpx.Response:
        n = next(self.ids)
        update = tu.message("/start", chat_id=700_000 + n, user_id=700_000 + n)
        return await self.http.post("/telegram/webhook", json=update,
                                    headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})


async def fill(service: Service) -> None:
    """Cap the database file at the pages it has now: writes fail once their free room is used."""
    pages = (await service.db.conn.execute_fetchall("PRAGMA page_count"))[0][0]
    await service.db.conn.execute(f"PRAGMA max_page_count = {pages}")


async def until_refused(send, attempts: int = 300) -> httpx.Response:
    for _ in range(attempts):
        answer = await send()
        if answer.status_code != 200:
            return answer
    raise AssertionError(f"no write was refused in {attempts} messages")


def assert_one_line_each(records: list[logging.LogRecord], logger: str, refused: int) -> None:
    lines = [r for r in records if r.name == logger and r.levelno >= logging.WARNING]
    assert len(lines) == refused, [r.getMessage() for r in lines]
    assert all(space.FULL in r.getMessage() for r in lines), [r.getMessage() for r in lines]
    traced = [r for r in records if r.exc_info and r.name.startswith(("bot.channels", "flows.core.engine"))]
    assert not traced, [r.getMessage() for r in traced]


async def test_sms_and_telegram_webhooks_answer_503_in_one_line_and_health_says_why(service, clock, caplog):
    client = Client(service)
    assert (await client.http.get("/healthz")).status_code == 200
    await fill(service)
    with caplog.at_level(logging.INFO):
        refused = await until_refused(client.sms)
        assert refused.status_code == 503
        assert_one_line_each(caplog.records, "bot.channels.sms", 1)
        caplog.clear()

        # The database still answers reads: only the write tells that it is full.
        health = await client.http.get("/healthz")
        assert health.status_code == 503
        assert health.json()["database"] is False and health.json()["status"] == "unhealthy"
        assert space.FULL in health.json()["problems"]["database"]

        assert (await client.telegram()).status_code == 503
        assert (await client.sms()).status_code == 503
        assert_one_line_each(caplog.records, "bot.channels.telegram", 1)
        assert_one_line_each(caplog.records, "bot.channels.sms", 1)

    # With no message to find out again, the memory of the refusal fades after a while...
    clock.advance(seconds=FULL_REMEMBERED.total_seconds() + 1)
    assert (await client.http.get("/healthz")).status_code == 200
    # ...and the next refusal brings it back; room again, and the next write clears it at once.
    assert (await client.sms()).status_code == 503
    assert (await client.http.get("/healthz")).status_code == 503
    await service.db.conn.execute("PRAGMA max_page_count = 1073741823")
    assert (await client.telegram()).status_code == 200
    assert (await client.http.get("/healthz")).json()["status"] == "ok"
    await client.http.aclose()


def test_sqlite_full_is_told_apart_from_other_errors(tmp_path):
    conn = sqlite3.connect(tmp_path / "tiny.db")
    conn.execute("CREATE TABLE filler (data BLOB)")
    conn.execute("PRAGMA max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as full:
        conn.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    conn.close()
    assert space.is_full(full.value)
    try:
        raise RuntimeError("a step failed") from full.value
    except RuntimeError as wrapped:
        assert space.is_full(wrapped)
    assert not space.is_full(sqlite3.OperationalError("database is locked"))
    assert not space.is_full(sqlite3.IntegrityError("UNIQUE constraint failed: supporters.phone"))
    assert not space.is_full(None)


def test_free_space_is_read_beside_the_database_file(tmp_path):
    free = space.free_bytes(tmp_path / "muster.db")
    assert free is not None and free > 0
    assert space.free_bytes(":memory:") is None
    assert space.shortage(tmp_path / "muster.db") is None  # this machine's disk has room
