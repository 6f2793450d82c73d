"""Exporting supporters and the consent log as CSV at scale: time and memory.

    python benchmarks/bench_export.py [--supporters 100000] [--runs 3]

Builds a file database with the real migrations: `supporters` supporters in 20 local groups, each with a
phone number (one in five also Telegram), names, email, postcode, up to two interests and one or two
consent events. Then, in a fresh process per run, streams the supporters export and the consent log
export through the same operation the CLI and the console call, a page per short transaction, into a
file. Prints JSON: per run the seconds and rows of each export, and the peak RSS above what the process
held before the exports (flat memory: the export is never held whole). Target: 100,000 rows in under 5 s.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from flows.organiser import exports  # noqa: E402
from flows.organiser.access import Actor  # noqa: E402
from storage import open_database  # noqa: E402
from storage.db import ts  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
NAMES = ("Amy", "Ben", "Carys", "Dylan", "Eilidh", "Fatima", "George", "Hannah", "Siân", "Zoë")
INTERESTS = ("housing", "jobs_pay", "elections", "voter_registration", "benefits_disability")


async def build(path: Path, n: int) -> None:
    rng = random.Random(11)
    db = await open_database(str(path))
    stamp = ts(NOW)
    async with db.transaction() as tx:
        tx.write_many("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                      [(g, f"Group {g}", stamp) for g in range(1, 21)])
        people, consents, interests = [], [], []
        for i in range(1, n + 1):
            name = rng.choice(NAMES)
            people.append((i, f"+447400{i:06d}", 6_000_000_000 + i if i % 5 == 0 else None, name, "Jones",
                           f"person{i}@example.org", "M1 1AE", "M1", rng.randint(1, 20), "active",
                           "opted_in", "opted_in" if i % 5 == 0 else "none", stamp))
            consents.append((i, "sms", "opt_in", "flow", "signup-consent-v1", stamp))
            if i % 7 == 0:
                consents.append((i, "sms", "opt_out", "keyword", None, stamp))
            interests += [(i, x) for x in rng.sample(INTERESTS, rng.randint(0, 2))]
        tx.write_many("INSERT INTO supporters (id, phone, telegram_id, first_name, last_name, email, postcode, area, "
                      "group_id, status, sms_consent, telegram_consent, created_at) "
                      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", people)
        tx.write_many("INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, at) "
                      "VALUES (?, ?, ?, ?, ?, ?)", consents)
        tx.write_many("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)", interests)
    await db.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


async def measure(path: Path, out: Path) -> dict[str, Any]:
    db = await open_database(str(path))
    before = _rss_mb()
    result: dict[str, Any] = {}
    for kind in ("supporters", "consent"):
        started = time.perf_counter()
        lines = 0
        with out.open("w", encoding="utf-8", newline="") as f:
            async for chunk in exports.csv_chunks(exports.rows(db.transaction, Actor(trusted=True), kind, NOW)):
                f.write(chunk)
                lines += chunk.count("\r\n")
        result[kind] = {"rows": lines - 1, "seconds": round(time.perf_counter() - started, 2),
                        "file_mb": round(out.stat().st_size / 1e6, 1)}
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    await db.close()
    result.update(rss_before_mb=round(before, 1), peak_rss_mb=round(peak, 1),
                  peak_above_start_mb=round(peak - before, 1))
    return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--database", help="an existing database built by this script (used by each run)")
    parser.add_argument("--build", help="build the database at this path, and stop")
    args = parser.parse_args(argv)
    if args.build:
        asyncio.run(build(Path(args.build), args.supporters))
        return {}
    if args.database:
        result = asyncio.run(measure(Path(args.database), Path(args.database).with_suffix(".csv")))
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bench.db"
            started = time.perf_counter()
            # Built by another process: a parent that wrote the file itself makes the runs' RSS grow with it.
            subprocess.run([sys.executable, __file__, "--build", str(path), "--supporters", str(args.supporters)],
                           check=True)
            built = round(time.perf_counter() - started, 1)
            runs = []
            for _ in range(args.runs):
                done = subprocess.run([sys.executable, __file__, "--database", str(path)], capture_output=True,
                                      text=True, check=True)
                runs.append(json.loads(done.stdout))
        result = {"supporters": args.supporters, "build_seconds": built, "runs": runs,
                  "median_supporters_seconds": statistics.median(r["supporters"]["seconds"] for r in runs),
                  "median_consent_seconds": statistics.median(r["consent"]["seconds"] for r in runs),
                  "median_peak_above_start_mb": statistics.median(r["peak_above_start_mb"] for r in runs),
                  "target_seconds": 5}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
