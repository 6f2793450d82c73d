"""The import and export benchmarks still run (tiny sizes) and count what they say they count."""
from __future__ import annotations

import json

from tests.benchmarks.loader import load


def test_import_bench_runs(capsys) -> None:
    result = load("bench_import.py").main(["--rows", "300", "--existing", "20", "--runs", "1"])
    assert json.loads(capsys.readouterr().out)["rows"] == 300
    run = result["runs"][0]
    # One row in a hundred is refused (a rounded number, a bad email, an unknown group, a duplicate): 3 x 4 here.
    assert run["rows"] == 300 and run["counts"]["refused"] == 12
    assert run["counts"]["new"] + run["counts"]["updated"] == 288 and run["counts"]["updated"] == 10
    assert run["seconds"] > 0 and run["peak_rss_mb"] > 0


def test_export_bench_runs(capsys) -> None:
    result = load("bench_export.py").main(["--supporters", "500", "--runs", "1"])
    assert json.loads(capsys.readouterr().out)["supporters"] == 500
    run = result["runs"][0]
    assert run["supporters"]["rows"] == 500
    assert run["consent"]["rows"] == 500 + 500 // 7
    assert result["median_supporters_seconds"] >= 0
