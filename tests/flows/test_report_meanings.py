"""One table of what each error code means and what to do, used by every front: the web report, the
chat's /broadcast report (reports.describe) and `muster broadcast report`."""
from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from flows.core.settings import FlowSettings
from flows.organiser import reports
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from storage import broadcasts as store
from storage import open_database
from storage.broadcasts import Audience
from tests.flows.broadcast_support import NOW, person

SETTINGS = FlowSettings(sms_quiet_hours="")
CLI = Actor(trusted=True)
TWILIO = ("21610", "21211", "21408", "21614", "30003", "30004", "30005", "30006", "30007", "30008")


def test_every_code_the_organiser_may_meet_has_a_meaning_and_an_action() -> None:
    # Telegram's codes are the ones bot/channels/telegram.py gives its send errors.
    source = (Path(__file__).resolve().parents[2] / "bot" / "channels" / "telegram.py").read_text()
    telegram = set(re.findall(r'code="([a-z_0-9]+)"', source))
    assert {"forbidden", "bad_request", "chat_migrated", "429", "timeout", "network"} <= telegram
    for code in (*TWILIO, *telegram):
        means = reports.ERRORS[code]
        assert means.short and means.meaning.endswith(".") and means.action.endswith("."), code
    assert "STOP" in reports.meaning("21610").short and "START" in reports.meaning("21610").action
    assert reports.meaning("30007").short == "filtered by the carrier"
    assert reports.meaning("63016").short == "error 63016", "an unknown code is named as it is"


@pytest.fixture
def dbfile(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "meanings.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("COLUMNS", "300")

    async def seed() -> None:
        db = await open_database(str(path))
        async with db.transaction() as tx:
            for _ in range(4):
                await person(tx)
            await person(tx, sms=None, telegram="opted_in")
            draft = await compose(tx, CLI, NOW, body="Rally on Saturday", audience=Audience())
            b = await broadcast_send.confirm(tx, draft, CLI, NOW, SETTINGS)
            ids = [r[0] for r in await tx.query(
                "SELECT id FROM outbox WHERE broadcast_id = ? AND channel = 'sms' ORDER BY id", (b.id,))]
            await tx.execute("UPDATE outbox SET status = 'failed', error_code = '30007' WHERE id IN (?, ?)",
                             (ids[0], ids[1]))
            await tx.execute("UPDATE outbox SET status = 'failed', error_code = '21610' WHERE id = ?", (ids[2],))
            await tx.execute("UPDATE outbox SET status = 'sent' WHERE broadcast_id = ? AND status = 'queued'",
                             (b.id,))
        await db.close()

    asyncio.run(seed())
    return path


def test_the_chat_report_says_what_each_failure_means_and_what_to_do(dbfile: Path) -> None:
    async def described() -> str:
        db = await open_database(str(dbfile))
        async with db.transaction() as tx:
            report = await reports.build(tx, await store.fetch(tx, 1), NOW)
        await db.close()
        return reports.describe(report, SETTINGS)

    text = asyncio.run(described())
    assert "Failed: 3 (30007: 2, 21610: 1)" in text
    assert "  30007, filtered by the carrier: Reword it" in text
    assert "  21610, opted out (STOP): Nothing: they are opted out of SMS here too." in text
    assert "No delivery receipts on Telegram" in text


def test_the_command_line_report_says_the_same(dbfile: Path) -> None:
    result = CliRunner().invoke(app, ["broadcast", "report", "1"])
    assert result.exit_code == 0, result.output
    assert "30007 (filtered by the carrier): The carrier filtered it as spam or unwanted content. Reword it" in (
        " ".join(result.output.split()))
    assert "21610 (opted out (STOP)): They replied STOP to our number" in " ".join(result.output.split())
    assert "No delivery receipts on Telegram" in result.output
