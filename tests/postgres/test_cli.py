"""The command line on PostgreSQL: with MUSTER_DATABASE_URL set, every command opens it, as the service
does (MUSTER_DB_PATH's file is never made), and reads the settings the workers recorded there."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import deployment, open_database

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "csv"
EVIDENCE = ["--source", "website sign-up form 2025", "--consent-date", "2025-06-01", "--method",
            "tick box, unticked by default", "--wording-file", str(FIXTURES / "wording.txt")]
runner = CliRunner()


async def muster(*args: str):
    """`muster …` in a thread (it runs its own event loop, as from a shell)."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


async def _rows(url: str, sql: str) -> list[tuple]:
    db = await open_database(url)
    try:
        async with db.transaction() as tx:
            return [tuple(r) for r in await tx.query(sql)]
    finally:
        await db.close()


@pytest.fixture
def on_postgres(pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shell's settings: a PostgreSQL URL, and a SQLite path that must stay untouched."""
    monkeypatch.setenv("MUSTER_DATABASE_URL", pg_url)
    sqlite_file = tmp_path / "muster.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(sqlite_file))
    return sqlite_file


async def test_groups_and_an_import_from_the_command_line_land_in_postgresql(pg_url: str, on_postgres: Path) -> None:
    for name, area in (("Leeds North", "LS6"), ("York", "YO1")):
        added = await muster("group", "add", name, "--areas", area)
        assert added.exit_code == 0, added.output
    listed = await muster("group", "list")
    assert listed.exit_code == 0 and "Leeds North" in listed.output

    members = str(FIXTURES / "members.csv")
    dry = await muster("import", "supporters", members, "--dry-run", "--list")
    assert dry.exit_code == 0, dry.output
    assert "would make: 4 new, 0 updated, 0 unchanged, 3 refused." in dry.output
    assert "line 6: refused (a duplicate: the same phone number as line 2" in dry.output
    done = await muster("import", "supporters", members, *EVIDENCE)
    assert done.exit_code == 0, done.output
    assert "Import #1: members.csv (7 rows, separated by semicolons): 4 new, 0 updated, 0 unchanged, 3 refused." \
           in done.output
    again = await muster("import", "supporters", members, *EVIDENCE)
    assert again.exit_code == 0 and "was imported already" in again.output

    assert await _rows(pg_url, "SELECT COUNT(*) FROM supporters") == [(4,)]
    assert await _rows(pg_url, "SELECT name FROM local_groups ORDER BY id") == [("Leeds North",), ("York",)]
    assert await _rows(pg_url, "SELECT COUNT(*) FROM import_seen") == [(0,)]
    assert not on_postgres.exists(), "MUSTER_DB_PATH's file is never made"

    upgraded = await muster("db", "upgrade")
    assert upgraded.exit_code == 0 and "Database is up to date." in upgraded.output


async def test_the_command_line_uses_the_settings_the_workers_recorded(pg_url: str, on_postgres: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    db = await open_database(pg_url)
    try:
        async with db.transaction() as tx:
            await deployment.record(tx, {"SMS_QUIET_HOURS": "00:00-23:59", "MUSTER_TIMEZONE": "Europe/London"},
                                    datetime.now(UTC))
            tx.write("INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
                     "VALUES ('+447400100001', 'active', 'opted_in', 'sms', '2026-12-01T00:00:00.000000Z')")
    finally:
        await db.close()
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    created = await muster("broadcast", "create", "--body", "Hi", "--audience", "channel:sms")
    assert created.exit_code == 0, created.output
    assert "SMS_QUIET_HOURS='00:00-23:59' as the service runs (this shell has '')" in created.output
    assert "SMS waits until" in " ".join(created.output.split())
    assert not on_postgres.exists()


async def test_an_unreachable_server_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MUSTER_DATABASE_URL", "postgresql://root:secret@127.0.0.1:1/test")
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "muster.db"))
    for args in (("group", "list"), ("db", "upgrade")):
        result = await muster(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "cannot be reached" in result.output and "Traceback" not in result.output, result.output
        assert "secret" not in result.output, "the password is never shown"
    assert not (tmp_path / "muster.db").exists()


async def test_chat_says_it_runs_on_a_sqlite_sandbox_only(on_postgres: Path) -> None:
    result = await muster("chat", "--as", "+447400100001")
    assert result.exit_code == 1 and "unset MUSTER_DATABASE_URL" in " ".join(result.output.split())
    assert not on_postgres.exists()


def test_a_parameter_only_tested_for_null_is_typed_as_text() -> None:
    """`(? IS NULL OR id <> ?)`, an optional filter: PostgreSQL cannot infer the first one's type."""
    from storage.postgres import placeholders

    assert placeholders("SELECT 1 FROM t WHERE (? IS NULL OR id <> ?) AND ? is not null AND x = '? IS NULL'") == (
        "SELECT 1 FROM t WHERE ($1::text IS NULL OR id <> $2) AND $3::text is not null AND x = '? IS NULL'", None)
