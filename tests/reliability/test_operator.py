"""What an operator does to the real `muster run`: a second start, a busy port, a bad database file,
SIGTERM mid-broadcast, a provider request that hangs. Nothing is sent twice; nothing starts early.

    pytest tests/reliability/test_operator.py -s     # prints the figures
"""
from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.reliability.live import Muster, free_port, providers, wait_until


def _received(telegram, twilio, body: str) -> Counter:
    got = Counter(f"tg:{m['chat_id']}" for m in telegram.sent_messages() if body in m["text"])
    got.update(f"sms:{m['To']}" for m in twilio.messages if body in m["Body"])
    return got


def _one_line_refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode != 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_a_second_service_on_the_same_database_refuses_and_changes_nothing(tmp_path: Path) -> None:
    with providers(seed=12, delay=(0.002, 0.01)) as (telegram, twilio):
        first = Muster(tmp_path, telegram, twilio)
        first.migrate()
        first.seed_supporters(1000)
        first.start()
        webhooks_set = len(telegram.calls_of("setWebhook"))
        body = "Two services: rally at noon."
        broadcast_id = first.start_broadcast(body, 1000)
        wait_until(lambda: sum(_received(telegram, twilio, body).values()) >= 100, 60, "100 sends")
        claimed_before = first.sql("SELECT COUNT(*) FROM outbox WHERE status = 'sending'")[0][0]

        done, seconds = first.attempt(MUSTER_PORT=str(free_port()))
        line = _one_line_refusal(done)
        assert f"pid {first.proc.pid}" in line and "in use by muster run" in line, line
        assert len(telegram.calls_of("setWebhook")) == webhooks_set  # it registered nothing

        first.wait_finished(broadcast_id, 120)
        got = _received(telegram, twilio, body)
        status = first.outbox_status(broadcast_id)
        figures = {"recipients": 1000, "received": sum(got.values()), "duplicates": sum(n - 1 for n in got.values()),
                   "unknown": status["unknown"], "claimed_when_second_started": claimed_before,
                   "second_exit_code": done.returncode, "second_refused_in_s": round(seconds, 2)}
        print("\nsecond-service:", json.dumps(figures))
        assert figures["duplicates"] == 0 and status["unknown"] == 0
        assert len(got) == 1000 and status["sent"] == 1000
        assert first.stop() in (0, -15)
        first.clean_log()


def test_a_start_that_fails_on_a_busy_port_recovers_nothing_and_registers_nothing(tmp_path: Path) -> None:
    with providers(seed=13, delay=(0.002, 0.01)) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        muster.seed_supporters(600)
        muster.start()
        body = "Busy port: canvass on Sunday."
        broadcast_id = muster.start_broadcast(body, 600)
        wait_until(lambda: sum(_received(telegram, twilio, body).values()) >= 50, 60, "50 sends")
        muster.kill()  # leaves rows `sending`, as a crash does
        left = muster.sql("SELECT id, status, claimed_by FROM outbox ORDER BY id")
        assert any(status == "sending" for _, status, _ in left)
        webhooks_set = len(telegram.calls_of("setWebhook"))

        with socket.socket() as squatter:
            squatter.bind(("127.0.0.1", muster.port))
            squatter.listen()
            done, _ = muster.attempt()
        line = _one_line_refusal(done)
        assert f"cannot listen on 127.0.0.1:{muster.port}" in line, line
        assert muster.sql("SELECT id, status, claimed_by FROM outbox ORDER BY id") == left
        assert len(telegram.calls_of("setWebhook")) == webhooks_set
        assert not Path(f"{muster.db_path}.lock").read_text()  # the lock was let go again

        muster.start()  # the port is free again: now recovery runs, once
        muster.wait_finished(broadcast_id, 120)
        got = _received(telegram, twilio, body)
        assert max(got.values()) == 1
        assert muster.stop() in (0, -15)


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def _truncated(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE filler (id INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO filler (text) VALUES (?)", [("x" * 200,)] * 3000)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("damage, expected", [
    (_random_bytes, "is not a SQLite database"),
    (_truncated, "is damaged"),
])
def test_a_damaged_database_file_is_refused_in_one_line(tmp_path: Path, damage, expected) -> None:
    with providers() as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        damage(muster.db_path)
        done, seconds = muster.attempt()
        assert expected in _one_line_refusal(done)
        assert seconds < 15
        assert not telegram.calls_of("setWebhook")


def test_a_missing_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    with providers() as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        done, seconds = muster.attempt(MUSTER_DB_PATH=str(tmp_path / "no" / "such" / "muster.db"))
        assert "does the database's folder exist" in _one_line_refusal(done)
        assert seconds < 15


def test_a_database_locked_by_another_program_is_refused_in_one_line(tmp_path: Path) -> None:
    with providers() as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
             " c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(60)", str(muster.db_path)],
            stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            done, seconds = muster.attempt()
        finally:
            holder.kill()
            holder.wait()
        assert "is locked by another program" in _one_line_refusal(done)
        assert seconds < 15


def test_a_database_on_a_read_only_filesystem_is_refused_in_one_line(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a read-only filesystem (runs in CI)")
    folder = tmp_path / "ro"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(folder)]).returncode:
        pytest.skip("mount is not permitted on this machine")
    try:
        with providers() as (telegram, twilio):
            muster = Muster(tmp_path, telegram, twilio, MUSTER_DB_PATH=str(folder / "muster.db"))
            muster.db_path = folder / "muster.db"
            muster.migrate()
            Path(f"{muster.db_path}.lock").touch()
            subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
            done, seconds = muster.attempt()
            line = _one_line_refusal(done)
            assert "read-only" in line or "may this user write there" in line, line
            assert seconds < 15
    finally:
        subprocess.run(["umount", str(folder)])


def test_sigterm_mid_broadcast_lets_sends_in_flight_finish(tmp_path: Path) -> None:
    # Slow provider answers, so a whole window of sends is on the wire when the signal comes.
    with providers(seed=14, delay=(0.2, 0.5)) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        muster.seed_supporters(400)
        muster.start()
        body = "SIGTERM: phone bank tonight."
        broadcast_id = muster.start_broadcast(body, 400)
        wait_until(lambda: sum(_received(telegram, twilio, body).values()) >= 60, 60, "60 sends")
        in_flight = muster.sql("SELECT COUNT(*) FROM outbox WHERE status = 'sending' AND handed_at IS NOT NULL")[0][0]
        began = time.monotonic()
        code = muster.stop()
        stopped_in = time.monotonic() - began
        status = muster.outbox_status(broadcast_id)
        got = _received(telegram, twilio, body)
        figures = {"handed_over_at_sigterm": in_flight, "stopped_in_s": round(stopped_in, 2), "exit_code": code,
                   "sent": status["sent"], "unknown": status["unknown"], "still_sending": status["sending"],
                   "received": sum(got.values())}
        print("\nsigterm:", json.dumps(figures))
        assert in_flight > 0
        assert status["sending"] == 0 and status["unknown"] == 0  # every answer was waited for and recorded
        assert status["sent"] == sum(got.values())  # and nothing that went out is left in doubt
        muster.start()
        muster.wait_finished(broadcast_id, 120)
        got = _received(telegram, twilio, body)
        assert len(got) == 400 and max(got.values()) == 1
        assert muster.stop() in (0, -15)
        muster.clean_log()


def test_a_hung_provider_request_does_not_hold_back_a_reply(tmp_path: Path) -> None:
    supporter = "+447700900555"
    with providers(seed=15) as (telegram, twilio):
        # Real SMS pacing (UK 10 segments a second), so the broadcast is still going when HELP comes.
        muster = Muster(tmp_path, telegram, twilio, SMS_SEGMENTS_PER_SECOND="10")
        muster.migrate()
        muster.seed_supporters(300)
        muster.start()
        body = "Hung request: vote on Thursday."
        muster.start_broadcast(body, 300)
        wait_until(lambda: twilio.message_count >= 5, 30, "the broadcast to start on SMS")
        twilio.hang_next(25)
        wait_until(lambda: twilio.hung, 10, "a create to hang")
        with httpx.Client() as http:
            began = time.monotonic()
            assert muster.post_sms(http, "SM" + "5" * 32, "HELP", supporter).status_code == 200
            wait_until(lambda: any(m["To"] == supporter for m in twilio.messages), 10, "the reply to HELP")
            latency = time.monotonic() - began
        figures = {"hang_s": 25, "reply_to_help_s": round(latency, 3),
                   "sms_sent_meanwhile": twilio.message_count}
        print("\nhung-request:", json.dumps(figures))
        assert latency < 2.0
        muster.kill()
