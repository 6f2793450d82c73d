"""The several-workers benchmark still runs (tiny sizes: SQLite with 1 worker, PostgreSQL with 2), so it never rots."""
from __future__ import annotations

import json

import pytest

from tests.benchmarks.loader import load
from tests.postgres.conftest import SKIP, URL


def test_bench_workers_runs_and_prints_json(capsys: pytest.CaptureFixture[str]) -> None:
    if not URL:
        pytest.skip(SKIP)
    load("bench_workers.py").main(["--tiny", "--database-url", URL])
    result = json.loads(capsys.readouterr().out)
    setups = [(s["database"], s["workers"]) for s in result["setups"]]
    assert setups == [("sqlite", 1), ("postgresql", 2)]
    for s in result["setups"]:
        assert s["inbound"]["messages"] == 120 and s["inbound"]["messages_per_s"] > 0
        assert 0 < s["inbound"]["p50_ms"] <= s["inbound"]["p99_ms"]
        assert s["broadcast"]["recipients"] == 300 and s["broadcast"]["dispatch_per_s"] > 0
        assert s["broadcast"]["settled_seconds"] > 0
    assert "scaling_vs_postgresql_1" not in result  # no PostgreSQL setup with 1 worker at this size
