from __future__ import annotations

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
