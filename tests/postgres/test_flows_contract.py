"""Conversations on PostgreSQL: these flow tests, written for SQLite, run again here through the
real engine, outbox and dispatcher of the `harness` in tests/postgres/conftest.py."""
from __future__ import annotations

from tests.flows.test_consent import *  # noqa: F403
from tests.flows.test_events_notices import *  # noqa: F403
from tests.flows.test_privacy import *  # noqa: F403
from tests.flows.test_signup import *  # noqa: F403

# It reads the SQLite file's free pages and write-ahead log itself: nothing of the kind on PostgreSQL.
del test_delete_erases_everything_everywhere  # noqa: F821
