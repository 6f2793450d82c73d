"""The inbound benchmark still runs (with a tiny N), so it never rots."""
from __future__ import annotations

import json

from tests.benchmarks.loader import load


def test_bench_inbound_runs_and_prints_json(capsys) -> None:
    load("bench_inbound.py").main(["--n", "30", "--concurrency", "7"])
    result = json.loads(capsys.readouterr().out)
    assert result["messages"] == 30 * 6
    assert result["messages_per_s"] > 0 and result["sqlite_floor_messages_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["row_writes_per_message"] >= 3
