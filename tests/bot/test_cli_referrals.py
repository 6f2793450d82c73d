"""`muster referrals`: top recruiters, masked, optionally for one local group."""
from __future__ import annotations

import asyncio

from typer.testing import CliRunner

from bot.cli import app
from flows.core.clock import FakeClock
from storage import groups, open_database, supporters

runner = CliRunner()


async def _seed(path: str) -> None:
    clock = FakeClock()
    db = await open_database(path)
    try:
        async with db.transaction() as tx:
            leeds = await groups.add(tx, "Leeds North", ["LS6"], clock.now())
            phones = [f"+4474000000{n:02d}" for n in range(8)]
            people = await supporters.find_or_create_many(tx, "sms", phones, clock.now())
            ada, bo, cy = (people[p] for p in phones[:3])
            supporters.update(tx, ada, first_name="Ada", group_id=leeds.id)
            supporters.update(tx, bo, first_name="Bo")
            for p in phones[3:7]:
                supporters.update(tx, people[p], referred_by=bo.id)
            for p in phones[7:]:
                supporters.update(tx, people[p], referred_by=ada.id)
            supporters.update(tx, cy, referred_by=ada.id)
    finally:
        await db.close()


def test_top_recruiters(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "cli.db")
    monkeypatch.setenv("MUSTER_DB_PATH", path)
    monkeypatch.setenv("COLUMNS", "200")
    asyncio.run(_seed(path))

    result = runner.invoke(app, ["referrals"])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if "Ada" in line or "Bo" in line]
    assert "Bo" in lines[0] and lines[0].rstrip(" │").endswith("4")  # most recruits first
    assert "Ada" in lines[1] and "Leeds North" in lines[1]
    assert "+44…001" in result.output and "+447400000001" not in result.output

    grouped = runner.invoke(app, ["referrals", "--group", "Leeds North"])
    assert grouped.exit_code == 0 and "Ada" in grouped.output and "Bo" not in grouped.output

    missing = runner.invoke(app, ["referrals", "--group", "Nowhere"])
    assert missing.exit_code == 1 and "no local group called 'Nowhere'" in missing.output


def test_no_referrals_yet(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "empty.db"))
    result = runner.invoke(app, ["referrals"])
    assert result.exit_code == 0 and "No referrals yet" in result.output
