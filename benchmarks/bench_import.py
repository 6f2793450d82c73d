"""Importing a large CSV file of supporters: time and memory.

    python benchmarks/bench_import.py [--rows 100000] [--existing 10000] [--runs 3]

Writes a CSV file of `rows` supporters as organisers' spreadsheets hold them (numbers as 07…, +44 7…
and +44 (0)7…, emails, postcodes, names, interests, local groups by name, a semicolon in a quoted
name; one row in a hundred refused for a reason: a number Excel rounded to 4.47401E+11, a bad
email, an unknown group, a duplicate), onto a file database holding `existing` supporters of whom
half appear in the file. Then imports it for real with consent evidence for the file, through the
same operation the CLI and the console call, in a fresh process per run. Prints JSON: per run the
seconds, rows per second, the counts, and the peak RSS above what the process held before the
import (flat memory: the same for 10,000 rows as for 100,000). Target: 100,000 rows in under 15 s.
"""
from __future__ import annotations

import argparse
import asyncio
import csv
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

from flows.core.settings import FlowSettings  # noqa: E402
from flows.organiser import imports  # noqa: E402
from flows.organiser.access import Actor  # noqa: E402
from storage import open_database  # noqa: E402
from storage.db import ts  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
GROUPS = ("Manchester Central", "Leeds North", "Bristol East", "Cardiff", "Glasgow South")
OUTWARDS = ("M1", "M4", "LS6", "BS5", "CF10", "G41", "SW1A", "E8", "N16", "B12")
NAMES = ("Amy", "Ben", "Carys", "Dylan", "Eilidh", "Fatima", "George", "Hannah", "Isaac", "Siân", "Zoë", "Łukasz")
UNIT = "ABDEFGHJLNPQRSTUWXYZ"
ASCII = {"Siân": "Sian", "Zoë": "Zoe", "Łukasz": "Lukasz"}
INTERESTS = ("housing", "jobs_pay", "elections", "voter_registration", "benefits_disability")


def _phone(i: int) -> str:
    digits = f"7400{i:06d}"
    return (f"0{digits}", f"+44 {digits[:4]} {digits[4:]}", f"+44 (0){digits}", f"0{digits[:4]} {digits[4:]}")[i % 4]


def write_file(path: Path, rows: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["Mobile", "First name", "Surname", "Email", "Postcode", "Interests", "Group"])
        for i in range(rows):
            name = rng.choice(NAMES)
            outward = rng.choice(OUTWARDS)
            row = [_phone(i), name, f"Smith; {i % 7}" if i % 50 == 0 else "Jones",
                   f"{ASCII.get(name, name).lower()}.{i}@example.org" if i % 5 else "",
                   f"{outward} {rng.randint(1, 9)}{rng.choice(UNIT)}{rng.choice(UNIT)}",
                   ";".join(rng.sample(INTERESTS, rng.randint(0, 2))), rng.choice(GROUPS)]
            bad = i % 100
            if bad == 17:
                row[0] = "4.47401E+11"
            elif bad == 37:
                row[3] = "not an email"
            elif bad == 57:
                row[6] = "Atlantis"
            elif bad == 77 and i > 0:
                row[0] = _phone(i - 1)
            out.writerow(row)


async def build(db_path: Path, existing: int, rows: int) -> None:
    db = await open_database(str(db_path))
    async with db.transaction() as tx:
        tx.write_many("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                      [(n, name, ts(NOW)) for n, name in enumerate(GROUPS, start=1)])
        # Half of them are in the file (every other row from the start), half are not.
        people = [(f"+447400{(2 * k if k < existing // 2 else rows + k):06d}", ts(NOW)) for k in range(existing)]
        tx.write_many("INSERT INTO supporters (phone, created_at, status) VALUES (?, ?, 'active')", people)
    await db.close()


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize() / 1e6


async def measure(db_path: Path, csv_path: Path) -> dict[str, Any]:
    db = await open_database(str(db_path))
    evidence = imports.evidence("website sign-up form 2025", "2025-06-01", "tick box on the sign-up form",
                                "Yes, text me about campaigns and events near me. Reply STOP to stop.",
                                "Europe/London", NOW)
    before = _rss_mb()
    started = time.perf_counter()
    summary = await imports.run(db.transaction, Actor(trusted=True), csv_path, csv_path.name,
                                imports.Options(evidence=evidence), FlowSettings(), NOW, dry_run=False)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3
    await db.close()
    return {"rows": summary.rows, "seconds": round(seconds, 2), "rows_per_s": round(summary.rows / seconds),
            "counts": summary.counts, "rss_before_mb": round(before, 1), "peak_rss_mb": round(peak, 1),
            "peak_above_start_mb": round(peak - before, 1)}


def one_run(rows: int, existing: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        db_path, csv_path = Path(folder) / "bench.db", Path(folder) / "supporters.csv"
        # Made by another process: one that wrote the files itself makes the measured RSS grow with them.
        subprocess.run([sys.executable, __file__, "--rows", str(rows), "--existing", str(existing), "--build",
                        folder], check=True)
        done = subprocess.run([sys.executable, __file__, "--measure", folder], capture_output=True, text=True,
                              check=True)
        result: dict[str, Any] = json.loads(done.stdout)
        result["file_mb"] = round(csv_path.stat().st_size / 1e6, 1)
        assert db_path.exists()
        return result


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--existing", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--build", help="write the file and the database into this folder, and stop")
    parser.add_argument("--measure", help="import the file of this folder into its database (one run)")
    args = parser.parse_args(argv)
    if args.build:
        write_file(Path(args.build) / "supporters.csv", args.rows)
        asyncio.run(build(Path(args.build) / "bench.db", args.existing, args.rows))
        return {}
    if args.measure:
        result = asyncio.run(measure(Path(args.measure) / "bench.db", Path(args.measure) / "supporters.csv"))
    else:
        runs = [one_run(args.rows, args.existing) for _ in range(args.runs)]
        result = {"rows": args.rows, "existing": args.existing, "runs": runs,
                  "median_seconds": statistics.median(r["seconds"] for r in runs),
                  "median_peak_above_start_mb": statistics.median(r["peak_above_start_mb"] for r in runs),
                  "target_seconds": 15}
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
