"""In-process fake of Twilio's REST API (Messages create only), for tests.

Serves ``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` on 127.0.0.1 from a background
thread. Request and response follow Twilio's OpenAPI description (CreateMessageRequest,
``api.v2010.account.message``); errors use Twilio's JSON error shape. Point a real client at it::

    with FakeTwilioAPI() as tw:
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=AsyncTwilioHttpClient())
        client.api.base_url = tw.base_url   # the Domain builds every URL from this at call time
        await client.messages.create_async(to="+447700900123", from_="+447700900001", body="Hi")

If a region or edge is set (``Client(region=...)`` or TWILIO_REGION/TWILIO_EDGE in the
environment) the client rewrites the host name, 127.0.0.1 included: set ``client.region =
client.edge = None`` too. AsyncTwilioHttpClient ignores its ``timeout`` argument (it passes
``timeout=None`` to aiohttp, i.e. no timeout), so bound calls with ``asyncio.wait_for``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from flows.values.segments import MAX_BODY, count_segments

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "fake-twilio-auth-token"
API_VERSION = "2010-04-01"

# Twilio's own wording for the codes the fake can produce.
ERROR_MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "Internal Server Error",
    20503: "Service Unavailable",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21609: "Invalid StatusCallback url",
    21610: "Attempt to send to unsubscribed recipient",
    21617: "The concatenated message body exceeds the 1600 character limit.",
}
_DEFAULT_CODES = {401: 20003, 404: 20404, 429: 20429, 500: 20500, 503: 20503}
_ARRAY_FIELDS = frozenset({"MediaUrl", "PersistentAction"})  # "type": "array" in the spec
_ACCOUNT_SID_RE = re.compile(r"AC[0-9a-fA-F]{32}")
# E.164, optionally behind a channel prefix such as "whatsapp:".
_ADDRESS_RE = re.compile(r"(?:[a-z]+:)?\+[1-9][0-9]{6,14}")


@dataclass(frozen=True)
class Rejection:
    """A create the fake answered with an error: the form fields and what it said."""

    fields: dict[str, Any]
    status: int
    code: int


@dataclass(frozen=True)
class _Fault:
    status: int = 0  # 0: not an error but a hang
    code: int = 0
    message: str = ""
    hang: float = 0.0


class _TwilioError(Exception):
    def __init__(self, status: int, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code = status, code
        self.message = message or ERROR_MESSAGES.get(code, "Error")

    def response(self) -> JSONResponse:
        body = {"code": self.code, "message": self.message,
                "more_info": f"https://www.twilio.com/docs/errors/{self.code}", "status": self.status}
        return JSONResponse(body, status_code=self.status)


class FakeTwilioAPI:
    def __init__(self, *, auth: tuple[str, str] | None = None,
                 delay: tuple[float, float] | None = None, seed: int | None = None,
                 port: int = 0) -> None:
        self.port = port  # 0: any free port; a fixed one lets a stopped fake come back at the same URL
        self.auth = auth  # if set, the only (username, password) accepted; else any AC…/SK… pair
        self.delay = delay  # (min_s, max_s) random latency added to every request
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()  # ends hangs early so stop() is quick
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self.reset()

    def reset(self) -> None:
        """Forget recorded messages, rejections, opt-outs and pending faults."""
        with self._lock:
            self._messages: list[dict[str, Any]] = []
            self._resources: list[dict[str, Any]] = []
            self._rejected: list[Rejection] = []
            self._hung: list[tuple[dict[str, Any], float]] = []
            self._faults: collections.deque[_Fault] = collections.deque()
            self._opted_out: set[str] = set()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeTwilioAPI:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self._port = sock.getsockname()[1]
        app = Starlette(routes=[
            Route("/2010-04-01/Accounts/{account_sid}/Messages.json", self._create_message, methods=["POST"]),
            Route("/{path:path}", self._not_found, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        ])
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._stopping.clear()
        server = self._server
        self._thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])),
                                        name="fake-twilio-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeTwilioAPI failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeTwilioAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Assign to ``client.api.base_url`` (it replaces "https://api.twilio.com")."""
        if self._port is None:
            raise RuntimeError("FakeTwilioAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    # ----------------------------------------------------------------- test-side API

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Form fields of every accepted create, in order (MediaUrl/PersistentAction as lists)."""
        with self._lock:
            return [dict(m) for m in self._messages]

    @property
    def message_count(self) -> int:
        """How many creates were accepted, without copying them."""
        with self._lock:
            return len(self._messages)

    @property
    def resources(self) -> list[dict[str, Any]]:
        """The Message resources returned for ``messages``, same order."""
        with self._lock:
            return [dict(r) for r in self._resources]

    @property
    def rejected(self) -> list[Rejection]:
        """Creates answered with an error (injected or validation), in order."""
        with self._lock:
            return list(self._rejected)

    @property
    def hung(self) -> list[tuple[dict[str, Any], float]]:
        """Creates held by ``hang_next``: (form fields, seconds), in the order they arrived."""
        with self._lock:
            return list(self._hung)

    def fail_next(self, status: int = 429, code: int | None = None, times: int = 1,
                  message: str | None = None) -> None:
        """Answer the next ``times`` creates with a Twilio error, e.g. (400, 21610) for opted out."""
        if code is None:
            if status not in _DEFAULT_CODES:
                raise ValueError(f"give a Twilio error code for HTTP {status}")
            code = _DEFAULT_CODES[status]
        fault = _Fault(status, code, message or ERROR_MESSAGES.get(code, "Error"))
        with self._lock:
            self._faults.extend([fault] * times)

    def hang_next(self, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` creates for ``seconds`` before answering.

        After the hang the create is processed normally, recorded and answered 201, even if the
        client has given up: as with real Twilio, a timed-out create may still have been sent.
        """
        with self._lock:
            self._faults.extend([_Fault(hang=seconds)] * times)

    def opt_out(self, number: str) -> None:
        """Make every later create to ``number`` fail with 21610, as after the recipient sent STOP."""
        with self._lock:
            self._opted_out.add(number)

    def wait_for_messages(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Block until ``count`` creates were accepted (e.g. after a hang), then return them."""
        deadline = time.monotonic() + timeout
        while len(messages := self.messages) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(messages)} of {count} messages after {timeout}s")
            time.sleep(0.005)
        return messages

    # ----------------------------------------------------------------- server side

    async def _not_found(self, request: Request) -> JSONResponse:
        return _TwilioError(404, 20404).response()

    async def _create_message(self, request: Request) -> JSONResponse:
        # Parsed by hand: Starlette's request.form() needs python-multipart, not a dependency.
        fields: dict[str, Any] = {}
        for key, value in parse_qsl((await request.body()).decode(), keep_blank_values=True):
            if key in _ARRAY_FIELDS:
                fields.setdefault(key, []).append(value)
            else:
                fields[key] = value
        if self.delay:
            await asyncio.sleep(self._random.uniform(*self.delay))
        account_sid = request.path_params["account_sid"]
        try:
            self._check_auth(request, account_sid)
            with self._lock:
                fault = self._faults.popleft() if self._faults else None
            if fault is not None and fault.hang:
                with self._lock:
                    self._hung.append((fields, fault.hang))
                # In a worker thread so that stop() (which sets the event) ends the hang at once.
                if await asyncio.to_thread(self._stopping.wait, fault.hang):
                    return _TwilioError(503, 20503).response()  # shutting down: nothing recorded
            elif fault is not None:
                raise _TwilioError(fault.status, fault.code, fault.message)
            self._validate(fields)
            with self._lock:  # check + record atomically so opt_out() cannot slip in between
                if fields["To"] in self._opted_out:
                    raise _TwilioError(400, 21610)
                resource = _message_resource(account_sid, fields)
                self._messages.append(fields)
                self._resources.append(resource)
        except _TwilioError as err:
            with self._lock:
                self._rejected.append(Rejection(fields, err.status, err.code))
            return err.response()
        return JSONResponse(resource, status_code=201, headers={"Twilio-Request-Id": "RQ" + uuid.uuid4().hex})

    def _check_auth(self, request: Request, account_sid: str) -> None:
        header = request.headers.get("authorization", "")
        try:
            scheme, _, encoded = header.partition(" ")
            username, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise _TwilioError(401, 20003) from None
        if scheme.lower() != "basic" or not password or not username.startswith(("AC", "SK")):
            raise _TwilioError(401, 20003)
        if self.auth is not None and (username, password) != self.auth:
            raise _TwilioError(401, 20003)
        # An auth token only works for its own account; an API key (SK…) names no account.
        if username.startswith("AC") and username != account_sid:
            raise _TwilioError(401, 20003)
        if not _ACCOUNT_SID_RE.fullmatch(account_sid):
            raise _TwilioError(404, 20404)

    @staticmethod
    def _validate(fields: dict[str, Any]) -> None:
        to = fields.get("To", "")
        if not to:
            raise _TwilioError(400, 21604)
        if not _ADDRESS_RE.fullmatch(to):
            raise _TwilioError(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not fields.get("From") and not fields.get("MessagingServiceSid"):
            raise _TwilioError(400, 21603)
        if not (fields.get("Body") or fields.get("MediaUrl") or fields.get("ContentSid")):
            raise _TwilioError(400, 21602)
        if len(fields.get("Body", "")) > MAX_BODY:
            raise _TwilioError(400, 21617)
        if "StatusCallback" in fields:
            url = urlsplit(fields["StatusCallback"])
            # Twilio wants an absolute http(s) URL; it rejects underscores in the host name.
            if url.scheme not in ("http", "https") or not url.hostname or "_" in url.hostname:
                raise _TwilioError(400, 21609)


def _message_resource(account_sid: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The ``api.v2010.account.message`` JSON Twilio answers a create with."""
    media = fields.get("MediaUrl", [])
    sid = ("MM" if media else "SM") + uuid.uuid4().hex
    now = format_datetime(datetime.now(UTC).replace(microsecond=0))  # RFC 2822, "+0000"
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    body = fields.get("Body", "")
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,  # not sent yet: it is only queued
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": fields.get("From"),  # null when Twilio will pick from the Messaging Service
        "messaging_service_sid": fields.get("MessagingServiceSid"),
        "num_media": str(len(media)),
        "num_segments": str(max(count_segments(body).segments, 1)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "scheduled" if fields.get("ScheduleType") == "fixed" else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": fields["To"],
        "uri": f"{uri}.json",
    }
