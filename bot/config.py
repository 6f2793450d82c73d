"""Settings from the environment (with .env as fallback), checked once at start-up."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, TypeAdapter, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, available
from flows.due.event_notices import reminder_kinds
from flows.values.quiet_hours import QuietHours

# Settings that decide how and when messages go out, not secrets: the service records them at each
# start (storage.deployment) and the command line takes them from there, so the two decide alike.
DEPLOYMENT = (
    "MUSTER_TIMEZONE", "MUSTER_MOVEMENT_NAME", "MUSTER_PUBLIC_URL", "MUSTER_PRIVACY_URL", "MUSTER_INTERESTS",
    "MUSTER_EVENT_REMINDERS", "SMS_QUIET_HOURS", "SMS_PRICE_PER_SEGMENT", "SMS_SEGMENTS_PER_SECOND",
    "TELEGRAM_MESSAGES_PER_SECOND", "TELEGRAM_BOT_USERNAME", "BROADCAST_MISFIRE_GRACE",
    "MUSTER_LANGUAGES", "MUSTER_UNKNOWN_LANGUAGE",
)


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key and what is expected."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True,
    )

    # -- service
    db_path: Path = Field(Path("muster.db"), alias="MUSTER_DB_PATH")
    # PostgreSQL instead of the SQLite file, for several workers on one database (postgresql://…).
    database_url: str | None = Field(None, alias="MUSTER_DATABASE_URL", pattern=r"^(postgres(ql)?://\S+)?$")
    host: str = Field("127.0.0.1", alias="MUSTER_HOST")
    port: int = Field(8080, alias="MUSTER_PORT", ge=0, le=65535)
    public_url: str | None = Field(None, alias="MUSTER_PUBLIC_URL")
    log_level: str = Field("INFO", alias="MUSTER_LOG_LEVEL")
    movement: str = Field("Muster", alias="MUSTER_MOVEMENT_NAME")
    privacy_url: str = Field("https://example.org/privacy", alias="MUSTER_PRIVACY_URL")
    timezone: str = Field("Europe/London", alias="MUSTER_TIMEZONE")
    conversation_timeout_minutes: int = Field(60, alias="MUSTER_CONVERSATION_TIMEOUT_MINUTES", ge=1)
    # None: on in sandbox mode, off in live mode (the simulator can speak as anyone).
    simulator: bool | None = Field(None, alias="MUSTER_SIMULATOR")
    demo: bool = Field(True, alias="MUSTER_DEMO")
    outbox_batch: int = Field(50, alias="MUSTER_OUTBOX_BATCH", ge=1, le=1000)
    send_attempts: int = Field(5, alias="MUSTER_SEND_ATTEMPTS", ge=1)
    # On SIGTERM, seconds to wait for sends already handed to a provider before they count as unknown.
    stop_grace: float = Field(10.0, alias="MUSTER_STOP_GRACE", ge=0, le=300)
    inbound_per_minute: int = Field(20, alias="MUSTER_INBOUND_PER_MINUTE", ge=1)
    outbound_per_minute: int = Field(30, alias="MUSTER_OUTBOUND_PER_MINUTE", ge=1)
    # Interest topics offered at sign-up, comma-separated keys (labels: "signup.interest.<key>" texts).
    interests: str = Field(
        "housing,jobs_pay,benefits_disability,voter_registration,elections", alias="MUSTER_INTERESTS",
        pattern=r"^\s*[a-z0-9_]{1,40}(\s*,\s*[a-z0-9_]{1,40})*\s*$",
    )
    event_reminders: str = Field("day-before@10:00,2h", alias="MUSTER_EVENT_REMINDERS")
    # Languages a broadcast has a version in (en,cy in Wales), and what a supporter whose language
    # is unknown gets: the default language's version, or all of them in one message.
    languages: str = Field(DEFAULT_LANGUAGE, alias="MUSTER_LANGUAGES")
    unknown_language: str = Field("default", alias="MUSTER_UNKNOWN_LANGUAGE", pattern=r"^(default|all)$")
    # Sandbox mode: the share of texts (0-1) the sandbox reports undelivered with a carrier's error code.
    sandbox_failure_rate: float = Field(0.0, alias="MUSTER_SANDBOX_FAILURE_RATE", ge=0, le=1)

    # -- Telegram
    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_username: str = Field("muster_bot", alias="TELEGRAM_BOT_USERNAME")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_base_url: str | None = Field(None, alias="TELEGRAM_API_BASE_URL")
    telegram_api_base_file_url: str | None = Field(None, alias="TELEGRAM_API_BASE_FILE_URL")
    telegram_messages_per_second: float = Field(25.0, alias="TELEGRAM_MESSAGES_PER_SECOND", gt=0, le=1000)
    telegram_paid_broadcast: bool = Field(False, alias="TELEGRAM_PAID_BROADCAST")
    telegram_poll_timeout: int = Field(30, alias="TELEGRAM_POLL_TIMEOUT", ge=0, le=50)

    # -- Twilio
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(None, alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_webhook_base_url: str | None = Field(None, alias="TWILIO_WEBHOOK_BASE_URL")
    twilio_api_base_url: str | None = Field(None, alias="TWILIO_API_BASE_URL")
    # Honour X-Forwarded-Proto/Host when checking signatures (only behind a proxy you run).
    twilio_trust_proxy: bool = Field(False, alias="TWILIO_TRUST_PROXY")
    # Twilio Advanced Opt-Out answers STOP/START/HELP itself: Muster records them and stays quiet on SMS.
    twilio_advanced_opt_out: bool = Field(False, alias="TWILIO_ADVANCED_OPT_OUT")
    sms_default_region: str = Field("GB", alias="SMS_DEFAULT_REGION", min_length=2, max_length=2)
    sms_segments_per_second: float = Field(10.0, alias="SMS_SEGMENTS_PER_SECOND", gt=0)
    # Twilio drops a message still queued after this many seconds (1-36000): no stale alerts.
    sms_validity_period: int = Field(14400, alias="SMS_VALIDITY_PERIOD", ge=1, le=36000)
    sms_send_timeout: float = Field(30.0, alias="SMS_SEND_TIMEOUT", gt=0, le=300)
    sms_price_per_segment: Decimal = Field(Decimal("0.04"), alias="SMS_PRICE_PER_SEGMENT", ge=0)
    # Bulk SMS waits outside these hours (local time, MUSTER_TIMEZONE); empty for no quiet hours.
    sms_quiet_hours: str = Field("21:00-09:00", alias="SMS_QUIET_HOURS", pattern=r"^(\d{2}:\d{2}-\d{2}:\d{2})?$")
    # A broadcast more than this many seconds late (service down) is marked missed, not sent.
    broadcast_misfire_grace: int = Field(3600, alias="BROADCAST_MISFIRE_GRACE", ge=0)
    # Secret key for the salted hashes of erased supporters (required in live mode).
    erasure_salt: str | None = Field(None, alias="MUSTER_ERASURE_SALT")
    # Signs the console's CSRF cookies; a random one per process when unset (forms open across a
    # restart then ask to be sent again). Set it when several processes serve the console.
    secret_key: str | None = Field(None, alias="MUSTER_SECRET_KEY", min_length=16)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if self.sms_quiet_hours:
            try:
                QuietHours.parse(self.sms_quiet_hours, self.timezone)
            except ValueError:
                raise ValueError("SMS_QUIET_HOURS: expected HH:MM-HH:MM, e.g. 21:00-09:00") from None
        if self.twilio_account_sid and not self.twilio_account_sid.startswith("AC"):
            raise ValueError("TWILIO_ACCOUNT_SID: expected an account SID starting with AC")
        if bool(self.twilio_account_sid) != bool(self.twilio_auth_token):
            missing = "TWILIO_AUTH_TOKEN" if self.twilio_account_sid else "TWILIO_ACCOUNT_SID"
            raise ValueError(f"{missing}: required when the other Twilio credential is set")
        if self.twilio_account_sid and not (self.twilio_from_number or self.twilio_messaging_service_sid):
            raise ValueError(
                "TWILIO_FROM_NUMBER: set it (or TWILIO_MESSAGING_SERVICE_SID) to say where texts come from"
            )
        if self.twilio_account_sid and not self.twilio_webhook_base_url:
            raise ValueError(
                "TWILIO_WEBHOOK_BASE_URL: required with Twilio credentials (the public URL Twilio calls)"
            )
        if self.telegram_webhook_url and not self.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN: required when TELEGRAM_WEBHOOK_URL is set")
        if self.telegram_webhook_url and not self.telegram_webhook_secret:
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: required when TELEGRAM_WEBHOOK_URL is set")
        if self.telegram_messages_per_second > 30 and not self.telegram_paid_broadcast:
            raise ValueError(
                "TELEGRAM_MESSAGES_PER_SECOND: at most 30 unless TELEGRAM_PAID_BROADCAST=true"
            )
        if self.telegram_bot_token and ":" not in self.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN: expected a BotFather token like 123456:ABC-…")
        if self.erasure_salt is not None and len(self.erasure_salt) < 16:
            raise ValueError("MUSTER_ERASURE_SALT: at least 16 random characters (e.g. `openssl rand -hex 32`)")
        self.language_codes()
        try:
            reminder_kinds(self.event_reminders)
        except ValueError as exc:
            raise ValueError(f"MUSTER_EVENT_REMINDERS: {exc}") from None
        if (self.telegram_bot_token or self.twilio_account_sid) and not self.erasure_salt:
            raise ValueError(
                "MUSTER_ERASURE_SALT: required in live mode (a secret; e.g. `openssl rand -hex 32`)"
            )
        return self

    # -- derived
    def language_codes(self) -> tuple[str, ...]:
        """MUSTER_LANGUAGES as codes, in order; ValueError naming the key for a language without a
        catalogue, a repeat, or a list without the default language."""
        codes = tuple(c.strip().lower() for c in self.languages.split(",") if c.strip())
        known = available()
        wrong = [c for c in codes if c not in known]
        if wrong:
            raise ValueError(f"MUSTER_LANGUAGES: no catalogue for {wrong[0]!r}; expected codes among "
                             f"{', '.join(known)}, e.g. en,cy")
        if len(set(codes)) != len(codes):
            raise ValueError(f"MUSTER_LANGUAGES: a language is listed twice (got {self.languages!r})")
        if DEFAULT_LANGUAGE not in codes:
            raise ValueError(f"MUSTER_LANGUAGES: must include {DEFAULT_LANGUAGE}, the default language "
                             f"(got {self.languages!r})")
        return codes

    def deployment(self) -> dict[str, str]:
        """The DEPLOYMENT settings by their environment names, as text."""
        by_alias = {field.alias: name for name, field in type(self).model_fields.items()}
        return {key: "" if (value := getattr(self, by_alias[key])) is None else str(value) for key in DEPLOYMENT}

    def as_deployed(self, recorded: dict[str, str]) -> tuple[Settings, list[str]]:
        """These settings with the running service's recorded DEPLOYMENT values in place of this
        process's own, and a line for each one that differed."""
        own = self.deployment()
        differ = {k: v for k, v in recorded.items() if k in own and own[k] != v}
        if not differ:
            return self, []
        by_alias = {field.alias: (name, field) for name, field in type(self).model_fields.items()}
        update = {}
        for key, text in differ.items():
            name, field = by_alias[key]
            assert field.annotation is not None  # every setting is annotated
            update[name] = TypeAdapter(field.annotation).validate_python(text or None if field.default is None
                                                                          else text)
        notes = [f"{k}={v!r} as the service runs (this shell has {own[k]!r})" for k, v in sorted(differ.items())]
        return self.model_copy(update=update), notes

    @property
    def telegram_live(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def sms_live(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def database(self) -> str:
        """What storage opens: the PostgreSQL URL when one is set, otherwise the SQLite file."""
        return self.database_url or str(self.db_path)

    @property
    def shared_database(self) -> bool:
        """Several workers may share the database (PostgreSQL): no file lock, leases instead."""
        return bool(self.database_url)

    @property
    def sandbox(self) -> bool:
        """No credentials at all: every channel is the built-in sandbox."""
        return not (self.telegram_live or self.sms_live)

    def sandbox_rate(self, channel: str) -> float | None:
        """The sandbox's sending rate for a channel: the provider's rate setting where one is set
        (to watch a broadcast drain), else unpaced."""
        name = "sms_segments_per_second" if channel == "sms" else "telegram_messages_per_second"
        return float(getattr(self, name)) if name in self.model_fields_set else None

    @property
    def simulator_enabled(self) -> bool:
        return self.sandbox if self.simulator is None else self.simulator

    def flow_settings(self) -> FlowSettings:
        return FlowSettings(
            movement=self.movement,
            privacy_url=self.privacy_url,
            public_url=self.public_url,
            timezone=self.timezone,
            conversation_timeout_minutes=self.conversation_timeout_minutes,
            inbound_per_minute=self.inbound_per_minute,
            telegram_bot_username=self.telegram_bot_username,
            event_reminders=self.event_reminders,
            sms_default_region=self.sms_default_region,
            sms_price_per_segment=self.sms_price_per_segment,
            interests=tuple(i.strip() for i in self.interests.split(",") if i.strip()),
            twilio_advanced_opt_out=self.twilio_advanced_opt_out,
            sms_segments_per_second=self.sms_segments_per_second,
            telegram_messages_per_second=self.telegram_messages_per_second,
            sms_quiet_hours=self.sms_quiet_hours,
            broadcast_misfire_grace_seconds=self.broadcast_misfire_grace,
            languages=self.language_codes(),
            unknown_language=self.unknown_language,
            **({"erasure_salt": self.erasure_salt} if self.erasure_salt else {}),
        )


def load(**overrides: Any) -> Settings:
    """Read and check the settings; raise ConfigError with one line naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        if error["type"] == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        else:
            field = Settings.model_fields.get(str(error["loc"][0])) if error["loc"] else None
            key = (field.alias if field and field.alias else str(error["loc"][0])) if error["loc"] else "settings"
            message = f"{key}: {error['msg']} (got {error.get('input')!r})"
        raise ConfigError(message) from None
