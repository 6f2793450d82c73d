from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
from contextlib import closing

from storage import migrations
from storage.db import Database


async def test_migrations_apply_from_empty_then_are_a_no_op(tmp_path):
    db = await Database(str(tmp_path / "m.db")).connect()
    try:
        applied = await migrations.upgrade(db)
        assert applied == [name for _, name, _ in migrations.available()]
        assert applied[0] == "0001_foundation.sql"
        assert await migrations.upgrade(db) == []
        rows = await db.conn.execute_fetchall("SELECT number FROM schema_migrations ORDER BY number")
        assert [r[0] for r in rows] == [n for n, _, _ in migrations.available()]
        tables = {r[0] for r in await db.conn.execute_fetchall("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"supporters", "consent_log", "local_groups", "group_areas", "organisers",
                "conversations", "inbound_seen", "outbox"} <= tables
    finally:
        await db.close()


async def test_connection_settings(db):
    conn = db.conn
    assert (await conn.execute_fetchall("PRAGMA journal_mode"))[0][0] == "wal"
    assert (await conn.execute_fetchall("PRAGMA foreign_keys"))[0][0] == 1
    assert (await conn.execute_fetchall("PRAGMA busy_timeout"))[0][0] == 5000
    assert (await conn.execute_fetchall("PRAGMA secure_delete"))[0][0] == 1


# Each upgrader imports everything first, then waits at a gate (its stdin) so that all of them
# reach the migrations within a millisecond or two of each other, as `muster db upgrade` run from
# several shells (or a deploy script racing `muster run`) can.
_GATED_UPGRADE = """
import runpy, sys
import bot.cli, bot.cli.admin, storage.migrations  # the slow part, before the gate
print("ready", flush=True)
sys.stdin.read(1)
sys.argv = ["muster", "db", "upgrade"]
runpy.run_module("bot", run_name="__main__", alter_sys=True)
"""


def test_concurrent_upgrades_of_a_new_file_serialise(tmp_path):
    path = tmp_path / "race.db"
    env = {**os.environ, "MUSTER_DB_PATH": str(path), "COLUMNS": "200"}
    upgraders = [
        subprocess.Popen([sys.executable, "-c", _GATED_UPGRADE], env=env, cwd=tmp_path, text=True,
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(6)
    ]
    try:
        for p in upgraders:
            assert p.stdout.readline().strip() == "ready", p.stderr.read()
        for p in upgraders:
            p.stdin.write("go")
            p.stdin.close()
        results = [(p.wait(timeout=60), p.stdout.read(), p.stderr.read()) for p in upgraders]
    finally:
        for p in upgraders:
            if p.poll() is None:
                p.kill()
    for code, out, errors in results:
        assert code == 0, f"an upgrader failed:\n{out}\n{errors}"
    # Each migration was applied by exactly one of them (as a rule the first to get the lock
    # applies all of them); the others found it done.
    said = [out.split("Applied:", 1)[1] for _, out, _ in results if "Applied:" in out]
    names = sorted(name.strip() for text in said for name in text.replace("\n", " ").split(","))
    assert names == [name for _, name, _ in migrations.available()], [out for _, out, _ in results]
    assert sum("up to date" in out for _, out, _ in results) >= 1
    with closing(sqlite3.connect(path)) as conn:
        numbers = [r[0] for r in conn.execute("SELECT number FROM schema_migrations ORDER BY number")]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert numbers == [n for n, _, _ in migrations.available()]
    assert {"supporters", "consent_log", "outbox", "events", "broadcasts"} <= tables


async def test_two_connections_upgrading_at_once_apply_each_migration_once(tmp_path):
    """The applied set is read inside each step's write transaction, never from before it."""
    first = await Database(str(tmp_path / "two.db")).connect()
    second = await Database(str(tmp_path / "two.db")).connect()
    try:
        a, b = await asyncio.gather(migrations.upgrade(first), migrations.upgrade(second))
    finally:
        await first.close()
        await second.close()
    assert sorted(a + b) == [name for _, name, _ in migrations.available()]  # each applied once


def test_a_migration_file_is_split_where_sqlite_says_a_statement_ends():
    sql = (
        "-- a comment; with a semicolon\n"
        "CREATE TABLE a (x TEXT DEFAULT ';');\n"
        "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = 'y;'; END;\n"
        "INSERT INTO a VALUES ('z')"
    )
    parts = migrations.statements(sql)
    assert len(parts) == 3
    assert parts[1].strip().startswith("CREATE TRIGGER") and parts[1].rstrip().endswith("END;")
    assert parts[2].strip().rstrip(";") == "INSERT INTO a VALUES ('z')"
    with closing(sqlite3.connect(":memory:")) as conn:
        for part in parts:
            conn.execute(part)  # one statement each, or sqlite3 would refuse it
        assert conn.execute("SELECT x FROM a").fetchall() == [("y;",)]
