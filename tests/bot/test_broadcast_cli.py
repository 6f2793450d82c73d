"""`muster broadcast …` against a file database, and the service's due-work for broadcasts."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.config import load
from bot.service import Service
from flows.core.clock import FakeClock
from storage import broadcasts as store
from storage import open_database
from storage.db import parse_ts, ts
from tests.flows.broadcast_support import group, person
from tests.harness import query_file

runner = CliRunner()


@pytest.fixture
def dbfile(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps at the terminal's width

    async def seed() -> None:
        db = await open_database(str(path))
        async with db.transaction() as tx:
            leeds = await group(tx, "Leeds")
            await person(tx, name="Aisha", group=leeds)
            await person(tx, sms=None, telegram="opted_in", name="Ben")
            await person(tx, sms="opted_out")
        await db.close()

    asyncio.run(seed())
    return path


def run(*args: str, input: str | None = None):
    result = runner.invoke(app, list(args), input=input)
    return result


def test_create_preview_send_report(dbfile):
    result = run("broadcast", "create", "--body", "Hi {first_name} \u2014 rally on Saturday", "--audience", "all")
    assert result.exit_code == 0, result.output
    assert "Draft #1 saved" in result.output
    assert "SMS recipients" in result.output and "Hi Aisha - rally on Saturday" in result.output
    assert "1 em dash" in result.output
    result = run("broadcast", "send", "1", input="n\n")
    assert result.exit_code == 1 and query_file(dbfile, "SELECT COUNT(*) FROM outbox") == [(0,)]
    result = run("broadcast", "send", "1", input="y\n")
    assert result.exit_code == 0, result.output
    assert "2 messages queued" in result.output
    rows = query_file(dbfile, "SELECT channel, status FROM outbox ORDER BY channel")
    assert rows == [("sms", "queued"), ("telegram", "queued")]
    result = run("broadcast", "report", "1")
    assert result.exit_code == 0 and "Recipients" in result.output and "Waiting" in result.output
    result = run("broadcast", "list")
    assert "sending" in result.output


def test_resend_unknown_queues_only_those_still_reachable(dbfile):
    created = runner.invoke(app, ["broadcast", "create", "--body", "Rally on Saturday"])
    bid = created.output.split("#")[1].split()[0]
    assert runner.invoke(app, ["broadcast", "send", bid, "--yes"]).exit_code == 0
    assert runner.invoke(app, ["broadcast", "resend-unknown", bid, "--yes"]).exit_code == 1  # nothing in doubt
    query_file(dbfile, "UPDATE outbox SET status = 'unknown', handed_at = '2026-01-01' WHERE broadcast_id = ?", (bid,))
    query_file(dbfile, "UPDATE supporters SET telegram_consent = 'opted_out' WHERE first_name = 'Ben'")
    assert f"muster broadcast resend-unknown {bid}" in runner.invoke(app, ["broadcast", "report", bid]).output
    asked = runner.invoke(app, ["broadcast", "resend-unknown", bid], input="n\n")
    assert asked.exit_code == 1 and "may already have arrived" in asked.output
    done = runner.invoke(app, ["broadcast", "resend-unknown", bid, "--yes"])
    assert done.exit_code == 0, done.output
    assert "1 of 2 in doubt queued again; the rest have opted out" in done.output
    rows = query_file(dbfile, "SELECT channel, status, handed_at FROM outbox WHERE broadcast_id = ? ORDER BY channel",
                      (bid,))
    assert rows == [("sms", "queued", None), ("telegram", "unknown", "2026-01-01")]


def test_unsafe_placeholder_is_refused(dbfile):
    result = run("broadcast", "create", "--body", "Hi {first_name.__class__}")
    assert result.exit_code == 1 and "not a placeholder" in result.output
    result = run("broadcast", "create", "--body", "Hi", "--audience", "group:Nowhere")
    assert result.exit_code == 1 and "no local group" in result.output


def test_schedule_echoes_local_time_and_cancel(dbfile):
    assert run("broadcast", "create", "--body", "Later").exit_code == 0
    result = run("broadcast", "schedule", "1", "--at", "2099-07-01 18:00", "--repeat", "weekly", "--yes")
    assert result.exit_code == 0, result.output
    assert "Wed 1 Jul 2099 18:00 BST" in result.output and "repeating weekly" in result.output
    assert query_file(dbfile, "SELECT status, send_at, repeat FROM broadcasts") == [
        ("scheduled", "2099-07-01T17:00:00.000000Z", "weekly")]
    result = run("broadcast", "cancel", "1")
    assert result.exit_code == 0 and "cancelled" in result.output
    assert run("broadcast", "cancel", "1").exit_code == 1


def test_alert_follow_up_and_group_report(dbfile):
    result = run("broadcast", "create", "--kind", "alert", "--body", "Registration closes tonight",
                 "--cta", "Register to vote", "--link", "https://www.gov.uk/register-to-vote")
    assert result.exit_code == 0, result.output
    assert run("broadcast", "send", "1", "--yes").exit_code == 0
    result = run("broadcast", "followup", "1")
    assert result.exit_code == 0 and "Follow-up draft #2" in result.output
    result = run("broadcast", "report", "1")
    assert "Completion by group" in result.output and "Leeds" in result.output


def test_large_send_needs_the_count(dbfile):
    async def many() -> None:
        db = await open_database(str(dbfile))
        async with db.transaction() as tx:
            await tx.execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
                "INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
                "SELECT '+4474006' || printf('%05d', i), 'active', 'opted_in', 'sms', 'x' FROM n")
        await db.close()

    asyncio.run(many())
    assert run("broadcast", "create", "--body", "Big").exit_code == 0
    result = run("broadcast", "send", "1", "--yes", "--confirm-count", "1000")
    assert result.exit_code == 1 and "type 1002" in result.output
    result = run("broadcast", "send", "1", input="1002\n")
    assert result.exit_code == 0, result.output
    assert "1,002 messages queued" in result.output


async def test_service_runs_due_broadcasts_and_rearms_on_start(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "svc.db"))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    clock = FakeClock()
    service = Service(load(), clock)
    service.db = await open_database(str(tmp_path / "svc.db"))
    woken = []
    service.scheduler.wake_at = lambda when, name: woken.append(when)
    try:
        async with service.db.transaction() as tx:
            await person(tx)
            soon = await store.create(tx, clock.now(), body="Soon", created_by="test", status="scheduled",
                                      send_at=ts(clock.now() + timedelta(hours=2)))
        service._register_jobs()
        await service.scheduler.run_due()
        assert woken == [clock.now() + timedelta(hours=2)]
        clock.advance(hours=2)
        await service.scheduler.run_due()
        async with service.db.transaction() as tx:
            assert (await store.get(tx, soon.id)).status == "sending"
            assert await tx.scalar("SELECT COUNT(*) FROM outbox WHERE broadcast_id = ?", (soon.id,)) == 1
        assert parse_ts(ts(woken[0])) == woken[0]
    finally:
        await service.db.close()


def test_bad_quiet_hours_setting_names_the_key(monkeypatch):
    from bot.config import ConfigError

    monkeypatch.setenv("SMS_QUIET_HOURS", "25:00-09:00")
    with pytest.raises(ConfigError, match="SMS_QUIET_HOURS"):
        load()


def test_schedule_asks_like_send_and_a_script_answers_with_yes(dbfile):
    assert run("broadcast", "create", "--body", "Rally on Saturday").exit_code == 0
    asked = run("broadcast", "schedule", "1", "--at", "2099-07-01 18:00", input="n\n")
    assert asked.exit_code == 1 and "Schedule #1 to 2 people for" in asked.output
    assert "not confirmed; nothing was scheduled" in asked.output
    unattended = run("broadcast", "schedule", "1", "--at", "2099-07-01 18:00")  # no one to answer
    assert unattended.exit_code == 1
    assert unattended.output.strip().splitlines()[-1] == (
        "Error: not confirmed; nothing was scheduled (no answer: give --yes to confirm without being asked)")
    assert "Aborted" not in unattended.output
    assert query_file(dbfile, "SELECT status FROM broadcasts") == [("draft",)]
    done = run("broadcast", "schedule", "1", "--at", "2099-07-01 18:00", "--yes")
    assert done.exit_code == 0 and "is scheduled for" in done.output
    for command in ("send", "schedule"):
        shown = run("broadcast", command, "--help").output
        assert "Do not ask before sending" in shown and "recipient count the preview shows" in shown


def test_urgent_is_for_action_alerts(dbfile):
    assert run("broadcast", "create", "--body", "Rally on Saturday").exit_code == 0
    result = run("broadcast", "send", "1", "--yes", "--urgent")
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: --urgent is for action alerts; #1 is a broadcast (its SMS waits for quiet hours to end)"]
    assert query_file(dbfile, "SELECT COUNT(*) FROM outbox") == [(0,)]
    assert run("broadcast", "create", "--kind", "alert", "--body", "Email your MP", "--cta", "Email").exit_code == 0
    half = run("broadcast", "send", "2", "--urgent", input="y\n")  # the second question goes unanswered
    assert half.exit_code == 1 and half.output.strip().splitlines()[-1] == (
        "Error: not confirmed; nothing was sent (no answer: give --yes to confirm without being asked)")
    sent = run("broadcast", "send", "2", "--yes", "--urgent")
    assert sent.exit_code == 0, sent.output


def test_preview_counts_each_recipients_own_text_as_the_chat_console_does(dbfile):
    """Siân's text is UCS-2 and Aisha's GSM-7: the CLI's SMS line is the one the chat console (and
    the web console) show, computed over both recipients' texts."""
    from flows.core.settings import FlowSettings
    from flows.organiser import sending

    async def add_sian() -> None:
        db = await open_database(str(dbfile))
        async with db.transaction() as tx:
            await person(tx, name="Siân")
        await db.close()

    asyncio.run(add_sian())
    result = run("broadcast", "create", "--body", "Hi {first_name}, " + "x" * 120, "--audience", "all")
    assert result.exit_code == 0, result.output

    async def figures() -> tuple[str, str]:
        db = await open_database(str(dbfile))
        async with db.transaction() as tx:
            p = await sending.preview(tx, await store.fetch(tx, 1), FakeClock().now(), FlowSettings(sms_quiet_hours=""))
        await db.close()
        return sending.sms_figures(p), sending.describe(p, FlowSettings(sms_quiet_hours=""))

    line, chat = asyncio.run(figures())
    assert "1 GSM-7 and 1 UCS-2" in line and "4 segments in all (up to 3 segments each)" in line
    assert line in " ".join(result.output.split())
    assert line in chat


@pytest.mark.parametrize("quiet, reason", [("00:00-23:59", "1 SMS waits for quiet hours to end at"),
                                           ("", "no service is running to send them")])
def test_follow_says_why_it_is_waiting(dbfile, quiet, reason):
    """`send --follow` with nothing moving says why within seconds, even with no terminal to draw on."""
    import os
    import subprocess
    import sys
    import time

    env = {**os.environ, "SMS_QUIET_HOURS": quiet}
    assert run("broadcast", "create", "--body", "Hi", "--audience", "channel:sms").exit_code == 0
    proc = subprocess.Popen([sys.executable, "-m", "bot", "broadcast", "send", "1", "--yes", "--follow"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        started = time.monotonic()
        lines = [proc.stdout.readline() for _ in range(2)]
        assert "Broadcast #1 started: 1 message queued." in lines[0]
        assert reason in lines[1] and "#1: 0 of 1 done" in lines[1]
        assert time.monotonic() - started < 15
    finally:
        proc.kill()
        proc.wait()
