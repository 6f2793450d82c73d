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


def test_chat_refuses_a_live_database(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "live.db"))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123456:live-token")
    monkeypatch.setenv("MUSTER_ERASURE_SALT", "0f" * 32)
    result = invoke("chat", "--as", "+447400123456")
    assert result.exit_code == 1
    assert "muster chat runs in sandbox mode only" in result.output
    assert not (tmp_path / "live.db").exists()  # it touched nothing


def test_chat_refuses_a_database_a_service_holds(tmp_path, monkeypatch):
    from storage.lock import DatabaseLock

    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "muster.db"))
    held = DatabaseLock(tmp_path / "muster.db").acquire()
    try:
        result = invoke("chat", "--telegram-id", "4242")
    finally:
        held.release()
    assert result.exit_code == 1
    assert "muster.db is in use by muster run (pid" in result.output and "simulator" in result.output


def test_every_command_refuses_an_unusable_database_in_one_line(tmp_path, monkeypatch):
    (tmp_path / "noise.db").write_bytes(b"\x07" * 8192)
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "noise.db"))
    for command in (["db", "upgrade"], ["group", "list"], ["broadcast", "list"], ["event", "list"]):
        result = invoke(*command)
        assert result.exit_code == 1, (command, result.output)
        expected = f"Error: {tmp_path / 'noise.db'} is not a SQLite database"
        assert result.output.strip().splitlines() == [expected], command
