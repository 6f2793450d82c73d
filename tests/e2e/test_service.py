"""`muster run` as a real process: simulator over HTTP, health, metrics, clean stop."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def service(tmp_path: Path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MUSTER_", "TELEGRAM_", "TWILIO_"))}
    env.update(MUSTER_DB_PATH=str(tmp_path / "e2e.db"), MUSTER_PORT=str(port), MUSTER_LOG_LEVEL="INFO")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"service did not start:\n{proc.stdout.read()}")
        time.sleep(0.1)
    yield base, proc
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def test_simulator_chat_health_metrics_and_clean_stop(service):
    base, proc = service
    with httpx.Client(base_url=base, timeout=10) as http:
        page = http.get("/")
        assert page.status_code == 200 and "Muster simulator" in page.text

        health = http.get("/healthz").json()
        assert health == {"status": "ok", "database": True, "engine": True, "dispatcher": True, "scheduler": True}

        sent = http.post("/sim/send", json={"channel": "sms", "address": "07400 123456", "text": "MENU"})
        assert sent.status_code == 200 and sent.json()["address"] == "+447400123456"
        got = http.get("/sim/messages", params={"channel": "sms", "address": "+447400123456", "wait": 5}).json()
        assert got["messages"] and "What would you like to do?" in got["messages"][0]["text"]

        pressed = http.post("/sim/send", json={"channel": "telegram", "address": "4242", "text": "menu"})
        assert pressed.status_code == 200
        got = http.get("/sim/messages", params={"channel": "telegram", "address": "4242", "wait": 5}).json()
        assert got["messages"][0]["choices"][0]["key"] == "menu:events"

        bad = http.post("/sim/send", json={"channel": "sms", "address": "not a number", "text": "hi"})
        assert bad.status_code == 400 and "phone number" in bad.json()["error"]
        assert http.post("/sim/send", content=b"{nope").status_code == 400

        metrics = http.get("/metrics").text
        assert 'muster_inbound_messages_total{channel="sms",result="ok"} 1.0' in metrics
        assert 'muster_outbound_messages_total{channel="sms",status="sent"} 1.0' in metrics
        assert 'muster_outbox_rows{channel="sms",status="sent"} 1.0' in metrics

    proc.send_signal(signal.SIGTERM)
    # uvicorn shuts down gracefully, then re-raises the signal it caught
    assert proc.wait(timeout=15) in (0, -signal.SIGTERM)
    output = proc.stdout.read()
    assert "muster stopped" in output
    assert "Traceback" not in output
    assert "+447400123456" not in output  # never a full phone number in the logs
