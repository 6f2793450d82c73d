"""PostgreSQL fixtures: each test gets a schema of its own on the server MUSTER_TEST_DATABASE_URL names,
migrated from empty and dropped afterwards, so tests (and test runs) beside each other never meet.

Without MUSTER_TEST_DATABASE_URL every test here skips, saying so: `make test` still passes on a
machine with no PostgreSQL. `.ci/run` sets it on the machines that have one.
"""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from flows.core.settings import FlowSettings
from storage import open_database
from storage.db import Database
from storage.postgres import own_schema
from tests.harness import Harness

# Read once at import: the suite's autouse clean_environment fixture removes every MUSTER_ variable
# before each test runs.
URL = os.environ.get("MUSTER_TEST_DATABASE_URL", "")
SKIP = "PostgreSQL tests need MUSTER_TEST_DATABASE_URL (e.g. postgresql://root@127.0.0.1:5432/test)"


@asynccontextmanager
async def fresh_schema() -> AsyncIterator[str]:
    """A fresh, empty schema's URL, dropped at the end (the test skips without a server)."""
    if not URL:
        pytest.skip(SKIP)
    async with own_schema(URL, "muster_test") as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A fresh, empty schema's URL (dropped after the test)."""
    async with fresh_schema() as url:
        yield url


@pytest.fixture
async def db(pg_url: str) -> AsyncIterator[Database]:
    """The storage tests' `db`, on PostgreSQL: a test module that imports them runs them here."""
    database = await open_database(pg_url)
    yield database
    await database.close()


@pytest.fixture
async def harness(db, clock) -> AsyncIterator[Harness]:
    """The conversation harness (real engine, outbox and dispatcher) on PostgreSQL."""
    yield Harness(db, clock, FlowSettings())
