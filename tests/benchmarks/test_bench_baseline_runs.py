"""The side-by-side baseline still runs (tiny N), both sides finish every conversation, and its checks bite."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.benchmarks.loader import load
from tests.postgres.conftest import SKIP, URL


def test_baseline_bench_runs_both_sides_to_the_end(capsys) -> None:
    load("bench_baseline_ptb.py").main(["--n", "20", "--concurrency", "6"])
    result = json.loads(capsys.readouterr().out)
    messages = 20 * result["updates_per_conversation"]
    assert result["updates_per_conversation"] == 8
    for side in ("baseline_ptb", "muster"):
        figures = result[side]
        assert figures["messages"] == messages, side
        assert figures["conversations_completed"] == 20, side
        assert figures["replies_sent"] == messages, side
        assert figures["messages_per_s"] > 0 and figures["seconds"] > 0, side
        assert 0 < figures["p50_ms"] <= figures["p99_ms"], side
    assert result["baseline_ptb"]["conversations_still_open"] == 0
    assert result["baseline_ptb"]["pickle_bytes"] > 0
    assert result["muster"]["supporters_active"] == result["muster"]["consent_log_opt_ins"] == 20
    assert result["muster"]["commit_p50_ms"] <= result["muster"]["p50_ms"]
    ratio = result["muster"]["messages_per_s"] / result["baseline_ptb"]["messages_per_s"]
    assert abs(result["ratio_muster_to_baseline"] - ratio) < 0.01
    assert result["event_loop"].startswith("uvloop ")  # both sides on the service's loop
    assert result["muster"]["database"] == "sqlite"
    notes = " ".join(result["notes"])
    for said in ("update_interval=60", "No dedupe", "No outbox", "No consent log", "synchronous=NORMAL", "WAL"):
        assert said in notes


def test_muster_side_runs_on_postgresql_to_the_end(capsys) -> None:
    if not URL:
        pytest.skip(SKIP)
    load("bench_baseline_ptb.py").main(["--n", "10", "--concurrency", "4", "--database-url", URL])
    result = json.loads(capsys.readouterr().out)
    muster = result["muster"]
    assert muster["database"] == "postgresql"
    assert muster["messages"] == muster["replies_sent"] == 10 * 8
    assert muster["conversations_completed"] == muster["consent_log_opt_ins"] == 10


def test_every_update_reaches_muster_through_the_adapter() -> None:
    bench = load("bench_baseline_ptb.py")
    from telegram import Update

    from flows.core.clock import FakeClock

    for k in range(5):
        for data in bench.conversation(k):
            inbound = bench.convert(Update.de_json(data, None), "muster_bot", FakeClock())
            assert inbound is not None and inbound.address == str(bench.USER_BASE + k)


async def test_an_unfinished_conversation_is_not_counted_as_completed(tmp_path: Path) -> None:
    bench = load("bench_baseline_ptb.py")
    scripts = [bench.conversation(k) for k in range(4)]
    scripts[1] = scripts[1][:-1]  # never answers the consent question
    (tmp_path / "ptb").mkdir()
    baseline = await bench.run_baseline(tmp_path / "ptb", scripts, 2)
    assert baseline["conversations_completed"] == 3
    assert baseline["conversations_still_open"] == 1
    (tmp_path / "muster").mkdir()
    muster = await bench.run_muster(tmp_path / "muster", scripts, 2)
    assert muster["conversations_completed"] == 3
    assert muster["consent_log_opt_ins"] == 3
