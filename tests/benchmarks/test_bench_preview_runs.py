"""The preview benchmark still runs, and its figures add up (tiny size)."""
from __future__ import annotations

from tests.benchmarks.loader import load


def test_tiny_run_counts_every_recipient():
    result = load("bench_preview.py").run(400, 2)
    counts, encodings = result["counts"], result["encodings"]
    assert result["recipients"] == 400 == sum(counts.values())
    assert sum(encodings.values()) == counts["sms"] and encodings.get("UCS-2", 0) > 0  # Siân and friends
    assert result["segments"] >= counts["sms"] and result["median_ms"] > 0
