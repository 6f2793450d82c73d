"""The benchmarks still run (with a tiny N), so they never rot."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_inbound.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_inbound", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bench_inbound_runs_and_prints_json(capsys) -> None:
    _load().main(["--n", "30", "--concurrency", "7"])
    result = json.loads(capsys.readouterr().out)
    assert result["messages"] == 30 * 6
    assert result["messages_per_s"] > 0 and result["sqlite_floor_messages_per_s"] > 0
    assert 0 < result["p50_ms"] <= result["p99_ms"]
    assert result["row_writes_per_message"] >= 3
