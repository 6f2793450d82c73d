from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_groups_and_organisers_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    assert invoke("db", "upgrade").exit_code == 0
    assert "up to date" in invoke("db", "upgrade").output

    made = invoke("group", "add", "Leeds North", "--areas", "LS6 LS7")
    assert made.exit_code == 0, made.output
    assert "LS6 LS7" in made.output
    clash = invoke("group", "add", "Leeds Again", "--areas", "LS7")
    assert clash.exit_code == 1 and "LS7 (Leeds North)" in clash.output

    added = invoke("organiser", "add", "--role", "organiser", "--phone", "07400 123456", "--group", "Leeds North")
    assert added.exit_code == 0, added.output
    listed = invoke("organiser", "list")
    assert "Leeds North" in listed.output and "+44…456" in listed.output
    assert "+447400123456" not in listed.output

    assert invoke("organiser", "remove", "--phone", "+447400123456").exit_code == 0
    assert "Leeds North" not in invoke("organiser", "list").output


def test_bad_arguments_get_clear_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    result = invoke("organiser", "add", "--role", "boss", "--phone", "+447400123456")
    assert result.exit_code == 1 and "--role: expected one of admin, organiser" in result.output
    result = invoke("organiser", "add", "--role", "admin", "--phone", "banana")
    assert result.exit_code == 1 and "not a phone number" in result.output
    result = invoke("organiser", "add", "--role", "admin", "--phone", "+447400123456", "--group", "Nowhere")
    assert result.exit_code == 1 and "no local group called 'Nowhere'" in result.output
    result = invoke("group", "add", "X", "--areas", "M1!")
    assert result.exit_code == 1 and "not postcode areas" in result.output
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC1")
    result = invoke("group", "list")
    assert result.exit_code == 2 and "TWILIO_AUTH_TOKEN" in result.output
