"""What flows need to know about the deployment; built by bot.config, defaults for tests."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlowSettings:
    movement: str = "Muster"
    privacy_url: str = "https://example.org/privacy"
    public_url: str | None = None
    timezone: str = "Europe/London"
    conversation_timeout_minutes: int = 60
    telegram_bot_username: str = "muster_bot"
