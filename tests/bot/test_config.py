from __future__ import annotations

import pytest

from bot.config import ConfigError, load


def test_no_credentials_means_sandbox():
    settings = load(_env_file=None)
    assert settings.sandbox and settings.simulator_enabled
    assert str(settings.db_path) == "muster.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TWILIO_ACCOUNT_SID": "AC123"}, "TWILIO_AUTH_TOKEN: required"),
        ({"TWILIO_AUTH_TOKEN": "secret"}, "TWILIO_ACCOUNT_SID: required"),
        ({"TWILIO_ACCOUNT_SID": "XX1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_ACCOUNT_SID: expected an account SID"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
        ({"TELEGRAM_WEBHOOK_URL": "https://x.example/telegram/webhook"}, "TELEGRAM_BOT_TOKEN: required"),
        ({"TELEGRAM_BOT_TOKEN": "nocolon"}, "TELEGRAM_BOT_TOKEN: expected"),
        ({"MUSTER_PORT": "eighty"}, "MUSTER_PORT:"),
        ({"MUSTER_PORT": "70000"}, "MUSTER_PORT:"),
    ],
)
def test_wrong_settings_name_the_key(monkeypatch, env, message):
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load(_env_file=None)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_dotenv_is_the_fallback_and_environment_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("MUSTER_PORT=9001\nMUSTER_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("MUSTER_PORT", "9002")
    settings = load()
    assert settings.port == 9002 and settings.log_level == "DEBUG"


def test_simulator_is_off_in_live_mode_unless_asked(monkeypatch):
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("MUSTER_ERASURE_SALT", "0123456789abcdef0123")
    assert not load(_env_file=None).simulator_enabled
    monkeypatch.setenv("MUSTER_SIMULATOR", "true")
    assert load(_env_file=None).simulator_enabled
