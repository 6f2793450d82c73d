"""Broadcasts per language on PostgreSQL: the SQLite tests run again against a fresh schema."""
from __future__ import annotations

from tests.flows.test_broadcast_languages import *  # noqa: F403
