from __future__ import annotations

from typer.testing import CliRunner

from bot.cli import app
from tests.harness import query_file

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
    assert "Leeds North" in listed.output and "+447400123456" in listed.output  # the operator's tool: in full

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


def test_an_organiser_is_given_a_group_or_national_reach_explicitly(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("COLUMNS", "80")
    assert invoke("group", "add", "Manchester Central (demo)", "--areas", "M1").exit_code == 0
    bare = invoke("organiser", "add", "--role", "organiser", "--phone", "+447400123456")
    assert bare.exit_code == 1
    assert bare.output.strip().splitlines() == [
        "Error: an organiser needs --group NAME (one local group) or --national (every group)"]
    both = invoke("organiser", "add", "--role", "organiser", "--phone", "+447400123456", "--group",
                  "Manchester Central (demo)", "--national")
    assert both.exit_code == 1 and "not both" in both.output
    assert invoke("organiser", "add", "--role", "admin", "--phone", "+447400123456", "--national").exit_code == 1
    assert query_file(tmp_path / "cli.db", "SELECT COUNT(*) FROM organisers") == [(0,)]

    assert invoke("organiser", "add", "--role", "organiser", "--phone", "+447400123456", "--national").exit_code == 0
    assert invoke("organiser", "add", "--role", "organiser", "--telegram-id", "987654321012",
                  "--group", "Manchester Central (demo)").exit_code == 0
    assert invoke("organiser", "add", "--role", "admin", "--phone", "+447400999888").exit_code == 0
    query_file(tmp_path / "cli.db", "INSERT INTO supporters (phone, first_name, status, created_at) "
               "VALUES ('+447400123456', 'Rosalind', 'active', '2026-01-01T00:00:00Z')")
    listed = invoke("organiser", "list").output
    rows = [line for line in listed.splitlines() if "│" in line]
    assert any("national" in line and "Rosalind" in line and "+447400123456" in line for line in rows), listed
    assert "everything" in listed and "987654321012" in listed
    assert all(word in listed for word in ("Manchester", "Central", "(demo)"))  # wrapped at 80 columns, not cut
    assert "…" not in listed
    assert "--national" in invoke("organiser", "add", "--help").output


def test_tables_wrap_at_80_columns_rather_than_cut_words_short(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("COLUMNS", "80")
    assert invoke("group", "add", "Manchester Central (demo)", "--areas", "M1").exit_code == 0
    made = invoke("event", "create", "--title", "Door-knocking-in-Manchester-Central-and-Salford", "--when",
                  "2030-05-04 14:00", "--venue", "Civic Hall", "--postcode", "M1 1AA",
                  "--group", "Manchester Central (demo)", "--publish")
    assert made.exit_code == 0, made.output
    assert invoke("broadcast", "create", "--body", "Door-knocking-this-Saturday-meet-at-the-Civic-Hall").exit_code == 0
    for command, column, text in ((("event", "list"), 4, "Door-knocking-in-Manchester-Central-and-Salford"),
                                  (("broadcast", "list"), 7, "Door-knocking-this-Saturday-meet-at-the-Civic-Hall")):
        shown = invoke(*command).output
        assert "…" not in shown, shown
        assert max(len(line) for line in shown.splitlines()) <= 80
        cells = [line.split("│")[column].strip() for line in shown.splitlines() if line.startswith("│")]
        assert "".join(cells) == text, shown  # folded over several lines, every character there
    shown = invoke("event", "list").output
    assert "".join(line.split("│")[5].strip() for line in shown.splitlines() if line.startswith("│")) == "published"
