"""The real service on a real port with SMS live: signed Twilio webhooks in, a fake Twilio API out."""
from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from bot.config import load
from bot.service import Service
from flows.core import routes
from flows.core.texts import t
from storage import deliveries, supporters
from tests.bot.sms_support import ERASURE_SALT, SENDER, SUPPORTER, inbound_fields, signed_post, status_fields
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI


@dataclass
class Live:
    base: str
    http: httpx.AsyncClient
    service: Service
    twilio: FakeTwilioAPI
    sids: Iterator[int]

    async def text(self, body: str, sid: str | None = None) -> httpx.Response:
        """Post an inbound SMS exactly as Twilio would, signed over the URL it calls."""
        sid = sid or f"SM{next(self.sids):032d}"
        return await self.http.post("/sms/inbound", **signed_post(self.base + "/sms/inbound",
                                                                   inbound_fields(sid=sid, body=body)))

    async def replies(self, count: int) -> list[dict[str, Any]]:
        """Wait until Twilio has been asked to send `count` messages in all; return them."""
        return await asyncio.to_thread(self.twilio.wait_for_messages, count, 10.0)


@pytest.fixture
def twilio() -> Iterator[FakeTwilioAPI]:
    with FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN)) as fake:
        yield fake


@pytest.fixture
async def live(tmp_path: Path, twilio: FakeTwilioAPI) -> AsyncIterator[Live]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    settings = load(
        MUSTER_DB_PATH=str(tmp_path / "live.db"), TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_FROM_NUMBER=SENDER, TWILIO_WEBHOOK_BASE_URL=base, TWILIO_API_BASE_URL=twilio.base_url,
        MUSTER_ERASURE_SALT=ERASURE_SALT,
    )
    service = Service(settings)
    server = uvicorn.Server(uvicorn.Config(service.app, lifespan="on", log_level="warning", access_log=False))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or task.done():
            break
        await asyncio.sleep(0.01)
    assert server.started, "service did not start"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        yield Live(base, http, service, twilio, iter(range(1, 10_000)))
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    sock.close()


def number_for(body: str, label: str) -> str:
    """The number an SMS menu gives a choice ("2 Help" → "2")."""
    match = re.search(rf"^(\d+) {re.escape(label)}", body, re.MULTILINE)
    assert match, f"no {label!r} in {body!r}"
    return match.group(1)


async def test_a_supporter_talks_to_the_bot_by_sms(live: Live) -> None:
    assert (await live.http.get("/healthz")).json()["status"] == "ok"
    assert (await live.http.get("/sim/messages")).status_code == 404  # no simulator in live mode

    joining = "JOIN" in routes.KEYWORDS
    first = await live.text("JOIN" if joining else "MENU", sid="SM" + "a" * 32)
    assert first.status_code == 200 and first.text.endswith("<Response></Response>")
    (reply,) = await live.replies(1)
    assert reply["To"] == SUPPORTER and reply["From"] == SENDER
    assert reply["StatusCallback"] == live.base + "/sms/status"
    assert reply["ValidityPeriod"] == "14400"

    # A retried webhook is answered but nothing is sent twice.
    assert (await live.text("MENU", sid="SM" + "a" * 32)).status_code == 200
    # A forged one is refused.
    forged = signed_post(live.base + "/sms/inbound", inbound_fields(sid="SM" + "f" * 32), token="guess")
    assert (await live.http.post("/sms/inbound", **forged)).status_code == 403

    if joining:
        await _complete_sign_up(live, reply["Body"])
    else:
        assert "What would you like to do?" in reply["Body"]
        assert (await live.text(number_for(reply["Body"], "Help"))).status_code == 200
        help_text = (await live.replies(2))[1]["Body"]
        assert "STOP" in help_text

    # Twilio reports delivery of the first reply; a late `sent` does not undo it.
    sid = live.twilio.resources[0]["sid"]
    for status in ("sent", "delivered", "sent"):
        callback = signed_post(live.base + "/sms/status", status_fields(sid, status))
        assert (await live.http.post("/sms/status", **callback)).status_code == 200
    async with live.service.db.transaction() as tx:
        assert (await deliveries.get(tx, "sms", sid)).status == "delivered"
        person = await supporters.find(tx, "sms", SUPPORTER)
    assert person is not None and person.last_channel == "sms"
    assert all(m["To"] == SUPPORTER for m in live.twilio.messages)
    assert len({m["Body"] for m in live.twilio.messages}) == len(live.twilio.messages)  # nothing twice


async def _complete_sign_up(live: Live, prompt: str) -> None:
    """Answer each sign-up question the way someone on a phone would, checking each prompt."""
    assert t("signup.ask_name") in prompt
    script = [
        ("Sam", t("signup.ask_postcode", name="Sam")),
        ("M1 1AE", t("signup.ask_interests.sms")),
        ("1 3", t("signup.ask_email", movement="Muster")),
        ("sam@example.org", t("signup.consent.sms", movement="Muster")),
        ("YES", t("signup.welcome", name="Sam", movement="Muster")),
    ]
    for sent, (answer, expected) in enumerate(script, start=2):
        assert (await live.text(answer)).status_code == 200
        body = (await live.replies(sent))[-1]["Body"]
        assert expected in body, body
    async with live.service.db.transaction() as tx:
        person = await supporters.find(tx, "sms", SUPPORTER)
    assert (person.first_name, person.postcode, person.email) == ("Sam", "M1 1AE", "sam@example.org")
    assert person.status == "active" and person.sms_consent == "opted_in"
