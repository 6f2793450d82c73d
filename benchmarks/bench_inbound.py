"""Inbound throughput: N supporters each complete the whole sign-up through the running engine.

    python benchmarks/bench_inbound.py --n 20000 --concurrency 300
    python benchmarks/bench_inbound.py --database-url postgresql://root@127.0.0.1:5432/test

Prints JSON: messages, seconds, messages_per_s, p50_ms, p99_ms (per message, from
submit to commit), and the floor measured in the same run: raw sqlite3 doing the same
number of row writes per message, one transaction per message, with the same pragmas;
ratio_to_floor is the engine's rate over the floor's.
With --database-url, the engine runs on PostgreSQL in a schema of its own (dropped after) and
the floor is raw asyncpg doing the same, one transaction per message, in another.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg

from bot import event_loop
from flows.core.clock import SystemClock
from flows.core.engine import Engine
from flows.core.types import Inbound
from storage import groups, open_database
from storage.db import Database
from storage.postgres import own_schema

SCRIPT = ("JOIN", "Sam", "M1 1AE", "1 3", "sam@example.org", "YES")


async def _supporter(engine: Engine, n: int, latencies: list[float]) -> None:
    address = f"+44740{n:07d}"
    for i, text in enumerate(SCRIPT):
        started = time.perf_counter()
        await engine.handle(Inbound("sms", address, text, f"bench:{n}:{i}"))
        latencies.append(time.perf_counter() - started)


async def run_engine(path: Path | str, n: int, concurrency: int) -> dict[str, float]:
    db = await open_database(str(path))
    clock = SystemClock()
    async with db.transaction() as tx:
        await groups.add(tx, "Manchester", ["M"], clock.now())
    changes_before = await _changes(db)
    engine = Engine(db, clock)
    engine.start()
    latencies: list[float] = []
    pending = iter(range(n))

    async def worker() -> None:
        for k in pending:
            await _supporter(engine, k, latencies)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    await engine.stop()
    writes = await _changes(db) - changes_before
    async with db.transaction() as tx:
        active = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE status = 'active'")
        opted_in = await tx.scalar("SELECT COUNT(*) FROM consent_log WHERE action = 'opt_in'")
    await db.close()
    if active != n or opted_in != n:
        raise SystemExit(f"sign-up did not complete: {active} active, {opted_in} opt-ins of {n}")
    latencies.sort()
    messages = len(latencies)
    return {
        "messages": messages,
        "seconds": round(seconds, 3),
        "messages_per_s": round(messages / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(messages * 0.99) - 1] * 1000, 2),
        "row_writes_per_message": round(writes / messages, 2),
    }


async def _changes(db: Database) -> int:
    """Rows written so far (SQLite counts them; PostgreSQL: 0, see bench)."""
    return int(db.conn.total_changes) if db.dialect == "sqlite" else 0


def run_floor(path: Path, messages: int, writes_per_message: int) -> float:
    """Raw sqlite3: the same row writes per message, each message its own transaction."""
    conn = sqlite3.connect(str(path), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT, c INTEGER)")
    started = time.perf_counter()
    for m in range(messages):
        conn.execute("BEGIN IMMEDIATE")
        for w in range(writes_per_message):
            conn.execute("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", (f"m{m}", "2026-01-01T00:00:00.000000Z", w))
        conn.execute("COMMIT")
    seconds = time.perf_counter() - started
    conn.close()
    return messages / seconds


async def run_pg_floor(url: str, messages: int, writes_per_message: int) -> float:
    """Raw asyncpg: the same row writes per message, each message its own transaction."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TABLE t (id BIGSERIAL PRIMARY KEY, a TEXT, b TEXT, c INTEGER)")
        started = time.perf_counter()
        for m in range(messages):
            async with conn.transaction():
                for w in range(writes_per_message):
                    await conn.execute("INSERT INTO t (a, b, c) VALUES ($1, $2, $3)",
                                       f"m{m}", "2026-01-01T00:00:00.000000Z", w)
        return messages / (time.perf_counter() - started)
    finally:
        await conn.close()


async def bench(n: int, concurrency: int, workdir: Path, database_url: str = "") -> dict[str, float]:
    if not database_url:
        result = await run_engine(workdir / "bench.db", n, concurrency)
        floor = run_floor(workdir / "floor.db", result["messages"], max(1, round(result["row_writes_per_message"])))
        result["sqlite_floor_messages_per_s"] = round(floor, 1)
    else:
        async with own_schema(database_url, "muster_bench") as engine_url:
            result = await run_engine(engine_url, n, concurrency)
        # The flows write the same rows on either backend: counted where it is exact, on SQLite.
        counted = await run_engine(workdir / "count.db", 200, min(concurrency, 200))
        result["row_writes_per_message"] = counted["row_writes_per_message"]
        async with own_schema(database_url, "muster_bench") as floor_url:
            floor = await run_pg_floor(floor_url, int(result["messages"]),
                                       max(1, round(result["row_writes_per_message"])))
        result["postgres_floor_messages_per_s"] = round(floor, 1)
    result["ratio_to_floor"] = round(result["messages_per_s"] / round(floor, 1), 3)
    result["n"], result["concurrency"] = n, concurrency
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000, help="simulated supporters")
    parser.add_argument("--concurrency", type=int, default=300, help="supporters talking at once")
    parser.add_argument("--database-url", default="", help="PostgreSQL server (a schema of its own, dropped after)")
    parser.add_argument("--standard-loop", action="store_true",
                        help="run on asyncio's standard event loop, not the service's (bot/event_loop.py)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = event_loop.run(bench(args.n, args.concurrency, Path(tmp), args.database_url),
                                standard=args.standard_loop)
    print(json.dumps({**result, "event_loop": event_loop.name(args.standard_loop)}))


if __name__ == "__main__":
    main()
