"""Several workers: real `muster run` processes on SQLite (1) and PostgreSQL (1, 2, 4), inbound and broadcast.

    python benchmarks/bench_workers.py [--workers 1,2,4] [--messages 4000] [--concurrency 64]
        [--supporters 10000] [--batch 50] [--database-url postgresql://root@127.0.0.1:5432/test]

For each setup, in one run: the workers start against the fake Telegram and Twilio servers (in
this process, answering at once), each PostgreSQL setup in a schema of its own (dropped after).

- inbound: --messages SMS webhooks ("HELP", each from a different number, signed as Twilio signs
  them) posted by --concurrency posters at once, message k to worker k mod N. A webhook is
  answered 200 only once it is committed; the count in `inbound_seen` is checked after. Prints
  messages_per_s and p50/p99 latency (post to answer), the replies being sent meanwhile.
- broadcast: --supporters SMS-only supporters, a broadcast to all of them with pacing off
  (SMS_SEGMENTS_PER_SECOND set far above what is reached); timed at the fake Twilio, from the
  broadcast's commit to the last recipient accepted (dispatch_per_s; from the first one
  accepted: dispatch_per_s_from_first_send), and to every row settled in the outbox
  (settled_seconds).

Each phase also prints the CPU used meanwhile, in cores: the whole machine, the workers, this
process (posters and fakes), every PostgreSQL process (whoever they serve), and the rest (other
work on a shared machine); and per_worker_core, the rate divided by the cores the workers had.
The database URL defaults to MUSTER_TEST_DATABASE_URL; --workers "" runs SQLite alone.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import asyncpg  # noqa: E402

from flows.core.settings import FlowSettings  # noqa: E402
from flows.organiser import sending  # noqa: E402
from flows.organiser.access import Actor  # noqa: E402
from flows.organiser.broadcasts import compose, parse_audience  # noqa: E402
from storage import open_database  # noqa: E402
from storage.db import ts  # noqa: E402
from storage.postgres import own_schema  # noqa: E402
from tests.bot.sms_support import ERASURE_SALT, inbound_fields, sign  # noqa: E402
from tests.fakes.telegram_api import FakeTelegramAPI  # noqa: E402
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI  # noqa: E402
from tests.reliability.live import Muster  # noqa: E402

SECRET_KEY = "bench-workers-secret-key-shared-by-workers"
HEARTBEAT = 20.0  # bot.dispatcher: LEASE_SECONDS / 3; a joining worker sends once the others have beaten
SMS_RATE = 1_000_000  # segments a second: far above anything reached, so pacing never waits
TELEGRAM_RATE = 1000  # the highest the setting allows
BODY = "Bench: the rally is on Saturday, 11am at the square."
TICK = os.sysconf("SC_CLK_TCK")


class TimedTwilio(FakeTwilioAPI):
    """The fake Twilio, noting when it accepted each message."""

    def _validate(self, fields: dict[str, Any]) -> None:  # type: ignore[override]
        FakeTwilioAPI._validate(fields)
        fields["_accepted_at"] = time.monotonic()


# ---------------------------------------------------------------------- CPU, in cores

def _machine_busy() -> float:
    with open("/proc/stat") as f:
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in f.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / TICK


def _postgres_cpu() -> float:
    """Every PostgreSQL process on the machine (the server's, whoever's sessions they serve)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    head, _, tail = f.read().rpartition(")")
            except OSError:
                continue
            if head.partition("(")[2].startswith("postgres"):
                fields = tail.split()
                total += (int(fields[11]) + int(fields[12])) / TICK
    return total


def _process_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


class Cpu:
    """CPU used over a phase, in cores: the workers, this process, and everything else on the machine."""

    def __init__(self, pool: list[Muster]) -> None:
        self.pids = [w.proc.pid for w in pool if w.proc is not None]
        self.at = time.monotonic()
        self.machine = _machine_busy()
        self.workers = sum(_process_cpu(p) for p in self.pids)
        self.own = sum(os.times()[:2])
        self.postgres = _postgres_cpu()

    def cores(self) -> dict[str, float]:
        wall = time.monotonic() - self.at
        machine = (_machine_busy() - self.machine) / wall
        workers = (sum(_process_cpu(p) for p in self.pids) - self.workers) / wall
        own = (sum(os.times()[:2]) - self.own) / wall
        postgres = max(0.0, _postgres_cpu() - self.postgres) / wall  # at least: sessions that ended are not counted
        return {"machine": round(machine, 2), "workers": round(workers, 2), "bench_process": round(own, 2),
                "postgres": round(postgres, 2), "rest": round(max(0.0, machine - workers - own - postgres), 2)}


# ---------------------------------------------------------------------- the database, from outside

class Store:
    """The setup's database, read and written from this process: SQLite file or PostgreSQL schema."""

    def __init__(self, url: str | None, path: Path) -> None:
        self.url, self.path = url, path
        self.target = url or str(path)
        self.conn: asyncpg.Connection | None = None  # one session for every poll, so none is opened per poll

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()
            self.conn = None

    async def migrate(self) -> None:
        db = await open_database(self.target)
        await db.close()

    async def scalar(self, query: str) -> int:
        if self.url:
            if self.conn is None:
                self.conn = await asyncpg.connect(self.url)
            return int(await self.conn.fetchval(query))
        with sqlite3.connect(self.path, timeout=30) as conn:
            return int(conn.execute(query).fetchone()[0])

    async def seed(self, n: int) -> None:
        """n active supporters reached by SMS only (numbers unlike the inbound senders')."""
        stamp = ts(datetime.now(UTC))
        rows = [(f"+4477{i:08d}", f"Name{i}", "active", "opted_in", "none", "sms", stamp) for i in range(n)]
        insert = ("INSERT INTO supporters (phone, first_name, status, sms_consent, telegram_consent, last_channel,"
                  " created_at) VALUES ({})")
        if self.url:
            conn = await asyncpg.connect(self.url)
            try:
                await conn.executemany(insert.format(", ".join(f"${i}" for i in range(1, 8))), rows)
            finally:
                await conn.close()
        else:
            with sqlite3.connect(self.path, timeout=30) as conn:
                conn.executemany(insert.format(", ".join("?" * 7)), rows)

    async def start_broadcast(self, count: int) -> tuple[int, int]:
        """A broadcast to everyone, confirmed as `muster broadcast send` does: (id, recipients)."""
        flow = FlowSettings(sms_quiet_hours="", erasure_salt=ERASURE_SALT, telegram_messages_per_second=TELEGRAM_RATE,
                            sms_segments_per_second=SMS_RATE)
        db = await open_database(self.target)
        try:
            async with db.transaction() as tx:
                now = datetime.now(UTC)
                actor = Actor(trusted=True, label="cli")
                filters, every = await parse_audience(tx, "all")
                b = await compose(tx, actor, now, body=BODY, audience=filters, every=every)
                b = await sending.confirm(tx, b, actor, now, flow, typed=str(count))
            return b.id, b.recipients
        finally:
            await db.close()


# ---------------------------------------------------------------------- the phases

def _webhooks(pool: list[Muster], first: int, count: int) -> list[tuple[str, bytes, dict[str, str]]]:
    """Signed inbound SMS webhooks, message k (a number of its own) to worker k mod N."""
    made = []
    for k in range(first, first + count):
        url = pool[k % len(pool)].base + "/sms/inbound"
        fields = inbound_fields(sid=f"SM{k:032d}", body="HELP", sender=f"+4475{k:08d}")
        headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": sign(url, fields)}
        made.append((url, urlencode(fields).encode(), headers))
    return made


async def _post_all(requests: list[tuple[str, bytes, dict[str, str]]], concurrency: int) -> tuple[float, list[float]]:
    """Post them with `concurrency` posters at once: (seconds, each one's latency)."""
    latencies: list[float] = []
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as http:

        async def poster() -> None:
            for url, body, headers in pending:
                began = time.perf_counter()
                async with http.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    if answer.status != 200:
                        raise SystemExit(f"webhook answered {answer.status}: {await answer.text()}")
                latencies.append(time.perf_counter() - began)

        started = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


async def inbound(pool: list[Muster], store: Store, messages: int, concurrency: int) -> dict[str, Any]:
    warm = 10 * len(pool)  # each worker's first requests, not timed
    await _post_all(_webhooks(pool, 0, warm), min(concurrency, warm))
    requests = _webhooks(pool, warm, messages)
    cpu = Cpu(pool)
    seconds, latencies = await _post_all(requests, concurrency)
    used = cpu.cores()
    seen = await store.scalar("SELECT COUNT(*) FROM inbound_seen")
    if seen != warm + messages:
        raise SystemExit(f"{seen} webhooks recorded of {warm + messages} answered")
    latencies.sort()
    return {
        "messages": messages, "concurrency": concurrency, "seconds": round(seconds, 3),
        "messages_per_s": round(messages / seconds, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000, 2),
        "cpu_cores": used, "per_worker_core": _per_core(messages / seconds, used),
    }


def _per_core(rate: float, used: dict[str, float]) -> float | None:
    return round(rate / used["workers"], 1) if used["workers"] else None


async def settled(store: Store, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await store.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')"):
        if time.monotonic() > deadline:
            raise SystemExit("the outbox did not settle")
        await asyncio.sleep(0.05)


async def broadcast(pool: list[Muster], store: Store, twilio: TimedTwilio, supporters: int) -> dict[str, Any]:
    await settled(store, 120)  # the inbound phase's replies
    before = twilio.message_count
    cpu = Cpu(pool)
    began = time.monotonic()
    broadcast_id, recipients = await store.start_broadcast(supporters)
    committed = time.monotonic()
    await settled(store, 600)
    done = time.monotonic()
    used = cpu.cores()
    times = sorted(m["_accepted_at"] for m in twilio.messages[before:] if BODY in m["Body"])
    sent = await store.scalar(f"SELECT COUNT(*) FROM outbox WHERE broadcast_id = {broadcast_id} AND status = 'sent'")
    if len(times) != recipients or sent != recipients:
        raise SystemExit(f"broadcast: {len(times)} received, {sent} sent, of {recipients}")
    seconds = times[-1] - committed
    return {
        "recipients": recipients, "materialise_seconds": round(committed - began, 3),
        "first_send_after_s": round(times[0] - committed, 3), "seconds": round(seconds, 3),
        "dispatch_per_s": round(recipients / seconds, 1),
        "dispatch_per_s_from_first_send": round((recipients - 1) / (times[-1] - times[0]), 1)
        if recipients > 1 and times[-1] > times[0] else None,
        "settled_seconds": round(done - committed, 3),
        "cpu_cores": used, "per_worker_core": _per_core(recipients / seconds, used),
    }


async def setup(url: str | None, workers: int, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """One database with `workers` workers: the inbound phase, then the broadcast."""
    store = Store(url, workdir / "w0" / "muster.db")
    async with AsyncExitStack() as stack:
        telegram = stack.enter_context(FakeTelegramAPI())
        twilio = TimedTwilio(auth=(ACCOUNT_SID, AUTH_TOKEN))
        stack.enter_context(twilio)
        pool: list[Muster] = []
        for i in range(workers):
            (workdir / f"w{i}").mkdir()
            env = {"MUSTER_SECRET_KEY": SECRET_KEY, "MUSTER_DEMO": "false", "MUSTER_LOG_LEVEL": "WARNING",
                   "MUSTER_OUTBOX_BATCH": str(args.batch), "TELEGRAM_MESSAGES_PER_SECOND": str(TELEGRAM_RATE),
                   "SMS_SEGMENTS_PER_SECOND": str(SMS_RATE)}
            if url:
                env["MUSTER_DATABASE_URL"] = url
            else:
                env["MUSTER_DB_PATH"] = str(store.path)
            pool.append(Muster(workdir / f"w{i}", telegram, twilio, **env))

        def kill_all() -> None:  # a run that fails part-way leaves no worker behind
            for worker in pool:
                worker.kill()
        stack.callback(kill_all)
        stack.push_async_callback(store.close)
        await store.migrate()
        await store.seed(args.supporters)
        for worker in pool:
            await asyncio.to_thread(worker.start)
        up = time.monotonic()
        result: dict[str, Any] = {"database": "postgresql" if url else "sqlite", "workers": workers}
        result["inbound"] = await inbound(pool, store, args.messages, args.concurrency)
        if workers > 1:  # until each worker has counted the last to start, that one sends nothing
            await asyncio.sleep(max(0.0, up + HEARTBEAT + 1 - time.monotonic()))
        result["broadcast"] = await broadcast(pool, store, twilio, args.supporters)
        for worker in pool:
            await asyncio.to_thread(worker.stop)
        for worker in pool:
            log = worker.log()
            if "Traceback" in log:
                raise SystemExit(f"a worker failed:\n{log[-4000:]}")
    return result


async def run(args: argparse.Namespace) -> dict[str, Any]:
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    if counts and not args.database_url:
        raise SystemExit("PostgreSQL setups need --database-url or MUSTER_TEST_DATABASE_URL")
    load = os.getloadavg()[0]
    began = time.monotonic()
    setups = []
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sqlite").mkdir()
        setups.append(await setup(None, 1, args, Path(tmp) / "sqlite"))
        for n in counts:
            async with own_schema(args.database_url, "muster_bench") as url:
                (Path(tmp) / f"pg{n}").mkdir()
                setups.append(await setup(url, n, args, Path(tmp) / f"pg{n}"))
    result: dict[str, Any] = {"cores": os.cpu_count(), "load_average_at_start": round(load, 2),
                              "supporters": args.supporters, "messages": args.messages, "setups": setups}
    pg = {s["workers"]: s for s in setups if s["database"] == "postgresql"}
    if 1 in pg:
        result["scaling_vs_postgresql_1"] = {
            str(n): {"inbound": round(s["inbound"]["messages_per_s"] / pg[1]["inbound"]["messages_per_s"], 2),
                     "broadcast": round(s["broadcast"]["dispatch_per_s"] / pg[1]["broadcast"]["dispatch_per_s"], 2)}
            for n, s in pg.items()}
    result["seconds"] = round(time.monotonic() - began, 1)
    return result


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL setups: workers in each, comma-separated")
    parser.add_argument("--messages", type=int, default=4000, help="inbound webhooks timed in each setup")
    parser.add_argument("--concurrency", type=int, default=64, help="webhooks posted at once")
    parser.add_argument("--supporters", type=int, default=10_000, help="broadcast recipients in each setup")
    parser.add_argument("--batch", type=int, default=50, help="MUSTER_OUTBOX_BATCH: sends in flight per channel")
    parser.add_argument("--database-url", default=os.environ.get("MUSTER_TEST_DATABASE_URL", ""),
                        help="PostgreSQL server (a schema of its own per setup)")
    parser.add_argument("--tiny", action="store_true", help="a quick run: 120 messages, 300 supporters, 2 workers")
    args = parser.parse_args(argv)
    if args.tiny:
        args.messages, args.supporters, args.workers, args.concurrency = 120, 300, "2", 8
    return args


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(asyncio.run(run(parse(argv))), indent=2))


if __name__ == "__main__":
    main()
