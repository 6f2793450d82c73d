"""Broadcast at scale: materialise 100,000 recipients, drain them unpaced, and check paced sending.

    python benchmarks/bench_broadcast.py [--n 100000] [--rate 50] [--seconds 3] [--batch 2000]

Prints JSON: materialise_seconds (target < 3), dispatch_per_second to a null channel with
pacing off through the real Dispatcher.drain_once (target >= 5,000), peak_rss_mb (target
< 200), and for a fake provider paced at --rate on the real clock, the highest count in
any one-second window (must not exceed the rate) and the mean rate.
"""
from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.channels.base import Sent  # noqa: E402
from bot.dispatcher import Dispatcher  # noqa: E402
from bot.pacing import Pacer  # noqa: E402
from flows.core.clock import SystemClock  # noqa: E402
from flows.core.settings import FlowSettings  # noqa: E402
from flows.core.types import Reply  # noqa: E402
from flows.organiser import sending as broadcast_send  # noqa: E402
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose  # noqa: E402
from storage import open_database  # noqa: E402
from storage.db import ts  # noqa: E402
from storage.outbox import OutboxRow  # noqa: E402

SETTINGS = FlowSettings(sms_quiet_hours="")
ADMIN = Actor(trusted=True)


class NullChannel:
    """Accepts everything instantly; `times` records when each send reached the 'provider'."""

    def __init__(self, name: str, rate: float | None = None) -> None:
        self.name = name
        self.pacer = Pacer(rate)
        self.times: list[float] = []
        self.count = 0

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def routes(self) -> list:
        return []

    def cost(self, reply: Reply) -> float:
        return 1.0

    async def send(self, row: OutboxRow, reply: Reply) -> Sent:
        self.count += 1
        if self.pacer.rate:
            self.times.append(time.time())  # the dispatcher's SystemClock reads the same clock
        return Sent(None)


async def seed(db, n: int, sms_only: bool = False) -> None:
    """n supporters: a third SMS only, a third Telegram only, a third both (last channel alternating)."""
    stamp = ts(datetime.now(UTC))
    rows = []
    for i in range(n):
        kind = 0 if sms_only else i % 3
        phone = f"+447{i:09d}" if kind != 1 else None
        telegram = 10_000_000 + i if kind != 0 else None
        last = "sms" if kind == 0 or (kind == 2 and i % 2) else "telegram"
        rows.append((phone, telegram, f"Name{i}", "active", "opted_in" if phone else "none",
                     "opted_in" if telegram else "none", last, stamp))
    await db.conn.executemany(
        "INSERT INTO supporters (phone, telegram_id, first_name, status, sms_consent, telegram_consent, "
        "last_channel, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows,
    )
    await db.conn.commit()


async def start_broadcast(db, body: str) -> tuple[int, float]:
    clock = SystemClock()
    async with db.transaction() as tx:
        from storage.broadcasts import Audience

        draft = await compose(tx, ADMIN, clock.now(), body=body, audience=Audience())
        p = await broadcast_send.preview(tx, draft, clock.now(), SETTINGS)
    started = time.perf_counter()
    async with db.transaction() as tx:
        b = await broadcast_send.confirm(tx, draft, ADMIN, clock.now(), SETTINGS, typed=str(p.total))
    return b.recipients, time.perf_counter() - started


async def unpaced(n: int, batch: int, workdir: Path) -> dict:
    db = await open_database(str(workdir / "bench.db"))
    try:
        t0 = time.perf_counter()
        await seed(db, n)
        seeded = time.perf_counter() - t0
        recipients, materialise = await start_broadcast(db, "Hi {first_name}, the rally is on Saturday.")
        channels = {"sms": NullChannel("sms"), "telegram": NullChannel("telegram")}
        dispatcher = Dispatcher(db, channels, SystemClock(), batch=batch)
        t0 = time.perf_counter()
        sent = 0
        for name in channels:
            while got := await dispatcher.drain_once(name):
                sent += got
        elapsed = time.perf_counter() - t0
        return {
            "supporters": n, "seed_seconds": round(seeded, 3), "recipients": recipients,
            "materialise_seconds": round(materialise, 3), "dispatched": sent,
            "dispatch_seconds": round(elapsed, 3), "dispatch_per_second": round(sent / elapsed) if elapsed else None,
        }
    finally:
        await db.close()


def windows(times: list[float]) -> tuple[int, float | None, float]:
    """(most sends in any one-second window, mean rate, span in seconds)."""
    times = sorted(times)
    worst = max(bisect.bisect_left(times, t + 1.0) - i for i, t in enumerate(times)) if times else 0
    span = times[-1] - times[0] if len(times) > 1 else 0.0
    return worst, (round((len(times) - 1) / span, 2) if span else None), round(span, 3)


async def paced(rate: float, seconds: float, workdir: Path) -> dict:
    n = int(rate * seconds)
    db = await open_database(str(workdir / "paced.db"))
    try:
        await seed(db, n, sms_only=True)
        await start_broadcast(db, "Paced")
        channel = NullChannel("sms", rate)
        dispatcher = Dispatcher(db, {"sms": channel}, SystemClock(), batch=1000)
        while await dispatcher.drain_once("sms"):
            pass
        worst, mean, span = windows(channel.times)
        return {"messages": len(channel.times), "seconds": span, "max_in_any_second": worst, "mean_rate": mean}
    finally:
        await db.close()


async def main(args: argparse.Namespace) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = await unpaced(args.n, args.batch, Path(tmp))
        if args.seconds > 0:
            result["paced_rate"] = args.rate
            result["paced"] = await paced(args.rate, args.seconds, Path(tmp))
    result["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="supporters to create")
    parser.add_argument("--batch", type=int, default=2000, help="rows the dispatcher claims at once")
    parser.add_argument("--rate", type=float, default=50.0, help="paced run: messages per second")
    parser.add_argument("--seconds", type=float, default=3.0, help="paced run: about how long (0 to skip)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(parse())), indent=2))
