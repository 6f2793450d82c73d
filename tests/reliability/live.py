"""`muster run` as a real process against fake Telegram and Twilio servers on 127.0.0.1.

The fakes run in the test process and record every message they accept, so a test can kill the
service with SIGKILL at any moment, start it again on the same database, and then compare what
the providers really received with what the outbox says.
"""
from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx

from storage import open_database
from storage.db import ts
from tests.bot.sms_support import ERASURE_SALT, SENDER, inbound_fields, signed_post
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

BOT_TOKEN = "123456:reliability-test-token"
WEBHOOK_SECRET = "reliability-secret"
BATCH = 50  # MUSTER_OUTBOX_BATCH: each channel's worker has at most this many sends in flight


def wait_until(check, timeout: float, what: str, poll: float = 0.002) -> None:
    """Poll `check` until it is true; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(poll)


def healthy(base: str, proc: subprocess.Popen, timeout: float) -> bool:
    """Wait until the service at `base` says every part is up; False if it died or took too long."""
    deadline = time.monotonic() + timeout
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.02)
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def providers(
    seed: int = 0, delay: tuple[float, float] = (0.0, 0.004),
) -> Iterator[tuple[FakeTelegramAPI, FakeTwilioAPI]]:
    """Both fake providers, each adding a small random delay to every request."""
    with FakeTelegramAPI(delay=delay, seed=seed) as telegram, \
            FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN), delay=delay, seed=seed) as twilio:
        yield telegram, twilio


class Muster:
    """One deployment of the service: a database file, a port, an environment; many processes."""

    def __init__(self, workdir: Path, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI, **env: str) -> None:
        self.workdir = workdir
        self.db_path = workdir / "muster.db"
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / "muster.log"
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("MUSTER_", "TELEGRAM_", "TWILIO_", "SMS_"))}
        self.env = clean | {
            "MUSTER_DB_PATH": str(self.db_path), "MUSTER_PORT": str(self.port), "MUSTER_LOG_LEVEL": "INFO",
            "MUSTER_ERASURE_SALT": ERASURE_SALT, "MUSTER_OUTBOX_BATCH": str(BATCH),
            "TELEGRAM_BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_BASE_URL": telegram.base_url,
            "TELEGRAM_API_BASE_FILE_URL": telegram.base_file_url, "TELEGRAM_PAID_BROADCAST": "true",
            "TELEGRAM_MESSAGES_PER_SECOND": "1000", "TELEGRAM_WEBHOOK_URL": f"{self.base}/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": SENDER,
            "TWILIO_WEBHOOK_BASE_URL": self.base, "TWILIO_API_BASE_URL": twilio.base_url,
            "SMS_SEGMENTS_PER_SECOND": "1000", "SMS_QUIET_HOURS": "",
        } | env

    # ------------------------------------------------------------------ processes

    def start(self, timeout: float = 30.0) -> None:
        """Start `muster run` and wait until /healthz says every part is up."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.starts += 1
        log = self.log_path.open("a")
        log.write(f"\n===== start {self.starts} =====\n")
        log.flush()
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                                     stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not healthy(self.base, self.proc, timeout):
            self.kill()
            raise AssertionError(f"service did not start:\n{self.log()[-4000:]}")

    def attempt(self, timeout: float = 30.0, **env: str) -> tuple[subprocess.CompletedProcess, float]:
        """Start `muster run` expecting it to refuse: (the finished process, seconds it took)."""
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env | env,
                              capture_output=True, text=True, timeout=timeout)
        return done, time.monotonic() - began

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, exactly as when the machine loses power."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> int:
        """SIGTERM and wait for the graceful stop; returns the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(30)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a `muster` CLI command against the same database, as an organiser at a shell would."""
        done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=60)
        if check:
            assert done.returncode == 0, f"muster {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
        return done

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def clean_log(self) -> str:
        """The service's log, checked: no traceback and never a full phone number."""
        log = self.log()
        assert "Traceback" not in log, log[-6000:]
        numbers = re.findall(r"\+\d{10,}", log)
        assert not numbers, f"full phone numbers in the log: {sorted(set(numbers))[:5]}"
        return log

    # ------------------------------------------------------------------ webhooks, as the providers send them

    def post_sms(self, http: httpx.Client, sid: str, body: str, sender: str, timeout: float = 30.0) -> httpx.Response:
        """An inbound SMS webhook, signed over the URL Twilio calls (raises httpx.TransportError if unanswered)."""
        url = self.base + "/sms/inbound"
        return http.post(url, timeout=timeout, **signed_post(url, inbound_fields(sid=sid, body=body, sender=sender)))

    def post_telegram(self, http: httpx.Client, update: dict, timeout: float = 30.0) -> httpx.Response:
        """One update delivered to the Telegram webhook with the secret token, as Telegram does."""
        return http.post(f"{self.base}/telegram/webhook", json=update, timeout=timeout,
                         headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})

    # ------------------------------------------------------------------ the database

    def migrate(self) -> None:
        """Create the schema, as the first start would."""
        async def run() -> None:
            db = await open_database(self.db_path)
            await db.close()
        asyncio.run(run())

    def sql(self, query: str, params: tuple = ()) -> list[tuple]:
        """Read the database from outside the service (WAL lets readers run beside it)."""
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return conn.execute(query, params).fetchall()

    def seed_supporters(self, n: int) -> tuple[list[str], list[str]]:
        """n opted-in supporters, alternately on Telegram and SMS; returns (chat ids, phones)."""
        stamp = ts(datetime.now(UTC))
        rows, chats, phones = [], [], []
        for i in range(n):
            if i % 2:
                phone, chat = f"+4474{i:08d}", None
                phones.append(phone)
            else:
                phone, chat = None, 50_000_000 + i
                chats.append(str(chat))
            rows.append((phone, chat, f"Name{i}", "active", "opted_in" if phone else "none",
                         "opted_in" if chat else "none", "sms" if phone else "telegram", stamp))
        with sqlite3.connect(self.db_path) as conn:
            conn.executemany(
                "INSERT INTO supporters (phone, telegram_id, first_name, status, sms_consent, telegram_consent,"
                " last_channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return chats, phones

    def start_broadcast(self, body: str, count: int) -> int:
        """Create and send a broadcast to everyone with the CLI, as an organiser would; its id."""
        created = self.cli("broadcast", "create", "--body", body)
        broadcast_id = int(re.search(r"Draft #(\d+) saved", created.stdout).group(1))
        confirm = ("--confirm-count", str(count)) if count > 1000 else ("--yes",)
        self.cli("broadcast", "send", str(broadcast_id), *confirm)
        return broadcast_id

    def wait_finished(self, broadcast_id: int, timeout: float) -> None:
        """Until none of the broadcast's rows is queued or being sent."""
        def finished() -> bool:
            status = self.outbox_status(broadcast_id)
            return sum(status.values()) > 0 and status["queued"] + status["sending"] == 0
        wait_until(finished, timeout, f"broadcast {broadcast_id} to finish", poll=0.05)

    def outbox_status(self, broadcast_id: int) -> Counter:
        return Counter(dict(self.sql("SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = ? GROUP BY status",
                                     (broadcast_id,))))


def telegram_update(update_id: int, user_id: int, text: str | None = None, choice: str | None = None) -> dict:
    """A private-chat message from one user or, with `choice`, their press of a button, as Telegram posts it."""
    user = {"id": user_id, "is_bot": False, "first_name": "Supporter", "language_code": "en"}
    chat = {"id": user_id, "type": "private", "first_name": "Supporter"}
    if choice is not None:
        shown = {"message_id": 1, "date": 1700000000, "chat": chat, "text": "Pick one"}
        return {"update_id": update_id, "callback_query": {
            "id": f"cq{update_id}", "from": user, "chat_instance": str(user_id), "data": choice, "message": shown}}
    message = {"message_id": update_id, "date": 1700000000, "chat": chat, "from": user, "text": text or ""}
    if (text or "").startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}
