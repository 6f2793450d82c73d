"""An auto-responder answering our bot: the loop dies out, throttled and capped, and /metrics shows it.

The real service on a real port with SMS live; the fake Twilio records what we send, and the
test plays a phone whose auto-reply answers every message we send it, signed as Twilio would.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from pathlib import Path

import httpx
import uvicorn

from bot.config import load
from bot.service import Service
from tests.bot.sms_support import ERASURE_SALT, SENDER, inbound_fields, signed_post
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

ROBOT = "+447700900777"
INBOUND_PER_MINUTE, OUTBOUND_PER_MINUTE = 8, 5


async def test_an_auto_responder_loop_is_throttled_capped_and_counted(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    with FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN)) as twilio:
        settings = load(
            MUSTER_DB_PATH=str(tmp_path / "flood.db"), TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
            TWILIO_FROM_NUMBER=SENDER, TWILIO_WEBHOOK_BASE_URL=base, TWILIO_API_BASE_URL=twilio.base_url,
            MUSTER_ERASURE_SALT=ERASURE_SALT, MUSTER_INBOUND_PER_MINUTE=str(INBOUND_PER_MINUTE),
            MUSTER_OUTBOUND_PER_MINUTE=str(OUTBOUND_PER_MINUTE), SMS_QUIET_HOURS="",
        )
        service = Service(settings)
        server = uvicorn.Server(uvicorn.Config(service.app, lifespan="on", log_level="warning", access_log=False))
        task = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            assert not task.done(), "service did not start"
            await asyncio.sleep(0.01)
        sids = (f"SM{n:032d}" for n in itertools.count(1))
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:

            async def text(body: str) -> None:
                fields = inbound_fields(sid=next(sids), body=body, sender=ROBOT)
                answer = await http.post("/sms/inbound", **signed_post(base + "/sms/inbound", fields))
                assert answer.status_code == 200

            # A person texts a burst (a stuck phone), then their auto-reply answers each of ours.
            for n in range(INBOUND_PER_MINUTE + 6):
                await text(f"hello {n}")
            answered, quiet_since = 0, asyncio.get_running_loop().time()
            while asyncio.get_running_loop().time() - quiet_since < 1.5:
                sent = [m for m in twilio.messages if m["To"] == ROBOT]
                for _ in sent[answered:]:
                    await text("Thanks for your message! I'm away until Monday.")
                if len(sent) > answered:
                    answered, quiet_since = len(sent), asyncio.get_running_loop().time()
                await asyncio.sleep(0.05)
            metrics = (await http.get("/metrics")).text
        server.should_exit = True
        await asyncio.wait_for(task, 10)
    sock.close()

    ours = [m["Body"] for m in twilio.messages if m["To"] == ROBOT]
    assert len(ours) == OUTBOUND_PER_MINUTE  # the per-recipient cap held; the loop died out
    assert 'muster_inbound_messages_total{channel="sms",result="throttled"}' in metrics
    throttled = float(metrics.split('result="throttled"} ')[1].split()[0])
    assert throttled >= 6
    assert 'muster_outbound_messages_total{channel="sms",status="capped"}' in metrics
    logged = caplog.text
    assert "recipient cap of 5 a minute reached" in logged and "throttling sms sender" in logged
    assert ROBOT not in logged  # never a full number in the logs
