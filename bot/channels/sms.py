"""The SMS channel on Twilio: signed webhooks in, the async REST client out.

Every webhook is checked against `X-Twilio-Signature` over the URL Twilio called and
every form field it sent, before any field is read. Sends are at most once: Twilio's
create has no idempotency key, so only failures known to mean "not sent" (HTTP 429 /
20429, a connection that was never made) are retryable.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.channels.base import SendError, Sent
from bot.channels.render import as_text
from bot.config import Settings
from bot.pacing import Pacer
from flows.core.clock import Clock
from flows.core.engine import Handled
from flows.core.types import Inbound, Reply
from flows.values import phones
from flows.values.segments import MAX_BODY, count_segments
from flows.verdicts import sms_status
from storage import space
from storage.db import Database, DatabaseBusy
from storage.outbox import OutboxRow

log = logging.getLogger(__name__)

Submit = Callable[[Inbound], Awaitable[Handled]]
INBOUND_PATH = "/sms/inbound"
STATUS_PATH = "/sms/status"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
RATE_LIMITED = {20429}


class SmsChannel:
    name = "sms"

    def __init__(
        self, settings: Settings, submit: Submit, clock: Clock, *,
        database: Callable[[], Database | None] | None = None,
    ) -> None:
        if not (settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_webhook_base_url):
            raise ValueError("SmsChannel needs TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and TWILIO_WEBHOOK_BASE_URL")
        self.settings = settings
        self.submit = submit
        self.clock = clock
        self.database = database  # for delivery reports, which are not supporter messages
        self.send_timeout = settings.sms_send_timeout  # AsyncTwilioHttpClient itself has no timeout
        self.pacer = Pacer(settings.sms_segments_per_second)
        self._validator = RequestValidator(settings.twilio_auth_token)
        self._base = settings.twilio_webhook_base_url.rstrip("/")
        self._client: Client | None = None
        self._http: AsyncTwilioHttpClient | None = None

    # -- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        self.client()

    async def stop(self) -> None:
        http, self._http, self._client = self._http, None, None
        if http is not None:
            await http.close()

    def client(self) -> Client:
        """The REST client, made on first use inside the event loop (its aiohttp session needs one)."""
        if self._client is None:
            settings = self.settings
            self._http = AsyncTwilioHttpClient()
            client = Client(settings.twilio_account_sid, settings.twilio_auth_token, http_client=self._http)
            if settings.twilio_api_base_url:
                # Every URL is built from the Domain's base_url at call time; a region or edge
                # (TWILIO_REGION/TWILIO_EDGE) would rewrite the host name, so drop them.
                client.region = client.edge = None
                client.api.base_url = settings.twilio_api_base_url.rstrip("/")
            self._client = client
        return self._client

    def routes(self) -> list[BaseRoute]:
        return [
            Route(INBOUND_PATH, self.inbound, methods=["POST"]),
            Route(STATUS_PATH, self.status, methods=["POST"]),
        ]

    def cost(self, reply: Reply) -> float:
        """Segments, which is what Twilio's rate limit counts."""
        return float(max(1, count_segments(as_text(reply)).segments))

    # -- webhooks -------------------------------------------------------------------
    def public_url(self, request: Request) -> str:
        """The URL Twilio called: our configured base, or (only if trusted) what the proxy says."""
        base = urlsplit(self._base)
        scheme, host = base.scheme, base.netloc
        if self.settings.twilio_trust_proxy:
            forwarded_proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
            forwarded_host = request.headers.get("x-forwarded-host", "").split(",")[0].strip()
            scheme, host = forwarded_proto or scheme, forwarded_host or host
        url = f"{scheme}://{host}{base.path.rstrip('/')}{request.url.path}"
        return f"{url}?{request.url.query}" if request.url.query else url

    async def _verified_form(self, request: Request) -> ImmutableMultiDict[str, str] | Response:
        """The form fields if the signature is right over all of them; else the 4xx to answer."""
        signature = request.headers.get("x-twilio-signature")
        if not signature:
            log.warning("sms webhook %s refused: no signature", request.url.path)
            return PlainTextResponse("missing signature", 403)
        try:
            # Parsed by hand (no python-multipart); blank values are signed too.
            pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            # Twilio signs UTF-8 values, so such a body cannot carry a valid signature: refuse it
            # as unverified (403), telling an unauthenticated caller nothing about our parsing.
            log.warning("sms webhook %s refused: body is not UTF-8 form data", request.url.path)
            return PlainTextResponse("invalid signature", 403)
        form = ImmutableMultiDict(pairs)
        if not self._validator.validate(self.public_url(request), form, signature):
            log.warning("sms webhook %s refused: invalid signature", request.url.path)
            return PlainTextResponse("invalid signature", 403)
        return form

    async def inbound(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if isinstance(form, Response):
            return form
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        if sid and (reason := _not_sms(form)):
            return _ignored(sid, reason)
        address = phones.normalise(form.get("From", ""), self.settings.sms_default_region)
        try:
            num_media = int(form.get("NumMedia") or 0)
        except ValueError:
            num_media = -1
        if not sid or address is None or num_media < 0:
            log.warning("sms inbound refused: malformed (sid=%s, from ok=%s)", bool(sid), address is not None)
            return PlainTextResponse("malformed message", 400)
        if reason := self._not_ours(form):
            return _ignored(sid, reason)
        body = form.get("Body", "")
        message = Inbound(
            channel=self.name, address=address, text=body, provider_id=f"twilio:{sid}",
            received_at=self.clock.now(), kind="media" if num_media and not body.strip() else "message",
            extra={"num_media": num_media} if num_media else {},
        )
        try:
            handled = await self.submit(message)
        except DatabaseBusy:  # already logged by the engine; Twilio may send it again
            log.warning("sms inbound %s from %s answered 503: database busy", sid, phones.masked(address))
            return PlainTextResponse("temporarily unavailable", 503)
        except Exception as exc:
            if space.is_full(exc):  # nothing was committed; one line, since a traceback each is no help
                log.error("sms inbound %s from %s answered 503: %s", sid, phones.masked(address), space.FULL)
                return PlainTextResponse("temporarily unavailable", 503)
            log.exception("sms inbound %s from %s could not be handled", sid, phones.masked(address))
            return PlainTextResponse("temporarily unavailable", 503)
        if handled.duplicate:
            log.info("sms inbound %s was a retry; answered, not run again", sid)
        # Replies go through the outbox, never in the TwiML: pacing and opt-outs apply to all.
        return Response(EMPTY_TWIML, media_type="text/xml")

    def _not_ours(self, form: ImmutableMultiDict[str, str]) -> str | None:
        """Why this inbound SMS was not sent to one of our senders (None: it was)."""
        to = form.get("To", "")
        settings = self.settings
        ours = phones.normalise(settings.twilio_from_number or "", settings.sms_default_region)
        recipient = phones.normalise(to, settings.sms_default_region)
        if ours is not None and recipient == ours:
            return None
        if settings.twilio_messaging_service_sid:
            # Any number in the service's sender pool is ours, and we do not keep that list; a
            # message that names another of the account's services is not ours.
            service = form.get("MessagingServiceSid", "")
            if service and service != settings.twilio_messaging_service_sid:
                return "for another Messaging Service"
            return None if recipient is not None else "To is not a phone number"
        return f"sent to {phones.masked(recipient) if recipient else 'no number'}, not our number {phones.masked(ours)}"

    async def status(self, request: Request) -> Response:
        form = await self._verified_form(request)
        if isinstance(form, Response):
            return form
        sid = form.get("MessageSid") or form.get("SmsSid") or ""
        state = form.get("MessageStatus") or form.get("SmsStatus") or ""
        if not sid or not state:
            log.warning("sms status refused: malformed (sid=%s, status=%s)", bool(sid), bool(state))
            return PlainTextResponse("malformed status callback", 400)
        db = self.database() if self.database else None
        if db is None:
            log.error("sms status %s %s dropped: no database", sid, state)
            return PlainTextResponse("temporarily unavailable", 503)
        to = phones.normalise(form.get("To", ""), self.settings.sms_default_region)
        try:
            async with db.transaction() as tx:
                await sms_status.record(tx, sid, state, form.get("ErrorCode"), to, self.clock.now())
        except Exception as exc:
            if space.is_full(exc):
                log.error("sms status %s %s answered 503: %s", sid, state, space.FULL)
                return PlainTextResponse("temporarily unavailable", 503)
            log.exception("sms status %s %s could not be recorded", sid, state)
            return PlainTextResponse("temporarily unavailable", 503)
        return Response(EMPTY_TWIML, media_type="text/xml")

    # -- sending --------------------------------------------------------------------
    async def send(self, row: OutboxRow, reply: Reply) -> Sent:
        body = as_text(reply)
        if len(body) > MAX_BODY:
            raise SendError(f"body of {len(body)} characters is over {MAX_BODY}", retryable=False, code="21617")
        settings = self.settings
        options: dict[str, str | int | None] = {
            "to": row.address, "body": body,
            "status_callback": self._base + STATUS_PATH,
            "validity_period": settings.sms_validity_period,
        }
        if settings.twilio_messaging_service_sid:
            options["messaging_service_sid"] = settings.twilio_messaging_service_sid
        else:
            options["from_"] = settings.twilio_from_number
        try:
            message = await asyncio.wait_for(self.client().messages.create_async(**options), self.send_timeout)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise _rest_error(exc) from None
        except aiohttp.ClientConnectorError as exc:
            # The connection was never made, so the request was never sent: safe to try again.
            raise SendError(f"could not connect to Twilio: {exc}", retryable=True, code="connect") from None
        except TimeoutError:
            raise SendError("no answer from Twilio in time; may have been sent", retryable=False,
                            code="timeout", maybe_sent=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise SendError(f"connection to Twilio lost; may have been sent: {exc}", retryable=False,
                            code="network", maybe_sent=True) from None
        return Sent(provider_id=message.sid)


def _ignored(sid: str, reason: str) -> Response:
    """Not an SMS to us (a WhatsApp or Messenger sender, or another number of the account, whose
    webhook points here): answered 200 with empty TwiML, and nothing is written. Twilio counts
    any other answer as a failure, retries it and reports it as an error; the request is genuine
    (it is signed) and a retry would be ignored in the same way, so a 4xx would only be noise.
    The log line is the operator's clue that a webhook is set where it should not be."""
    log.warning("sms inbound %s ignored: %s", sid, reason)
    return Response(EMPTY_TWIML, media_type="text/xml")


def _not_sms(form: ImmutableMultiDict[str, str]) -> str | None:
    """Why this message did not come over SMS (None: it did, as far as its addresses show)."""
    for field in ("From", "To"):
        scheme = _channel_of(form.get(field, ""))
        if scheme:
            return f"{field} is a {scheme} address, not SMS"
    return None


def _channel_of(address: str) -> str | None:
    """'whatsapp:+44…' → 'whatsapp', 'tel:+44…' → 'tel': the scheme of an address that is not a
    bare phone number (Twilio prefixes every non-SMS channel's addresses); None for a bare one."""
    scheme, colon, _ = address.strip().partition(":")
    if not colon:
        return None
    return scheme.strip().lower()[:20] if scheme.strip().isalnum() else "non-SMS"


def _rest_error(exc: TwilioRestException | TwilioServiceException) -> SendError:
    """Twilio's answer to a create, typed: only a rate limit is known not to have been sent."""
    status, code = exc.status, exc.code
    text = str(getattr(exc, "msg", None) or getattr(exc, "title", "") or "Twilio error")
    label = str(code or status)
    if status == 429 or code in RATE_LIMITED:
        return SendError(f"Twilio rate limit: {text}", retryable=True, code=label, retry_after=1.0)
    return SendError(
        f"Twilio refused the message ({status}): {text}", retryable=False, code=label,
        opt_out=sms_status.is_opt_out(label), undeliverable=sms_status.is_undeliverable(label),
    )
