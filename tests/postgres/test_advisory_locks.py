"""Advisory locks belong to a deployment, not to the whole database: two deployments in two schemas of
one database each hold their own due-work lease, Telegram polling lock, migrations lock and import
lock, while two workers of one deployment (one schema) still take turns."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from storage import imports, open_database
from storage.postgres import PostgresDatabase, lock_key, upgrade
from tests.postgres.conftest import fresh_schema


@pytest.fixture
async def other_url() -> AsyncIterator[str]:
    """A second schema of the same database: another deployment."""
    async with fresh_schema() as url:
        yield url


async def _holds(url: str, name: str) -> tuple[asyncpg.Connection, bool]:
    conn = await asyncpg.connect(url)
    return conn, bool(await conn.fetchval(f"SELECT pg_try_advisory_lock({lock_key(name)})"))


async def test_a_lock_is_held_once_per_schema_not_once_per_database(pg_url: str, other_url: str) -> None:
    held: list[asyncpg.Connection] = []
    try:
        for name in ("due", "telegram-poll", "migrations", "import_seen"):
            first, took = await _holds(pg_url, name)
            held.append(first)
            assert took
            other, took = await _holds(other_url, name)
            held.append(other)
            assert took, f"{name}: another schema's deployment holds its own lock"
            again, took = await _holds(pg_url, name)
            held.append(again)
            assert not took, f"{name}: a second worker of the same deployment must wait"
    finally:
        for conn in held:
            await conn.close()


async def test_the_due_work_and_polling_leases_of_two_deployments_do_not_block_each_other(
        pg_url: str, other_url: str) -> None:
    first, second = await open_database(pg_url), await open_database(other_url)
    rival = await open_database(pg_url)
    assert isinstance(rival, PostgresDatabase)
    try:
        for name in ("due", "telegram-poll"):
            assert await first.leader(name)
            assert await second.leader(name), f"{name}: the other schema's worker leads its own deployment"
            assert not await rival.leader(name), f"{name}: one leader per deployment"
        await first.step_down("due")
        assert await rival.leader("due")
    finally:
        for database in (first, second, rival):
            await database.close()


async def test_migrations_and_imports_wait_only_for_their_own_deployment(pg_url: str, other_url: str) -> None:
    first, second = await open_database(pg_url), await open_database(other_url)
    assert isinstance(first, PostgresDatabase) and isinstance(second, PostgresDatabase)
    blocker = await asyncpg.connect(pg_url)
    try:
        await blocker.execute(f"SELECT pg_advisory_lock({lock_key('migrations')})")
        await blocker.execute(f"SELECT pg_advisory_lock({lock_key('import_seen')})")
        assert await asyncio.wait_for(upgrade(second), 10) == []  # the other deployment is not held up

        async def start_import(database: PostgresDatabase) -> None:
            async with database.transaction() as tx:
                await imports.begin_run(tx, 1)

        await asyncio.wait_for(start_import(second), 10)
        for held_up in (upgrade(first), start_import(first)):
            with pytest.raises(TimeoutError):  # the same deployment's lock is taken: it waits its turn
                await asyncio.wait_for(held_up, 1)
        await blocker.execute("SELECT pg_advisory_unlock_all()")
        assert await asyncio.wait_for(upgrade(first), 10) == []
        await asyncio.wait_for(start_import(first), 10)
    finally:
        await blocker.close()
        for database in (first, second):
            await database.close()


def test_a_lock_name_is_a_plain_word() -> None:
    assert "':muster:due'" in lock_key("due")
    for name in ("", "due'; DROP TABLE supporters; --", "Due"):
        with pytest.raises(ValueError):
            lock_key(name)
