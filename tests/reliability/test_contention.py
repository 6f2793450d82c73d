"""Another process holds the SQLite write lock: inbound waits, is never lost, never answered before commit.

A separate process takes `BEGIN IMMEDIATE` on the service's database file and holds it, first for
less than the service's busy timeout (webhooks must simply wait), then for longer (webhooks
may be refused with a 5xx, which the provider retries, but never answered 2xx before commit).
SMS and Telegram supporters post webhooks while the lock is held and retry whatever is not
answered 2xx, as the providers do. Checked: no 2xx before the lock is released; every webhook
answered in the end and committed exactly once; no reply reaches a provider while the lock is
held, and all of them afterwards; the service stays healthy and logs no traceback. A second,
in-process test with a short busy timeout makes each channel meet the timeout for certain:
a 503 and one clear log line, nothing written, then the retry runs once.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from starlette.applications import Starlette

from bot.channels.sms import SmsChannel
from bot.channels.telegram import TelegramChannel
from bot.config import load
from flows.core.engine import Engine
from storage import open_database
from tests.bot.sms_support import BASE_URL, ERASURE_SALT, inbound_fields, signed_post, sms_settings
from tests.reliability.live import BOT_TOKEN, WEBHOOK_SECRET, Muster, providers, telegram_update

# How long the service (which opens its database with the default) waits for a lock before giving up.
BUSY_TIMEOUT = inspect.signature(open_database).parameters["busy_timeout_ms"].default / 1000
PER_CHANNEL = 10
PROVIDER_TIMEOUT = 15.0  # Twilio gives a webhook 15 s to answer, then counts it as failed

# Holds the write lock, with a write of its own pending, until told to let go on stdin.
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO inbound_seen (provider_id, received_at) VALUES ('locker', '2000-01-01T00:00:00.000000Z')")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
print("released", flush=True)
"""


@dataclass
class Webhook:
    provider_id: str
    address: str
    send: Callable[[httpx.Client], httpx.Response]
    statuses: list[int] = field(default_factory=list)  # 0: no answer (timeout, connection lost)
    answered_at: float | None = None  # time.monotonic() of the 2xx


def deliver(webhook: Webhook, delay: float, deadline: float) -> None:
    """Post after `delay`, then again whenever it is not answered 2xx, as a provider would."""
    time.sleep(delay)
    with httpx.Client() as http:
        while time.monotonic() < deadline:
            try:
                status = webhook.send(http).status_code
            except httpx.TransportError:
                status = 0
            webhook.statuses.append(status)
            if 200 <= status < 300:
                webhook.answered_at = time.monotonic()
                return
            if 400 <= status < 500:
                return
            time.sleep(0.1)


class Locker:
    """A separate process holding the write lock on a database file until `release()`."""

    def __init__(self, path: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", LOCKER, str(path)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "locked"

    def release(self) -> None:
        try:
            self.proc.stdin.write("go\n")
            self.proc.stdin.flush()
            assert self.proc.stdout.readline().strip() == "released"
            assert self.proc.wait(10) == 0
        finally:
            if self.proc.poll() is None:
                self.proc.kill()


def hold_lock(muster: Muster, seconds: float, webhooks: list[Webhook], figures: Counter,
              sent_count: Callable[[], int]) -> float:
    """Hold the write lock for `seconds` while the webhooks are posted; returns when it was let go."""
    locker, threads = Locker(muster.db_path), []
    try:
        taken = time.monotonic()
        before = sent_count()
        rng = random.Random(len(webhooks) + int(seconds))
        threads = [threading.Thread(target=deliver, args=(w, rng.uniform(0, 0.5), taken + 60), daemon=True)
                   for w in webhooks]
        for thread in threads:
            thread.start()
        time.sleep(max(0.0, taken + seconds - time.monotonic()))
        early = [w.provider_id for w in webhooks if w.answered_at is not None]
        assert sent_count() == before, "a reply went out while the database was locked"
        released = time.monotonic()
    finally:
        locker.release()
    for thread in threads:
        thread.join(60)
    assert not early, f"answered 2xx while the lock was held: {early}"
    for w in webhooks:
        assert w.answered_at is not None, f"{w.provider_id} never answered 2xx: {w.statuses}"
        assert w.answered_at > released, f"{w.provider_id} answered before the lock was released"
        figures["refused_5xx"] += sum(s >= 500 for s in w.statuses)
        figures["no_answer"] += w.statuses.count(0)
        figures["posts"] += len(w.statuses)
        figures["max_wait_after_release_ms"] = max(figures["max_wait_after_release_ms"],
                                                   round((w.answered_at - released) * 1000))
    return released


def test_webhooks_wait_for_a_locked_database(tmp_path: Path) -> None:
    figures = Counter()
    with providers(seed=5) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        muster.start()
        phones = [f"+44770091{i:04d}" for i in range(PER_CHANNEL)]
        users = [71_000_000 + i for i in range(PER_CHANNEL)]
        update_ids = iter(range(800_000, 900_000))

        def webhooks(sms_text: str, telegram_text: str, round_no: int) -> list[Webhook]:
            found = []
            for i, phone in enumerate(phones):
                sid = f"SM{round_no:016d}{i:016d}"
                found.append(Webhook(f"twilio:{sid}", phone,
                                     lambda http, sid=sid, phone=phone: muster.post_sms(
                                         http, sid, sms_text, phone, timeout=PROVIDER_TIMEOUT)))
            for user in users:
                update = telegram_update(next(update_ids), user, text=telegram_text)
                found.append(Webhook(f"tg:{update['update_id']}", str(user),
                                     lambda http, update=update: muster.post_telegram(
                                         http, update, timeout=PROVIDER_TIMEOUT)))
            return found

        rounds = [
            # Shorter than the busy timeout: each webhook simply waits for the lock.
            (BUSY_TIMEOUT * 0.6, webhooks("JOIN", "/start", 1)),
            # Longer: the service may give up and answer 5xx, and the provider tries again.
            (BUSY_TIMEOUT + 2.0, webhooks("Robin", "Robin", 2)),
        ]
        for processed, (seconds, batch) in enumerate(rounds, start=1):
            hold_lock(muster, seconds, batch, figures, lambda: len(telegram.sent_messages()) + twilio.message_count)
            if processed == 1:
                assert figures["refused_5xx"] == 0, "refused while the lock was held for less than the busy timeout"
            figures["held_s"] = max(figures["held_s"], seconds)
            ids = [w.provider_id for w in batch]
            committed = {r[0] for r in muster.sql(
                f"SELECT provider_id FROM inbound_seen WHERE provider_id IN ({', '.join('?' * len(ids))})", tuple(ids))}
            assert committed == set(ids)
            assert muster.sql("SELECT COUNT(*) FROM inbound_seen WHERE provider_id = 'locker'")[0][0] == 0
            # Exactly once: one reply queued per message, and each supporter is where the answers put them.
            deadline = time.monotonic() + 20
            while muster.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0]:
                assert time.monotonic() < deadline, "replies never went out after the lock was released"
                time.sleep(0.05)
            rows = muster.sql("SELECT s.phone, s.telegram_id, s.first_name, c.step, "
                              "(SELECT COUNT(*) FROM outbox o WHERE o.supporter_id = s.id AND o.status = 'sent') "
                              "FROM supporters s JOIN conversations c ON c.supporter_id = s.id")
            assert len(rows) == 2 * PER_CHANNEL
            for phone, user, name, step, replies in rows:
                assert replies == processed, (phone or user, replies)
                assert (name, step) == ((None, "name") if processed == 1 else ("Robin", "postcode")), (phone or user)
            received = Counter(m["To"] for m in twilio.messages) + Counter(
                str(m["chat_id"]) for m in telegram.sent_messages())
            assert received == Counter({a: processed for a in [*phones, *map(str, users)]})
        assert httpx.get(f"{muster.base}/healthz", timeout=5).status_code == 200
        # uvicorn stops gracefully, then re-raises the SIGTERM it caught
        assert muster.stop() in (0, -signal.SIGTERM)
    log = muster.log()
    assert "muster stopped" in log
    muster.clean_log()
    # Each refusal is one clear line; a refusal only ever comes from a lock held past the busy timeout.
    figures["busy_log_lines"] = len(re.findall(r"database busy", log))
    assert figures["refused_5xx"] <= figures["busy_log_lines"]
    figures.update(webhooks=sum(len(b) for _, b in rounds), busy_timeout_s=BUSY_TIMEOUT)
    print("\ncontention:", json.dumps(dict(figures)))


async def test_a_lock_held_past_the_busy_timeout_is_a_clear_503_on_both_channels(tmp_path: Path, clock, caplog) -> None:
    """In process, with a short busy timeout: each channel answers 503 with one log line, then the retry runs once."""
    db = await open_database(str(tmp_path / "muster.db"), busy_timeout_ms=300)
    engine = Engine(db, clock)
    engine.start()
    sms = SmsChannel(sms_settings(), engine.handle, clock)
    telegram = TelegramChannel(load(telegram_bot_token=BOT_TOKEN, erasure_salt=ERASURE_SALT,
                                    telegram_webhook_url=BASE_URL + "/telegram/webhook",
                                    telegram_webhook_secret=WEBHOOK_SECRET), engine.handle, clock)
    update = telegram_update(1, 4242, text="/start")
    app = Starlette(routes=[*sms.routes(), *telegram.routes()])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        def both() -> list:
            return [http.post("/sms/inbound", **signed_post(BASE_URL + "/sms/inbound", inbound_fields(body="JOIN"))),
                    http.post("/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})]

        locker = Locker(tmp_path / "muster.db")
        try:
            refused = await asyncio.gather(*both())
        finally:
            locker.release()
        assert [r.status_code for r in refused] == [503, 503]
        async with db.transaction() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM inbound_seen") == 0  # nothing half-done
        assert [r.status_code for r in await asyncio.gather(*both())] == [200, 200]
        assert [r.status_code for r in await asyncio.gather(*both())] == [200, 200]  # a late retry: answered
        async with db.transaction() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM inbound_seen") == 2
            assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 2  # one reply each, run once
    await engine.stop()
    await db.close()
    busy = [r for r in caplog.records if "database busy" in r.getMessage()]
    assert {r.name for r in busy} >= {"flows.core.engine", "bot.channels.sms", "bot.channels.telegram"}
    assert all(r.exc_info is None for r in caplog.records), "a traceback was logged"
    assert not [r for r in caplog.records if "rollback" in r.getMessage()]
