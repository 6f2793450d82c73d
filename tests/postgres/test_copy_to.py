"""`muster db copy-to`: a SQLite deployment moved into an empty PostgreSQL database keeps every row (the
consent log among them) with its id, and the service carries on there."""
from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from bot.cli import app
from flows.core.settings import FlowSettings
from storage import open_database
from tests.harness import Harness

runner = CliRunner()


async def _rows(db, table: str) -> list[tuple]:
    async with db.transaction() as tx:
        columns = [r[1] for r in await tx.query(f'PRAGMA table_info("{table}")')]
        order = ", ".join(f'"{c}"' for c in sorted(columns))
        rows = [tuple(r) for r in await tx.query(f'SELECT {order} FROM "{table}"')]
    return sorted(rows, key=lambda r: [(v is not None, str(v)) for v in r])  # NULLs sort alike on both


async def _sqlite_deployment(tmp_path, clock) -> tuple[str, list[str]]:
    h = await Harness.create(tmp_path, clock=clock)
    try:
        async with h.db.transaction() as tx:
            tx.write("INSERT INTO local_groups (name, created_at) VALUES ('Leeds North', 'x')")
            tx.write("INSERT INTO group_areas (area, group_id) VALUES ('LS6', 1)")
        for phone in ("+447400123456", "+447400123457"):
            await h.say("sms", phone, "JOIN")
            await h.say("sms", phone, "Sam")
        await h.say("telegram", "5550001", "/start")
        await h.say("sms", "+447400123457", "STOP")
        tables = [r[0] for r in await h.db.conn.execute_fetchall(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name <> 'schema_migrations'")]
    finally:
        await h.close()
    return str(tmp_path / "muster.db"), tables


async def test_a_sqlite_deployment_copied_to_postgresql_keeps_every_row_and_carries_on(
        tmp_path, clock, pg_url, monkeypatch):
    path, tables = await _sqlite_deployment(tmp_path, clock)
    monkeypatch.setenv("MUSTER_DB_PATH", path)
    result = await asyncio.to_thread(runner.invoke, app, ["db", "copy-to", pg_url])
    assert result.exit_code == 0, result.output
    assert "the counts match" in result.output

    source = await open_database(path)
    target = await open_database(pg_url)
    try:
        for table in tables:
            assert await _rows(source, table) == await _rows(target, table), table
        consent = await _rows(target, "consent_log")
        assert [r[0] for r in consent] == ["opt_out"]  # the STOP, with who, when and how (compared above)
        assert await _rows(target, "outbox")  # the replies sent, with their outcomes
        # The service carries on on PostgreSQL: new rows take ids after the copied ones.
        h = Harness(target, clock, FlowSettings())
        await h.say("sms", "+447400123458", "JOIN")
        async with target.transaction() as tx:
            ids = [r[0] for r in await tx.query("SELECT id FROM supporters ORDER BY id")]
        assert len(ids) == 4 and ids[-1] > max(ids[:-1])
    finally:
        await source.close()
        await target.close()

    again = await asyncio.to_thread(runner.invoke, app, ["db", "copy-to", pg_url])
    assert again.exit_code == 1 and "not empty" in again.output


def test_copy_to_refuses_what_is_not_a_postgresql_url(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "muster.db"))
    result = runner.invoke(app, ["db", "copy-to", "mysql://x"])
    assert result.exit_code == 1 and "expected a postgresql:// URL" in result.output
    result = runner.invoke(app, ["db", "copy-to", "postgresql://root@127.0.0.1/test"])
    assert result.exit_code == 1 and "no SQLite database" in result.output
