"""The storage contract on PostgreSQL: these storage tests, written for SQLite, run again here
against the `db` of tests/postgres/conftest.py (a fresh PostgreSQL schema each)."""
from __future__ import annotations

from tests.storage.test_audience import *  # noqa: F403
from tests.storage.test_events import *  # noqa: F403
from tests.storage.test_outbox_claims import *  # noqa: F403
from tests.storage.test_people import *  # noqa: F403
from tests.storage.test_privacy import *  # noqa: F403
