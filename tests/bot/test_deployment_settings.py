"""One place for the settings a choice depends on: what the running service records, the CLI uses."""
from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.config import load
from storage import deployment, open_database
from tests.reliability.live import free_port, healthy


def _cli(workdir: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=60)


def test_the_cli_decides_with_the_quiet_hours_the_running_service_was_given(tmp_path):
    """Quiet hours given only to `muster run` reach `muster broadcast preview` in another shell."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MUSTER_", "TELEGRAM_", "TWILIO_", "SMS_"))}
    port = free_port()
    shell = clean | {"MUSTER_DB_PATH": str(tmp_path / "muster.db"), "MUSTER_PORT": str(port)}
    service_env = shell | {"SMS_QUIET_HOURS": "00:00-23:59", "MUSTER_TIMEZONE": "Europe/London"}
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=service_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert healthy(f"http://127.0.0.1:{port}", proc, 30)
        with sqlite3.connect(tmp_path / "muster.db") as conn:
            conn.execute("INSERT INTO supporters (phone, status, sms_consent, last_channel, created_at) "
                         "VALUES ('+447400100001', 'active', 'opted_in', 'sms', '2026-12-01T00:00:00.000000Z')")
        created = _cli(tmp_path, shell | {"SMS_QUIET_HOURS": ""}, "broadcast", "create", "--body", "Hi",
                       "--audience", "channel:sms")
        assert created.returncode == 0, created.stderr
        assert "SMS_QUIET_HOURS='00:00-23:59' as the service runs (this shell has '')" in created.stderr
        assert "SMS waits until" in " ".join(created.stdout.split())
        again = _cli(tmp_path, shell | {"SMS_QUIET_HOURS": "00:00-23:59"}, "broadcast", "preview", "1")  # agrees
        assert again.returncode == 0 and "as the service runs" not in again.stderr
        assert "SMS waits until" in " ".join(again.stdout.split())
    finally:
        proc.terminate()
        proc.wait(20)


def test_recorded_settings_replace_only_what_differs_and_keep_the_types(tmp_path):
    path = tmp_path / "m.db"

    async def seed() -> None:
        db = await open_database(str(path))
        async with db.transaction() as tx:
            own = load(db_path=path).deployment()
            changed = own | {"SMS_PRICE_PER_SEGMENT": "0.07", "MUSTER_PUBLIC_URL": ""}
            await deployment.record(tx, changed, datetime.now(UTC))
        await db.close()

    asyncio.run(seed())
    mine = load(db_path=path, sms_price_per_segment="0.04")
    deployed, notes = mine.as_deployed(deployment.recorded(path))
    assert str(deployed.sms_price_per_segment) == "0.07" and deployed.public_url is None
    assert notes == ["SMS_PRICE_PER_SEGMENT='0.07' as the service runs (this shell has '0.04')"]
    assert deployment.recorded(tmp_path / "missing.db") == {}
