"""The inbound benchmark still runs (with a tiny N), so it never rots."""
from __future__ import annotations

import json

import pytest

from tests.benchmarks.loader import load
from tests.postgres.conftest import SKIP, URL


def test_bench_inbound_runs_and_prints_json(capsys) -> None:
    load("bench_inbound.py").main(["--n", "30", "--concurrency", "7"])
    result = json.loads(capsys.readouterr().out)
    assert result["messages"] == 30 * 6
    assert result["messages_per_s"] > 0 and result["sqlite_floor_messages_per_s"] > 0
    assert result["ratio_to_floor"] == round(result["messages_per_s"] / result["sqlite_floor_messages_per_s"], 3)
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["row_writes_per_message"] >= 3
    assert result["event_loop"].startswith("uvloop ")  # the service's loop


def test_bench_inbound_runs_on_the_standard_loop_when_asked(capsys) -> None:
    load("bench_inbound.py").main(["--n", "10", "--concurrency", "3", "--standard-loop"])
    result = json.loads(capsys.readouterr().out)
    assert result["messages"] == 10 * 6 and result["event_loop"] == "asyncio"


def test_bench_inbound_runs_on_postgresql_and_prints_json(capsys) -> None:
    if not URL:
        pytest.skip(SKIP)
    load("bench_inbound.py").main(["--n", "30", "--concurrency", "7", "--database-url", URL])
    result = json.loads(capsys.readouterr().out)
    assert result["messages"] == 30 * 6
    assert result["messages_per_s"] > 0 and result["postgres_floor_messages_per_s"] > 0
    assert result["ratio_to_floor"] == round(result["messages_per_s"] / result["postgres_floor_messages_per_s"], 3)
    assert result["row_writes_per_message"] >= 3
