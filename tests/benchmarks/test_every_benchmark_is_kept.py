"""Every benchmark script has a tiny-size test run and a row in BENCHMARKS.md, so none rots unseen."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("bench_*.py"))


def test_there_are_benchmarks() -> None:
    assert {"bench_inbound.py", "bench_broadcast.py", "bench_baseline_ptb.py"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_is_run_by_a_test_and_documented(script: str) -> None:
    tests = "".join(p.read_text() for p in Path(__file__).parent.glob("test_*.py") if p.name != Path(__file__).name)
    assert f'"{script}"' in tests, f"no test in tests/benchmarks runs benchmarks/{script}"
    assert f"benchmarks/{script}" in (ROOT / "BENCHMARKS.md").read_text(), f"{script} has no row in BENCHMARKS.md"
