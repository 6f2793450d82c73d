"""The disk under the database fills up while `muster run` is serving, then room comes back.

The database lives on a small tmpfs mounted for the test, filled to the last byte with a ballast
file. Checked: SMS and Telegram webhooks are answered 503 (so the providers retry them), each with
one log line and no traceback; /healthz answers 503 naming the database; `muster broadcast send`
prints one clear line and exits non-zero; once the ballast is gone a retried webhook is handled
exactly once and the service is healthy again. Needs root (mount); skipped otherwise.
"""
from __future__ import annotations

import errno
import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from storage import space
from tests.reliability.live import Muster, providers, telegram_update, wait_until

DISK_SIZE = "8m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_SIZE mounted for this test only."""
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs root, to mount a small tmpfs")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={DISK_SIZE}", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here: {done.stderr.strip() or done.returncode}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def fill_up(disk: Path) -> Path:
    """Write a ballast file until the filesystem refuses another byte."""
    ballast = disk / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 16, 1 << 12, 1):
            chunk = b"\0" * size
            while True:
                try:
                    os.write(fd, chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
                    break
    finally:
        os.close(fd)
    assert shutil.disk_usage(disk).free == 0
    return ballast


def test_a_full_disk_is_refused_cleanly_and_survived(tmp_path, small_disk):
    with providers() as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio, MUSTER_DB_PATH=str(small_disk / "muster.db"), COLUMNS="200")
        muster.db_path = small_disk / "muster.db"  # the log stays on the big disk
        muster.migrate()
        muster.start()
        try:
            with httpx.Client() as http:
                assert muster.post_sms(http, "SM" + "0" * 32, "JOIN", "+447400000000").status_code == 200
                created = muster.cli("broadcast", "create", "--body", "Rally on Saturday")
                draft = re.search(r"Draft #(\d+) saved", created.stdout).group(1)

                ballast = fill_up(small_disk)
                refused = []
                for n in range(1, 100):
                    sid = f"SM{n:032d}"
                    answer = muster.post_sms(http, sid, "JOIN", f"+4474000{n:05d}")
                    if answer.status_code != 200:
                        refused.append((sid, f"+4474000{n:05d}"))
                        break
                assert refused, "no write was refused on a full disk"
                assert answer.status_code == 503
                assert muster.post_telegram(http, telegram_update(9001, 777_001, "/start")).status_code == 503

                health = http.get(f"{muster.base}/healthz", timeout=5)
                assert health.status_code == 503, health.text
                assert health.json()["database"] is False
                assert "full" in health.json()["problems"]["database"]

                sent = muster.cli("broadcast", "send", draft, "--yes", check=False)
                assert sent.returncode != 0
                assert "Traceback" not in sent.stdout + sent.stderr
                said = [line for line in sent.stderr.splitlines() if line.strip()]
                assert len(said) == 1 and space.FULL in said[0], sent.stderr

                log = muster.clean_log()  # no traceback, no full phone number
                assert re.search(rf"sms inbound {refused[0][0]} .* answered 503: {space.FULL}", log), log[-3000:]
                assert re.search(rf"telegram: update 9001 answered 503: {space.FULL}", log), log[-3000:]

                ballast.unlink()
                # The providers retry what was refused; now it is handled, once.
                sid, phone = refused[0]
                assert muster.post_sms(http, sid, "JOIN", phone).status_code == 200
                assert muster.post_telegram(http, telegram_update(9001, 777_001, "/start")).status_code == 200
                assert muster.post_sms(http, sid, "JOIN", phone).status_code == 200  # a retry: answered, not run
                assert muster.sql("SELECT COUNT(*) FROM inbound_seen WHERE provider_id = ?",
                                  (f"twilio:{sid}",)) == [(1,)]
                wait_until(lambda: http.get(f"{muster.base}/healthz", timeout=5).status_code == 200, 10,
                           "the service to be healthy again", poll=0.1)
                assert muster.cli("broadcast", "send", draft, "--yes").returncode == 0
            assert muster.stop() in (0, -signal.SIGTERM)
            muster.clean_log()
        finally:
            muster.kill()
