"""Settings from the environment (with .env as fallback), checked once at start-up."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flows.settings import FlowSettings


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key and what is expected."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True,
    )

    # -- service
    db_path: Path = Field(Path("muster.db"), alias="MUSTER_DB_PATH")
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

    # -- Telegram
    telegram_bot_token: str | None = Field(None, alias="TELEGRAM_BOT_TOKEN")
    telegram_bot_username: str = Field("muster_bot", alias="TELEGRAM_BOT_USERNAME")
    telegram_webhook_url: str | None = Field(None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: str | None = Field(None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_base_url: str | None = Field(None, alias="TELEGRAM_API_BASE_URL")

    # -- Twilio
    twilio_account_sid: str | None = Field(None, alias="TWILIO_ACCOUNT_SID")
    twilio_auth_token: str | None = Field(None, alias="TWILIO_AUTH_TOKEN")
    twilio_from_number: str | None = Field(None, alias="TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(None, alias="TWILIO_MESSAGING_SERVICE_SID")
    twilio_webhook_base_url: str | None = Field(None, alias="TWILIO_WEBHOOK_BASE_URL")
    twilio_api_base_url: str | None = Field(None, alias="TWILIO_API_BASE_URL")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
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
        if self.telegram_bot_token and ":" not in self.telegram_bot_token:
            raise ValueError("TELEGRAM_BOT_TOKEN: expected a BotFather token like 123456:ABC-…")
        return self

    # -- derived
    @property
    def telegram_live(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def sms_live(self) -> bool:
        return bool(self.twilio_account_sid)

    @property
    def sandbox(self) -> bool:
        """No credentials at all: every channel is the built-in sandbox."""
        return not (self.telegram_live or self.sms_live)

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
            telegram_bot_username=self.telegram_bot_username,
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
