"""The real `muster run` in sandbox mode, and signing in to its console as an organiser would."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.reliability.live import free_port, healthy

DEMO_ADMIN = "+447700900001"
_numbers = iter(range(100, 1000))


class Sandbox:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("MUSTER_", "TELEGRAM_", "TWILIO_", "SMS_"))}
        self.env = clean | {"MUSTER_DB_PATH": str(workdir / "muster.db"), "MUSTER_PORT": str(self.port),
                            "MUSTER_LOG_LEVEL": "INFO", "SMS_QUIET_HOURS": ""}
        self.log = workdir / "muster.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("a") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=self.workdir, env=self.env,
                                         stdout=log, stderr=subprocess.STDOUT)
        if not healthy(self.base, self.proc, 30):
            raise AssertionError(f"service did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([sys.executable, "-m", "bot", *args], cwd=self.workdir, env=self.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def organiser(self, role: str = "admin", group: str | None = None) -> str:
        """A new organiser's phone number (each test signs in as its own, below the rate limit)."""
        phone = f"+4477009{next(_numbers):05d}"
        self.cli("organiser", "add", "--role", role, "--phone", phone,
                 *(("--group", group) if group else ("--national",) if role == "organiser" else ()))
        return phone

    def messages(self, channel: str, address: str) -> list[dict]:
        got = httpx.get(f"{self.base}/sim/messages", params={"channel": channel, "address": address}, timeout=5)
        return list(got.json()["messages"])

    def wait_for_message(self, channel: str, address: str, pattern: str, after: int = 0) -> re.Match[str]:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            for message in self.messages(channel, address):
                if message["id"] > after and (found := re.search(pattern, message["text"])):
                    return found
            time.sleep(0.05)
        raise AssertionError(f"no message matching {pattern!r} to {address}")

    def last_message_id(self, channel: str, address: str) -> int:
        return max((m["id"] for m in self.messages(channel, address)), default=0)


@contextmanager
def sandbox(workdir: Path) -> Iterator[Sandbox]:
    service = Sandbox(workdir)
    service.start()
    try:
        yield service
    finally:
        service.stop()


def csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def sign_in(service: Sandbox, identity: str | None = None, channel: str = "sms") -> httpx.Client:
    """A client signed in through a link sent to `identity` (a new admin when None) in the sandbox."""
    identity = identity or service.organiser()
    client = httpx.Client(base_url=service.base, timeout=10)
    address = identity
    after = service.last_message_id(channel, address)
    token = csrf(client.get("/console/login"))
    sent = client.post("/console/login", data={"csrftoken": token, "identity": identity, "next": "/console/"})
    assert sent.status_code == 200, sent.text
    link = service.wait_for_message(channel, address, r"(/console/login/[A-Za-z0-9_-]+)", after).group(1)
    redeemed = client.post(link, data={"csrftoken": token})
    assert redeemed.status_code == 303, redeemed.text
    return client
