"""What flows need to know about the deployment; built by bot.config, defaults for tests."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class FlowSettings:
    movement: str = "Muster"
    privacy_url: str = "https://example.org/privacy"
    public_url: str | None = None
    timezone: str = "Europe/London"
    conversation_timeout_minutes: int = 60
    # One sender (or another bot answering ours) beyond this many messages a minute is throttled.
    inbound_per_minute: int = 20
    telegram_bot_username: str = "muster_bot"
    # event reminders: "day-before@10:00" (a local time N days before) and/or offsets like "2h"
    event_reminders: str = "day-before@10:00,2h"
    sms_default_region: str = "GB"
    sms_price_per_segment: Decimal = Decimal("0.04")
    # broadcasts: sending rates for the time estimate, SMS quiet hours, how late a start may be
    sms_segments_per_second: float = 10.0
    telegram_messages_per_second: float = 25.0
    sms_quiet_hours: str = "21:00-09:00"
    broadcast_misfire_grace_seconds: int = 3600
    # HMAC key for the erasure suppression list; this default is for sandbox and tests only.
    erasure_salt: str = "muster-sandbox-erasure-salt"
    # sign-up: the interest topics offered (labels in the catalogue as "signup.interest.<key>")
    interests: tuple[str, ...] = (
        "housing", "jobs_pay", "benefits_disability", "voter_registration", "elections",
    )
    # Twilio Advanced Opt-Out answers STOP/START/HELP on SMS itself: record them, send nothing.
    twilio_advanced_opt_out: bool = False
    # Languages a broadcast may have a version in (MUSTER_LANGUAGES), English (the default) among
    # them; each recipient gets theirs, else the default's. Listed in the order a message carrying
    # several versions shows them.
    languages: tuple[str, ...] = ("en",)
    # A recipient whose language is unknown gets the default's version ("default") or every version
    # the broadcast has, in one message ("all").
    unknown_language: str = "default"
