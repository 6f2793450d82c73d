"""`muster import supporters|opt-outs` and `muster export …` from the command line: a fixture file with
the shapes organisers' files come in, every refused row named with its line and reason, the same file
twice, opt-outs from another platform, exports with formulas neutralised, and the round trip: export,
import into an empty database, export again, the same file."""
from __future__ import annotations

import csv
import io
import shutil
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
runner = CliRunner()
EVIDENCE = ["--source", "website sign-up form 2025", "--consent-date", "2025-06-01", "--method",
            "tick box, unticked by default", "--wording-file", str(FIXTURES / "wording.txt")]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def _db(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _setup(tmp_path: Path, monkeypatch, name: str = "cli.db") -> Path:
    db = tmp_path / name
    monkeypatch.setenv("MUSTER_DB_PATH", str(db))
    assert invoke("group", "add", "Leeds North", "--areas", "LS6").exit_code == 0
    assert invoke("group", "add", "York", "--areas", "YO1").exit_code == 0
    return db


def test_import_reports_every_refused_row_and_the_same_file_changes_nothing(tmp_path, monkeypatch) -> None:
    db = _setup(tmp_path, monkeypatch)
    members = str(FIXTURES / "members.csv")
    dry = invoke("import", "supporters", members, "--dry-run", "--list")
    assert dry.exit_code == 0, dry.output
    assert "Dry run: nothing was changed. Importing members.csv (7 rows, separated by semicolons) would make: " \
           "4 new, 0 updated, 0 unchanged, 3 refused." in dry.output
    for line, reason in (("5", "phone number '4.47404E+11' is in scientific notation"),
                         ("6", "a duplicate: the same phone number as line 2"),
                         ("8", "'dee@example' is not an email address")):
        assert f"line {line}: refused ({reason}" in dry.output
    assert "line 9: new (opted in to SMS)\n" in dry.output and "line 7" not in dry.output, "a blank line is no row"
    assert _db(db, "SELECT COUNT(*) FROM supporters") == [(0,)]

    refused = tmp_path / "refused.csv"
    done = invoke("import", "supporters", members, "--refused", str(refused), *EVIDENCE)
    assert done.exit_code == 0, done.output
    assert "Import #1: members.csv (7 rows, separated by semicolons): 4 new, 0 updated, 0 unchanged, 3 refused." \
           in done.output
    assert "line 6: refused: a duplicate: the same phone number as line 2\n" in done.output
    assert [r[0] for r in csv.reader(refused.open())] == ["line", "5", "6", "8"]
    rows = _db(db, "SELECT phone, telegram_id, first_name, last_name, language, sms_consent, telegram_consent, "
                   "created_at FROM supporters ORDER BY id")
    assert rows == [
        ("+447400400001", None, "Siân", "Jones", "cy", "opted_in", "none", "2025-03-01T00:00:00.000000Z"),
        ("+447400400002", 6071829354, "Bob", "Smith; Jr", "en", "opted_in", "opted_in", "2025-04-02T09:30:00.000000Z"),
        ("+447400400003", None, "=cmd|calc", None, "en", "opted_in", "none", rows[2][7]),
        ("+447400400005", None, "Eve", "Line one line two", "en", "opted_in", "none", rows[3][7]),
    ]
    assert _db(db, "SELECT method FROM consent_log ORDER BY id") == [
        ("paper form at the stall",), ("tick box, unticked by default",), ("tick box, unticked by default",),
        ("tick box, unticked by default",), ("web form",)]

    again = invoke("import", "supporters", members, *EVIDENCE)
    assert again.exit_code == 0 and "was imported already" in again.output and "nothing changed" in again.output
    forced = invoke("import", "supporters", members, "--again", *EVIDENCE)
    assert "0 new, 0 updated, 4 unchanged, 3 refused" in forced.output
    assert _db(db, "SELECT COUNT(*) FROM consent_log") == [(5,)]


def test_errors_end_the_command_in_one_line(tmp_path, monkeypatch) -> None:
    _setup(tmp_path, monkeypatch)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone,first_name\n07400 400001,Jos\xe9\n".encode("latin-1"))
    bad = invoke("import", "supporters", str(latin))
    assert bad.exit_code == 1 and "Line 2 is not UTF-8 text" in bad.output
    half = invoke("import", "supporters", str(FIXTURES / "members.csv"), "--source", "a stall")
    assert half.exit_code == 1 and "give the date and the method and the wording too" in half.output
    mapped = invoke("import", "supporters", str(FIXTURES / "members.csv"), "--map", "phone=Nope")
    assert mapped.exit_code == 1 and "the file has no column 'Nope'" in mapped.output
    assert invoke("import", "supporters", str(tmp_path / "missing.csv")).exit_code == 1


def test_a_column_mapped_by_hand(tmp_path, monkeypatch) -> None:
    db = _setup(tmp_path, monkeypatch)
    odd = tmp_path / "odd.csv"
    odd.write_text("Contact no.,Who\n07400 400001,Ann\n")
    done = invoke("import", "supporters", str(odd), "--map", "phone=Contact no.", "--map", "first_name=Who")
    assert done.exit_code == 0, done.output
    assert _db(db, "SELECT phone, first_name, sms_consent FROM supporters") == [("+447400400001", "Ann", "none")]
    assert "1 new supporter has no consent evidence: kept as a contact" in done.output


def test_opt_outs_from_another_platform(tmp_path, monkeypatch) -> None:
    db = _setup(tmp_path, monkeypatch)
    assert invoke("import", "supporters", str(FIXTURES / "members.csv"), *EVIDENCE).exit_code == 0
    done = invoke("import", "opt-outs", str(FIXTURES / "opt-outs.csv"))
    assert done.exit_code == 0 and "1 new, 1 updated, 0 unchanged, 0 refused" in done.output, done.output
    assert _db(db, "SELECT sms_consent FROM supporters WHERE phone = '+447400400003'") == [("opted_out",)]
    assert _db(db, "SELECT source, import_id FROM consent_log WHERE action = 'opt_out'") == [("import-opt-out", 2)]
    assert _db(db, "SELECT reason, import_id FROM suppression") == [("opted_out", 2)]


def _export(kind: str, out: Path, *more: str) -> str:
    done = invoke("export", kind, "--output", str(out), *more)
    assert done.exit_code == 0, done.output
    return out.read_text(encoding="utf-8")


def test_exports_neutralise_formulas_and_every_kind_has_a_header(tmp_path, monkeypatch) -> None:
    _setup(tmp_path, monkeypatch)
    assert invoke("import", "supporters", str(FIXTURES / "members.csv"), *EVIDENCE).exit_code == 0
    text = _export("supporters", tmp_path / "s.csv")
    assert text.startswith("\ufeffphone,telegram_id,first_name,last_name,email")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[1][:3] == ["'+447400400001", "", "Siân"] and rows[3][2] == "'=cmd|calc"
    assert rows[1][9:13] == ["opted_in", "2025-03-01T00:00:00Z", "paper form at the stall", "signup-consent-v1"]
    consent = list(csv.reader(io.StringIO(_export("consent", tmp_path / "c.csv", "--no-bom"))))
    assert consent[0][:3] == ["id", "supporter_id", "phone"] and len(consent) == 6
    assert list(csv.reader(io.StringIO(_export("attendances", tmp_path / "a.csv", "--no-bom"))))[0][0] == "event_id"
    results = _export("broadcast-results", tmp_path / "b.csv", "--no-bom")
    assert results.startswith("broadcast_id,kind,started_at")
    audit = _db(tmp_path / "cli.db", "SELECT action, front FROM audit_log WHERE action LIKE 'export.%' ORDER BY id")
    assert [a for a, _ in audit] == ["export.supporters", "export.consent", "export.attendances",
                                     "export.broadcast-results"]
    stdout = invoke("export", "supporters", "--no-bom")
    assert stdout.output.startswith("phone,telegram_id")


def test_round_trip_export_import_into_an_empty_database_export_again(tmp_path, monkeypatch) -> None:
    _setup(tmp_path, monkeypatch, "first.db")
    assert invoke("import", "supporters", str(FIXTURES / "members.csv"), *EVIDENCE).exit_code == 0
    assert invoke("import", "opt-outs", str(FIXTURES / "opt-outs.csv")).exit_code == 0
    first = _export("supporters", tmp_path / "first.csv")

    _setup(tmp_path, monkeypatch, "second.db")
    copy = tmp_path / "exported.csv"
    shutil.copy(tmp_path / "first.csv", copy)
    done = invoke("import", "supporters", str(copy), "--wording-file", str(FIXTURES / "wording.txt"),
                  "--source", "the first database's export", "--consent-date", "2025-06-01", "--method", "export")
    assert done.exit_code == 0 and "4 new, 0 updated, 0 unchanged, 0 refused" in done.output, done.output
    assert _export("supporters", tmp_path / "second.csv") == first
