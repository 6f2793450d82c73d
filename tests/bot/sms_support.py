"""Helpers for SMS channel tests: settings with Twilio credentials, and signed webhook requests."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from bot.config import Settings, load
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN

BASE_URL = "https://muster.example.org"
SENDER = "+447700900001"
SUPPORTER = "+447700900123"
SERVICE_SID = "MG" + "ab" * 16
ERASURE_SALT = "0f" * 32  # live mode requires one


def sms_settings(**overrides: Any) -> Settings:
    values = {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": SENDER, "TWILIO_WEBHOOK_BASE_URL": BASE_URL,
        "MUSTER_ERASURE_SALT": ERASURE_SALT,
    }
    return load(**(values | overrides))


def sign(url: str, fields: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """The X-Twilio-Signature Twilio would send for these fields posted to this URL."""
    return RequestValidator(token).compute_signature(url, fields)


def signed_post(url: str, fields: dict[str, str], *, signed_url: str | None = None,
                signed_fields: dict[str, str] | None = None, headers: dict[str, str] | None = None,
                token: str = AUTH_TOKEN) -> dict[str, Any]:
    """httpx request arguments for a webhook POST, signed as Twilio would (or deliberately not)."""
    signature = sign(signed_url or url, fields if signed_fields is None else signed_fields, token)
    return {
        "content": urlencode(fields),
        "headers": {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
        | (headers or {}),
    }


def inbound_fields(sid: str = "SM" + "1" * 32, body: str = "HELP", sender: str = SUPPORTER,
                   **extra: str) -> dict[str, str]:
    """The fields of an inbound SMS webhook, as Twilio posts them."""
    return {
        "ToCountry": "GB", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0", "ToCity": "",
        "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus": "received", "FromCity": "",
        "Body": body, "FromCountry": "GB", "To": SENDER, "MessagingServiceSid": "", "ToZip": "",
        "NumSegments": "1", "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender,
        "ApiVersion": "2010-04-01",
    } | extra


def status_fields(sid: str, status: str, error_code: str | None = None, to: str = SUPPORTER) -> dict[str, str]:
    """The fields of a status callback for one of our messages."""
    fields = {
        "SmsSid": sid, "SmsStatus": status, "MessageStatus": status, "To": to, "MessageSid": sid,
        "AccountSid": ACCOUNT_SID, "From": SENDER, "ApiVersion": "2010-04-01",
    }
    if error_code:
        fields["ErrorCode"] = error_code
    return fields
