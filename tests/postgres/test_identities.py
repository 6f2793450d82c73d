"""Merging two supporters' records on PostgreSQL: the identity flow tests, written for SQLite, run again
through the `harness` of tests/postgres/conftest.py; then rows that clash with the kept record's own."""
from __future__ import annotations

from tests.flows.test_identity import *  # noqa: F403
