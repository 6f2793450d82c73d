"""The broadcast benchmark still runs (tiny size, unpaced part only: tests never sleep on the wall clock)."""
from __future__ import annotations

from tests.benchmarks.loader import load


async def test_tiny_run_materialises_and_dispatches_everyone():
    bench = load("bench_broadcast.py")
    result = await bench.main(bench.parse(["--n", "300", "--batch", "64", "--seconds", "0"]))
    assert result["recipients"] == 300 and result["dispatched"] == 300
    assert result["materialise_seconds"] >= 0 and result["dispatch_per_second"] > 0
    assert result["peak_rss_mb"] > 0 and "paced" not in result


def test_window_count():
    bench = load("bench_broadcast.py")
    assert bench.windows([0.0, 0.5, 0.99, 1.0, 1.5]) == (3, 2.67, 1.5)
    assert bench.windows([]) == (0, None, 0.0)
