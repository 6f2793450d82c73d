"""The fake Twilio REST API, exercised through the real twilio client (async)."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI

SPEC = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "twilio" / "twilio_api_v2010.json"
MESSAGES_PATH = "/2010-04-01/Accounts/{AccountSid}/Messages.json"
SUPPORTER = "+447700900123"
SENDER = "+447700900001"
SERVICE_SID = "MG" + "ab" * 16


def point_at(client: Client, tw: FakeTwilioAPI) -> Client:
    client.api.base_url = tw.base_url
    # A region or edge (argument or TWILIO_REGION/TWILIO_EDGE) makes the client rewrite the
    # host name, "127.0.0.1" included, so clear them for the fake.
    client.region = client.edge = None
    return client


@pytest.fixture(scope="module")
def server() -> Iterator[FakeTwilioAPI]:
    # One server per module: starting and stopping uvicorn costs ~0.2 s each time.
    with FakeTwilioAPI() as fake:
        yield fake


@pytest.fixture
def tw(server: FakeTwilioAPI) -> FakeTwilioAPI:
    server.reset()
    server.auth = None
    return server


@pytest_asyncio.fixture
async def client(tw: FakeTwilioAPI) -> AsyncIterator[Client]:
    client = point_at(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient()), tw)
    yield client
    await client.http_client.close()  # type: ignore[attr-defined]


async def send(client: Client, **kwargs: object):  # -> MessageInstance
    kwargs = {"to": SUPPORTER, "from_": SENDER, "body": "Hello"} | kwargs
    return await client.messages.create_async(**kwargs)  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_create_records_fields_and_returns_message(client: Client, tw: FakeTwilioAPI) -> None:
    message = await send(client, body="Rally on Saturday, 2pm", status_callback="https://muster.example/status",
                         validity_period=600)

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.to, message.from_, message.body) == (
        "queued", SUPPORTER, SENDER, "Rally on Saturday, 2pm")
    assert (message.num_segments, message.account_sid, message.direction) == ("1", ACCOUNT_SID, "outbound-api")
    assert message.date_created is not None and message.date_sent is None
    assert tw.messages == [{"To": SUPPORTER, "From": SENDER, "Body": "Rally on Saturday, 2pm",
                            "StatusCallback": "https://muster.example/status", "ValidityPeriod": "600"}]
    assert tw.resources[0]["sid"] == message.sid
    assert tw.rejected == []


@pytest.mark.asyncio
async def test_create_through_messaging_service(client: Client, tw: FakeTwilioAPI) -> None:
    message = await client.messages.create_async(to=SUPPORTER, messaging_service_sid=SERVICE_SID,
                                                 body="ŵ" * 71)
    assert (message.from_, message.messaging_service_sid, message.num_segments) == (None, SERVICE_SID, "2")
    assert tw.messages == [{"To": SUPPORTER, "MessagingServiceSid": SERVICE_SID, "Body": "ŵ" * 71}]


@pytest.mark.asyncio
async def test_rate_limit_surfaces_as_rest_exception(client: Client, tw: FakeTwilioAPI) -> None:
    tw.fail_next(status=429, code=20429)
    with pytest.raises(TwilioRestException) as err:
        await send(client)
    assert (err.value.status, err.value.code) == (429, 20429)
    assert "Too Many Requests" in err.value.msg
    assert tw.messages == []
    assert [(r.status, r.code, r.fields["To"]) for r in tw.rejected] == [(429, 20429, SUPPORTER)]

    await send(client)  # only the next one failed
    assert len(tw.messages) == 1


@pytest.mark.asyncio
async def test_opted_out_recipient_fails_with_21610(client: Client, tw: FakeTwilioAPI) -> None:
    tw.fail_next(status=400, code=21610)
    with pytest.raises(TwilioRestException) as err:
        await send(client)
    assert (err.value.status, err.value.code) == (400, 21610)
    assert "Attempt to send to unsubscribed recipient" in err.value.msg

    tw.opt_out(SUPPORTER)  # the same, driven by the number instead of a queued fault
    with pytest.raises(TwilioRestException) as err:
        await send(client)
    assert err.value.code == 21610
    assert tw.messages == [] and len(tw.rejected) == 2


@pytest.mark.parametrize(
    "inject, create, status, code",
    [
        ({"status": 500}, {}, 500, 20500),
        ({"status": 503}, {}, 503, 20503),
        ({"status": 400, "code": 21211}, {}, 400, 21211),
        (None, {"to": "07700 900123"}, 400, 21211),  # not E.164
        (None, {"body": None}, 400, 21602),
        (None, {"from_": None}, 400, 21603),
        (None, {"body": "a" * 1601}, 400, 21617),
        (None, {"status_callback": "/status"}, 400, 21609),
    ],
)
@pytest.mark.asyncio
async def test_errors(client: Client, tw: FakeTwilioAPI, inject: dict | None, create: dict,
                      status: int, code: int) -> None:
    if inject:
        tw.fail_next(**inject)
    with pytest.raises(TwilioRestException) as err:
        await send(client, **create)
    assert (err.value.status, err.value.code) == (status, code)
    assert tw.messages == [] and [(r.status, r.code) for r in tw.rejected] == [(status, code)]


@pytest.mark.asyncio
async def test_api_key_auth_is_accepted(tw: FakeTwilioAPI) -> None:
    client = point_at(Client("SK" + "1" * 32, "api-key-secret", account_sid=ACCOUNT_SID,
                             http_client=AsyncTwilioHttpClient()), tw)
    try:
        assert (await send(client)).account_sid == ACCOUNT_SID
    finally:
        await client.http_client.close()  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_wrong_credentials_are_refused(tw: FakeTwilioAPI) -> None:
    tw.auth = (ACCOUNT_SID, AUTH_TOKEN)
    client = point_at(Client(ACCOUNT_SID, "wrong", http_client=AsyncTwilioHttpClient()), tw)
    try:
        with pytest.raises(TwilioRestException) as err:
            await send(client)
        assert (err.value.status, err.value.code) == (401, 20003)
    finally:
        await client.http_client.close()  # type: ignore[attr-defined]


def test_missing_auth_and_unknown_path_get_twilio_errors(tw: FakeTwilioAPI) -> None:
    url = tw.base_url + MESSAGES_PATH.format(AccountSid=ACCOUNT_SID)
    response = httpx.post(url, data={"To": SUPPORTER, "From": SENDER, "Body": "Hi"})
    assert response.status_code == 401
    assert response.json() == {"code": 20003, "message": "Authenticate", "status": 401,
                               "more_info": "https://www.twilio.com/docs/errors/20003"}
    missing = httpx.get(tw.base_url + "/2010-04-01/Accounts.json", auth=(ACCOUNT_SID, AUTH_TOKEN))
    assert (missing.status_code, missing.json()["code"]) == (404, 20404)


def test_fail_next_needs_a_code_for_unusual_statuses(tw: FakeTwilioAPI) -> None:
    with pytest.raises(ValueError, match="error code"):
        tw.fail_next(status=418)


@pytest.mark.asyncio
async def test_hang_times_out_but_message_may_still_be_sent(client: Client, tw: FakeTwilioAPI) -> None:
    # AsyncTwilioHttpClient has no working timeout (it passes timeout=None to aiohttp), so the
    # caller must bound the call itself.
    tw.hang_next(0.3)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(send(client, body="Are you coming?"), 0.05)
    assert tw.messages == []
    recorded = await asyncio.to_thread(tw.wait_for_messages, 1, 2.0)
    assert recorded[0]["Body"] == "Are you coming?"


@pytest.mark.asyncio
async def test_stop_ends_a_hang_without_recording() -> None:
    tw = FakeTwilioAPI().start()
    client = point_at(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient()), tw)
    try:
        tw.hang_next(30)
        task = asyncio.create_task(send(client))
        await asyncio.sleep(0.1)
        started = time.monotonic()
        await asyncio.to_thread(tw.stop)
        assert time.monotonic() - started < 2
        with pytest.raises(TwilioRestException) as err:
            await task
        assert err.value.status == 503
        assert tw.messages == []
    finally:
        tw.stop()
        await client.http_client.close()  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_delay_and_concurrent_creates() -> None:
    with FakeTwilioAPI(delay=(0.01, 0.03), seed=1) as tw:
        client = point_at(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient()), tw)
        try:
            started = time.monotonic()
            sent = await asyncio.gather(*(send(client, to=f"+4477009001{i:02d}") for i in range(20)))
            assert time.monotonic() - started >= 0.01
        finally:
            await client.http_client.close()  # type: ignore[attr-defined]
    assert len({m.sid for m in sent}) == 20
    assert sorted(m["To"] for m in tw.messages) == [f"+4477009001{i:02d}" for i in range(20)]


@pytest.mark.asyncio
async def test_request_and_response_match_twilio_openapi(client: Client, tw: FakeTwilioAPI) -> None:
    if not SPEC.exists():
        pytest.skip(f"Twilio OpenAPI description not found at {SPEC} (shared fixtures absent)")
    spec = json.loads(SPEC.read_text())
    operation = spec["paths"][MESSAGES_PATH]["post"]
    request_schema = operation["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    response_schema = spec["components"]["schemas"]["api.v2010.account.message"]

    await send(client, status_callback="https://muster.example/status", validity_period=600,
               media_url=["https://muster.example/poster.png"])
    await client.messages.create_async(to=SUPPORTER, messaging_service_sid=SERVICE_SID, body="Hi")

    for fields, resource in zip(tw.messages, tw.resources, strict=True):
        assert set(fields) <= set(request_schema["properties"])
        assert set(request_schema["required"]) <= set(fields)
        assert set(resource) == set(response_schema["properties"])
        for name, prop in response_schema["properties"].items():
            if "pattern" in prop and resource[name] is not None:
                assert re.fullmatch(prop["pattern"], resource[name]), name
        assert resource["status"] in spec["components"]["schemas"]["message_enum_status"]["enum"]
        assert parsedate_to_datetime(resource["date_created"]).utcoffset() is not None
    assert tw.resources[0]["sid"].startswith("MM") and tw.resources[0]["num_media"] == "1"
