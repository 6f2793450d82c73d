"""The broadcast benchmark still runs (tiny size, unpaced part only: tests never sleep on the wall clock)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_broadcast.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_broadcast", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_tiny_run_materialises_and_dispatches_everyone():
    bench = _load()
    result = await bench.main(bench.parse(["--n", "300", "--batch", "64", "--seconds", "0"]))
    assert result["recipients"] == 300 and result["dispatched"] == 300
    assert result["materialise_seconds"] >= 0 and result["dispatch_per_second"] > 0
    assert result["peak_rss_mb"] > 0 and "paced" not in result


def test_window_count():
    bench = _load()
    assert bench.windows([0.0, 0.5, 0.99, 1.0, 1.5]) == (3, 2.67, 1.5)
    assert bench.windows([]) == (0, None, 0.0)
