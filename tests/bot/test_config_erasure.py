"""MUSTER_ERASURE_SALT: a fixed default in sandbox mode, required (and long enough) in live mode."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, load
from flows.core.settings import FlowSettings


def test_sandbox_uses_the_development_default():
    assert load(_env_file=None).flow_settings().erasure_salt == FlowSettings().erasure_salt


@pytest.mark.parametrize("env", [
    {"TELEGRAM_BOT_TOKEN": "123:abc"},
    {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+447400000000",
     "TWILIO_WEBHOOK_BASE_URL": "https://x.example"},
])
def test_live_mode_requires_it(monkeypatch, env):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError, match="^MUSTER_ERASURE_SALT: required in live mode"):
        load(_env_file=None)
    monkeypatch.setenv("MUSTER_ERASURE_SALT", "0123456789abcdef0123")
    assert load(_env_file=None).flow_settings().erasure_salt == "0123456789abcdef0123"


def test_a_short_salt_is_refused(monkeypatch):
    monkeypatch.setenv("MUSTER_ERASURE_SALT", "short")
    with pytest.raises(ConfigError, match="^MUSTER_ERASURE_SALT: at least 16"):
        load(_env_file=None)
