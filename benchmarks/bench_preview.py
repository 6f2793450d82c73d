"""The broadcast preview at scale: every SMS recipient's own text counted, for a national audience.

    python benchmarks/bench_preview.py [--supporters 100000] [--runs 7]

Builds a file database with the real migrations: supporters in 200 local groups, most on SMS,
with first names of which some fall outside GSM-7 (Siân, Zoë, Łukasz), so their messages are
UCS-2. Then asks the preview (flows.organiser.sending.preview, which the CLI, the chat console
and the web console all call) for a broadcast to everyone, `--runs` times. Prints JSON: the
recipients, the preview's figures, and the median and slowest time in milliseconds.
Target: under 1 s for 100,000 recipients.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.core.settings import FlowSettings  # noqa: E402
from flows.organiser import sending  # noqa: E402
from flows.organiser.access import Actor  # noqa: E402
from flows.organiser.broadcasts import compose  # noqa: E402
from storage import open_database  # noqa: E402
from storage.broadcasts import Audience  # noqa: E402
from storage.db import ts  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NAMES = ("Aisha Alex Ali Amelia Ben Bethan Carys Chloe Daniel David Dylan Ella Emma Ethan Fatima Finn Freya "
         "George Grace Harry Isla Jack James Leah Liam Lucy Mia Noah Olivia Owen Priya Rhys Ruby Sam Sarah Tom "
         "Yusuf Zara").split()
OUTSIDE_GSM7 = ("Siân", "Zoë", "Łukasz", "Rhiannon ŵ", "Chloë")  # each turns its own message into UCS-2
BODY = "Hi {first_name}, the {group} meeting is on Thursday at 7pm in the library. Bring a friend if you can!"


def build(path: Path, supporters: int, groups: int = 200, seed: int = 7) -> None:
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    stamp = ts(NOW)
    conn.executemany("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                     [(g, f"Group {g:03d}", stamp) for g in range(1, groups + 1)])
    rows = []
    for i in range(1, supporters + 1):
        name = rng.choice(OUTSIDE_GSM7) if rng.random() < 0.03 else rng.choice(NAMES)
        telegram = rng.random() < 0.3
        rows.append((f"+447{i:09d}", i if telegram else None, name, rng.randint(1, groups), "active", "opted_in",
                     "opted_in" if telegram else "none", "telegram" if telegram and rng.random() < 0.5 else "sms",
                     stamp))
    conn.executemany(
        "INSERT INTO supporters (phone, telegram_id, first_name, group_id, status, sms_consent, telegram_consent, "
        "last_channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    conn.close()


async def measure(path: Path, runs: int) -> dict[str, object]:
    settings = FlowSettings(sms_quiet_hours="")
    db = await open_database(str(path))
    try:
        async with db.transaction() as tx:
            draft = await compose(tx, Actor(trusted=True), NOW, body=BODY, audience=Audience())
        times, p = [], None
        for _ in range(runs):
            async with db.transaction() as tx:
                started = time.perf_counter()
                p = await sending.preview(tx, draft, NOW, settings)
                times.append((time.perf_counter() - started) * 1000)
        assert p is not None
        return {"recipients": p.total, "counts": p.counts, "encodings": p.encodings, "segments": p.segments,
                "widest": p.widest, "cost": str(p.cost), "runs": runs,
                "median_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}
    finally:
        await db.close()


async def migrate(path: Path) -> None:
    db = await open_database(str(path))
    await db.close()


def run(supporters: int, runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        asyncio.run(migrate(path))
        started = time.perf_counter()
        build(path, supporters)
        built = time.perf_counter() - started
        result = asyncio.run(measure(path, runs))
    return {"supporters": supporters, "build_s": round(built, 1), **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    print(json.dumps(run(args.supporters, args.runs), indent=2))


if __name__ == "__main__":
    main()
