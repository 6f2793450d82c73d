"""The console benchmark still runs (tiny size): it builds its database, signs in, and times every page."""
from __future__ import annotations

from tests.benchmarks.loader import load


async def test_tiny_run_times_every_page() -> None:
    bench = load("bench_console.py")
    result = await bench.main(["--supporters", "600", "--outbox", "2000", "--groups", "10", "--requests", "3"])
    assert result["supporters"] == 600 and result["groups"] == 10 and result["build_seconds"] >= 0
    pages = result["pages"]
    for page in ("overview (admin)", "overview (local organiser)", "supporters (admin)", "search name (admin)",
                 "search phone digits (admin)", "supporter page (admin)", "supporter page (local organiser)",
                 "supporters (admin), next page"):
        assert pages[page]["requests"] == 3 and 0 < pages[page]["p50_ms"] <= pages[page]["p95_ms"], page
    assert result["worst_page_p95_ms"] == max(p["p95_ms"] for p in pages.values())
