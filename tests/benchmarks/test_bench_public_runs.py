"""The public pages' benchmark still runs (tiny size): it builds its database and times every page and form."""
from __future__ import annotations

from tests.benchmarks.loader import load


async def test_tiny_run_times_every_page_and_form() -> None:
    bench = load("bench_public.py")
    result = await bench.main(["--supporters", "500", "--events", "60", "--groups", "8", "--requests", "3"])
    assert result["supporters"] == 500 and result["events"] == 60 and result["build_seconds"] >= 0
    pages = result["pages"]
    for page in ("event page", "national listing", "group listing by slug", "group listing by id", "join page",
                 "stylesheet", "RSVP form posted", "sign-up form posted"):
        assert pages[page]["requests"] == 3 and 0 < pages[page]["p50_ms"] <= pages[page]["p95_ms"], page
    assert result["worst_p95_ms"] == max(p["p95_ms"] for p in pages.values())
