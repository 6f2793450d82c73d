"""Several real `muster run` workers on one PostgreSQL database, against the fake providers.

- Three workers serve webhooks and send a 10,000-recipient broadcast while random ones are
  SIGKILLed and started again: nothing reaches a provider twice, `unknown` is exactly what the
  killed workers had handed over (at most their in-flight window each), every recipient is
  accounted for, and the providers never see more than the configured rate in any one second.
- A worker cut off from the database (its sessions ended with `pg_terminate_backend`, its role
  kept out for longer than the lease): nothing twice, its claims recovered by the other worker.
- Telegram polling with two workers: one polls (the lease's holder), the other waits and takes
  over when the poller is killed; each update is handled once.

Each test runs in a PostgreSQL schema of its own (MUSTER_TEST_DATABASE_URL; skipped without it).

    MUSTER_TEST_DATABASE_URL=postgresql://root@127.0.0.1:5432/test \\
        pytest tests/reliability/test_postgres_workers.py -s
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from bot.channels.telegram import _plan
from bot.dispatcher import HEARTBEAT_SECONDS, LEASE_SECONDS
from flows.core.settings import FlowSettings
from flows.core.types import Reply
from flows.organiser import sending
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose, parse_audience
from storage import open_database
from storage.db import ts
from storage.postgres import in_schema
from tests.bot.sms_support import ERASURE_SALT
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.postgres.conftest import SKIP, URL
from tests.reliability.live import BATCH, Muster, telegram_update, wait_until

SUPPORTERS = int(os.environ.get("MUSTER_RELIABILITY_PG_SUPPORTERS", "10000"))
KILLS = int(os.environ.get("MUSTER_RELIABILITY_PG_KILLS", "6"))
RATE = 150  # messages (segments) a second per channel, configured on every worker
WINDOW = BATCH * 2  # a worker has at most BATCH sends in flight on each of its two channels
HEARTBEAT = HEARTBEAT_SECONDS  # each worker learns how many share the rate at this interval
SECRET_KEY = "reliability-secret-key-shared-by-workers"


# ---------------------------------------------------------------------- the database, from outside

@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh schema's URL, dropped after the test (with any role the test made)."""
    if not URL:
        pytest.skip(SKIP)
    schema = f"muster_test_{uuid.uuid4().hex[:12]}"

    async def admin(*statements: str) -> None:
        conn = await asyncpg.connect(URL)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(admin(f'CREATE SCHEMA "{schema}"'))
    try:
        yield in_schema(URL, schema)
    finally:
        asyncio.run(admin(f'DROP SCHEMA "{schema}" CASCADE'))


class Pg:
    """Reads and writes from the test process, on a connection of its own (a loop of its own too,
    so a synchronous test can ask between kills)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.conn: asyncpg.Connection = self.run(asyncpg.connect(url, server_settings={"application_name": "test"}))

    def run(self, work: Any) -> Any:
        return self.loop.run_until_complete(work)

    def sql(self, query: str, *args: Any) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.run(self.conn.fetch(query, *args))]

    def close(self) -> None:
        self.run(self.conn.close())
        self.loop.close()

    def migrate(self) -> None:
        async def go() -> None:
            db = await open_database(self.url)
            await db.close()
        self.run(go())

    def seed_supporters(self, n: int) -> tuple[list[str], list[str]]:
        """n opted-in supporters, alternately on Telegram and SMS; returns (chat ids, phones)."""
        stamp = ts(datetime.now(UTC))
        rows, chats, phones = [], [], []
        for i in range(n):
            phone, chat = (f"+4474{i:08d}", None) if i % 2 else (None, 50_000_000 + i)
            (phones.append(phone) if phone else chats.append(str(chat)))
            rows.append((phone, chat, f"Name{i}", "active", "opted_in" if phone else "none",
                         "opted_in" if chat else "none", "sms" if phone else "telegram", stamp))
        self.run(self.conn.executemany(
            "INSERT INTO supporters (phone, telegram_id, first_name, status, sms_consent, telegram_consent,"
            " last_channel, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", rows))
        return chats, phones

    def start_broadcast(self, body: str, count: int) -> int:
        """Create and send a broadcast to everyone, as `muster broadcast create` and `send` do."""
        flow = FlowSettings(sms_quiet_hours="", erasure_salt=ERASURE_SALT, telegram_messages_per_second=RATE,
                            sms_segments_per_second=RATE)

        async def go() -> int:
            db = await open_database(self.url)
            try:
                async with db.transaction() as tx:
                    now = datetime.now(UTC)
                    actor = Actor(trusted=True, label="cli")
                    filters, every = await parse_audience(tx, "all")
                    b = await compose(tx, actor, now, body=body, audience=filters, every=every)
                    b = await sending.confirm(tx, b, actor, now, flow, typed=str(count))
                return b.id
            finally:
                await db.close()
        return int(self.run(go()))

    def outbox_status(self, broadcast_id: int) -> Counter[str]:
        return Counter(dict(self.sql("SELECT status, COUNT(*) FROM outbox WHERE broadcast_id = $1 GROUP BY status",
                                     broadcast_id)))

    def wait_finished(self, broadcast_id: int, timeout: float) -> None:
        def finished() -> bool:
            status = self.outbox_status(broadcast_id)
            return sum(status.values()) > 0 and status["queued"] + status["sending"] == 0
        wait_until(finished, timeout, f"broadcast {broadcast_id} to finish", poll=0.25)

    def claims_of(self, worker: Muster) -> tuple[set[int], set[int]]:
        """The rows a (dead) worker holds: (claimed, of those handed to a provider)."""
        assert worker.proc is not None
        rows = self.sql("SELECT id, handed_at IS NOT NULL FROM outbox WHERE status = 'sending' AND claimed_by LIKE $1",
                        f"%:{worker.proc.pid}:%")
        return {r[0] for r in rows}, {r[0] for r in rows if r[1]}


# ---------------------------------------------------------------------- the providers, timed

class TimedTwilio(FakeTwilioAPI):
    """The fake Twilio, noting when it accepted each message (Telegram's fake keeps a timeline)."""

    def _validate(self, fields: dict[str, Any]) -> None:  # type: ignore[override]
        FakeTwilioAPI._validate(fields)
        fields["_accepted_at"] = time.monotonic()


def telegram_send_times(telegram: FakeTelegramAPI) -> list[float]:
    return sorted(answered for _, answered, method, status, _ in telegram.timeline
                  if status == 200 and method in ("sendMessage", "sendDocument"))


def max_per_second(times: list[float], seconds: float = 1.0) -> int:
    """The most sends in any window of `seconds`."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= seconds:
            start += 1
        best = max(best, end - start + 1)
    return best


def worker_env(url: str, name: str, **extra: str) -> dict[str, str]:
    return {"MUSTER_DATABASE_URL": url, "MUSTER_SECRET_KEY": SECRET_KEY, "MUSTER_DEMO": "false",
            "TELEGRAM_MESSAGES_PER_SECOND": str(RATE), "SMS_SEGMENTS_PER_SECOND": str(RATE)} | extra


_STARTED: list[Muster] = []


@pytest.fixture(autouse=True)
def _no_worker_left() -> Iterator[None]:
    """A test that fails part-way leaves no worker running (it would hold the leases)."""
    yield
    while _STARTED:
        _STARTED.pop().kill()


def workers(tmp_path: Path, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI, url: str, n: int,
            **extra: str) -> list[Muster]:
    made = _STARTED
    for i in range(n):
        (tmp_path / f"w{i}").mkdir()
        made.append(Muster(tmp_path / f"w{i}", telegram, twilio, **worker_env(url, f"w{i}", **extra)))
    return made


# ---------------------------------------------------------------------- webhooks, as providers retry them

class Webhooks:
    """Posts inbound webhooks to a random worker, one after another, in a thread; a worker that does
    not answer (killed, starting) or answers 5xx gets it again elsewhere, as the provider retries."""

    def __init__(self, pool: list[Muster], seed: int) -> None:
        self.pool = pool
        self.rng = random.Random(seed)
        self.posted: list[tuple[str, str]] = []  # (channel, address) of each one answered 200
        self.retries = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Webhooks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)

    def _run(self) -> None:
        with httpx.Client() as http:
            n = 0
            while not self._stop.is_set():
                self._deliver(http, n)
                n += 1
                time.sleep(0.05)

    def _deliver(self, http: httpx.Client, n: int) -> None:
        sms = n % 2 == 1
        address = f"+4475{n:08d}" if sms else str(80_000_000 + n)
        while True:
            worker = self.rng.choice(self.pool)
            try:
                if sms:
                    answer = worker.post_sms(http, f"SM{n:032d}", "HELP", address, timeout=10)
                else:
                    answer = worker.post_telegram(http, telegram_update(900_000 + n, int(address), text="HELP"),
                                                  timeout=10)
                if answer.status_code == 200:
                    self.posted.append(("sms" if sms else "telegram", address))
                    return
                assert answer.status_code >= 500, (answer.status_code, answer.text)
            except httpx.TransportError:
                pass
            self.retries += 1
            time.sleep(0.05)


def check_replies(pg: Pg, webhooks: Webhooks, telegram: FakeTelegramAPI, twilio: FakeTwilioAPI) -> dict[str, int]:
    """Each webhook handled once; every reply row received at most once, exactly once when `sent`."""
    seen = pg.sql("SELECT provider_id FROM inbound_seen")
    assert len(seen) == len({p for (p,) in seen}) == len(webhooks.posted)
    tg_calls = Counter(str(m["chat_id"]) for m in telegram.sent_messages())
    tg_calls.update(str(m["chat_id"]) for m in telegram.calls_of("sendDocument"))
    sms_calls = Counter(m["To"] for m in twilio.messages)
    figures: Counter[str] = Counter()
    for channel, address in webhooks.posted:
        rows = pg.sql("SELECT status, payload FROM outbox WHERE channel = $1 AND address = $2 AND broadcast_id IS NULL",
                      channel, address)
        assert rows, f"{channel} {address}: no reply"
        if channel == "telegram":
            calls = [len(_plan(Reply.from_payload(p), private=True)) for _, p in rows]
            got = tg_calls[address]
        else:
            calls = [1 for _ in rows]
            got = sms_calls[address]
        sent = sum(c for (state, _), c in zip(rows, calls, strict=True) if state == "sent")
        maybe = sum(c for (state, _), c in zip(rows, calls, strict=True) if state == "unknown")
        assert {state for state, _ in rows} <= {"sent", "unknown"}, rows
        assert sent <= got <= sent + maybe, f"{channel} {address}: {got} calls for {rows}"
        figures["replies"] += len(rows)
        figures["replies_unknown"] += sum(state == "unknown" for state, _ in rows)
    return dict(figures)


def check_broadcast(pg: Pg, broadcast_id: int, body: str, chats: list[str], phones: list[str],
                    telegram: FakeTelegramAPI, twilio: FakeTwilioAPI) -> dict[str, int]:
    """Per recipient: one outbox row, received at most once, exactly once unless `unknown`."""
    rows = {(c, a): s for c, a, s in pg.sql("SELECT channel, address, status FROM outbox WHERE broadcast_id = $1",
                                            broadcast_id)}
    assert len(rows) == len(chats) + len(phones)
    tg = Counter(str(m["chat_id"]) for m in telegram.sent_messages() if body in m["text"])
    sms = Counter(m["To"] for m in twilio.messages if body in m["Body"])
    figures: Counter[str] = Counter()
    for channel, counts, addresses in (("telegram", tg, chats), ("sms", sms, phones)):
        assert set(counts) <= set(addresses)
        for address in addresses:
            state, got = rows[(channel, address)], counts[address]
            figures["duplicates"] += got > 1
            assert got <= 1, f"{channel} {address} received the broadcast {got} times"
            if state == "sent":
                assert got == 1, f"{channel} {address} marked sent but never received"
            else:
                assert state == "unknown", f"{channel} {address} left {state}"
                figures["unknown"] += 1
                figures["unknown_received"] += got
            figures["received"] += got
    return dict(figures)


# ---------------------------------------------------------------------- the tests

def test_three_workers_killed_at_random_send_each_message_at_most_once_and_keep_the_pace(
        tmp_path: Path, pg_url: str) -> None:
    began = time.monotonic()
    rng = random.Random(21)
    pg = Pg(pg_url)
    delay = (0.0, 0.004)
    with FakeTelegramAPI(delay=delay, seed=21) as telegram, \
            TimedTwilio(auth=(ACCOUNT_SID, AUTH_TOKEN), delay=delay, seed=21) as twilio:
        pool = workers(tmp_path, telegram, twilio, pg_url, 3)
        pg.migrate()
        chats, phones = pg.seed_supporters(SUPPORTERS)
        for worker in pool:
            worker.start()
        first_up = time.monotonic()
        killed: list[tuple[set[int], set[int]]] = []
        with Webhooks(pool, seed=21) as webhooks:
            # Until every worker has beaten once with all three alive, the first ones pace at a larger share.
            time.sleep(max(0.0, first_up + HEARTBEAT + 1 - time.monotonic()))
            body = "Three workers: march on Saturday, 11am at the square."
            paced_from = time.monotonic()
            broadcast_id = pg.start_broadcast(body, SUPPORTERS)

            def sent() -> int:
                return telegram.call_count + twilio.message_count

            before = sent()
            # Kills in the first half, so the lease of the last one runs out before the broadcast would end.
            for point in sorted(rng.sample(range(200, SUPPORTERS // 2), KILLS)):
                wait_until(lambda point=point: sent() - before >= point, 180, f"{point} messages")
                victim = rng.choice(pool)
                victim.kill()
                claimed, handed = pg.claims_of(victim)
                assert len(claimed) <= WINDOW, len(claimed)
                killed.append((claimed, handed))
                victim.start()
            pg.wait_finished(broadcast_id, 240)
            paced_until = time.monotonic()
        wait_until(lambda: pg.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0] == 0,
                   120, "every reply settled")
        for worker in pool:
            assert worker.stop() in (0, -signal.SIGTERM)

        figures = check_broadcast(pg, broadcast_id, body, chats, phones, telegram, twilio)
        figures |= check_replies(pg, webhooks, telegram, twilio)
        # What became `unknown` is exactly what the killed workers had handed to a provider: at most
        # their in-flight window each; what they had claimed but not handed went out from another worker.
        unknown = {r[0] for r in pg.sql("SELECT id FROM outbox WHERE status = 'unknown'")}
        handed_at_kills = set().union(*(h for _, h in killed))
        assert unknown == handed_at_kills, (len(unknown), len(handed_at_kills))
        assert all(len(h) <= WINDOW for _, h in killed)
        # Pacing, measured at the fakes over the broadcast (all three workers' sends together).
        tg_times = [t for t in telegram_send_times(telegram) if paced_from <= t <= paced_until]
        sms_times = sorted(m["_accepted_at"] for m in twilio.messages if paced_from <= m["_accepted_at"] <= paced_until)
        tg_max, sms_max = max_per_second(tg_times), max_per_second(sms_times)
        tg_5s, sms_5s = max_per_second(tg_times, 5), max_per_second(sms_times, 5)
        # Each worker keeps to its share in every second it sends in, and a worker that joins sends nothing
        # until the others have taken their smaller share, so the workers together keep to the rate. What the
        # fakes see is the same sends after their trip through the network and the test process's scheduler,
        # on a machine shared with the workers and the database: a send held up there reaches the fake beside
        # the next ones. So any one second at the fake may hold a few more than the rate; any five seconds,
        # over which such delays even out, hold five seconds' worth and what such a delay at either end of
        # the window can bring in: a tenth of a second's sends (now that the workers reach the full rate).
        edge = RATE // 10
        assert tg_5s <= 5 * RATE + edge and sms_5s <= 5 * RATE + edge, (tg_5s, sms_5s)
        assert tg_max <= RATE * 1.15 and sms_max <= RATE * 1.15, (tg_max, sms_max)
    for worker in pool:
        worker.clean_log()
    pg.close()
    print("\npostgres-workers:", json.dumps(figures | {
        "supporters": SUPPORTERS, "workers": 3, "kills": KILLS, "window": WINDOW,
        "claimed_at_kills": [len(c) for c, _ in killed], "handed_at_kills": [len(h) for _, h in killed],
        "webhooks": len(webhooks.posted), "webhook_retries": webhooks.retries,
        "rate": RATE, "max_per_second_telegram": tg_max, "max_per_second_sms": sms_max,
        "max_per_5_seconds_telegram": tg_5s, "max_per_5_seconds_sms": sms_5s,
        "seconds": round(time.monotonic() - began, 1)}))


def test_a_worker_cut_off_from_the_database_sends_nothing_twice_and_its_claims_are_recovered(
        tmp_path: Path, pg_url: str) -> None:
    began = time.monotonic()
    pg = Pg(pg_url)
    role = f"muster_cut_{uuid.uuid4().hex[:8]}"
    # The worker to be cut off logs in as a role of its own, so that it can be kept out after its
    # sessions are ended; a member of ours, it may use (and migrate) what we own.
    pg.sql(f'CREATE ROLE "{role}" LOGIN')
    pg.sql(f'GRANT "{pg.sql("SELECT current_user")[0][0]}" TO "{role}"')
    supporters = 3000
    try:
        # Providers slow to answer (0.3 to 0.6 s), so a worker holds many sends handed over at any moment.
        delay = (0.3, 0.6)
        with FakeTelegramAPI(delay=delay, seed=5) as telegram, \
                TimedTwilio(auth=(ACCOUNT_SID, AUTH_TOKEN), delay=delay, seed=5) as twilio:
            survivor, cut = workers(tmp_path, telegram, twilio, pg_url, 2)
            parts = pg_url.split("://", 1)
            cut.env["MUSTER_DATABASE_URL"] = f"{parts[0]}://{role}@{parts[1].split('@', 1)[1]}"
            pg.migrate()
            chats, phones = pg.seed_supporters(supporters)
            survivor.start()
            cut.start()
            time.sleep(HEARTBEAT + 1)  # the second to start sends once the first has counted it
            body = "Cut off: the rally moves to the town hall."
            broadcast_id = pg.start_broadcast(body, supporters)
            assert cut.proc is not None
            app = f"muster:{cut.proc.pid}@%"

            def holds() -> int:
                return len(pg.claims_of(cut)[1])

            wait_until(lambda: holds() >= 10, 60, "the worker to be cut off holding claims it handed over")
            pg.sql(f'ALTER ROLE "{role}" NOLOGIN')
            # Each session is waited for until it has gone (a timeout): a hand-over being committed as the
            # signal arrives still commits, and the claims are read only once none can change.
            ended = pg.sql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                           " WHERE application_name LIKE $1", app)
            assert ended and all(ok for (ok,) in ended), ended
            for _ in range(3):  # a session that logged in just before NOLOGIN took effect is ended too
                if not pg.sql("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity"
                              " WHERE application_name LIKE $1", app):
                    break
            cut_at = time.monotonic()
            claimed, handed = pg.claims_of(cut)
            assert handed and len(claimed) <= WINDOW, (len(claimed), len(handed))

            # Within the lease nobody touches its claims; after it, the survivor recovers them.
            time.sleep(LEASE_SECONDS / 2)
            assert pg.claims_of(cut) == (claimed, handed)

            def recovered() -> bool:
                return not pg.claims_of(cut)[0]

            wait_until(recovered, LEASE_SECONDS + HEARTBEAT + 10, "the cut-off worker's claims recovered")
            recovered_after = time.monotonic() - cut_at
            states = dict(pg.sql("SELECT id, status FROM outbox WHERE id = ANY($1::bigint[])", list(claimed)))
            assert {i for i, s in states.items() if s == "unknown"} == handed  # may have gone: never resent
            assert cut.proc.poll() is None  # still running, only cut off
            pg.sql(f'ALTER ROLE "{role}" LOGIN')  # back: it carries on beside the survivor
            pg.wait_finished(broadcast_id, 180)
            assert survivor.stop() in (0, -signal.SIGTERM)
            assert cut.stop() in (0, -signal.SIGTERM)
            figures = check_broadcast(pg, broadcast_id, body, chats, phones, telegram, twilio)
            unknown = {r[0] for r in pg.sql("SELECT id FROM outbox WHERE status = 'unknown'")}
            assert unknown == handed
        survivor.clean_log()
        assert "could not record this worker's heartbeat" in cut.log()  # it knew it was cut off
    finally:
        pg.sql(f'DROP OWNED BY "{role}"')
        pg.sql(f'DROP ROLE "{role}"')
        pg.close()
    print("\npostgres-cut-off:", json.dumps(figures | {
        "supporters": supporters, "claimed_when_cut": len(claimed), "handed_when_cut": len(handed),
        "recovered_after_seconds": round(recovered_after, 1), "lease": LEASE_SECONDS,
        "seconds": round(time.monotonic() - began, 1)}))


def test_telegram_polling_with_two_workers_polls_in_one_and_the_other_takes_over(
        tmp_path: Path, pg_url: str) -> None:
    pg = Pg(pg_url)
    with FakeTelegramAPI(delay=(0.0, 0.002), seed=7) as telegram, \
            FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN), seed=7) as twilio:
        pool = workers(tmp_path, telegram, twilio, pg_url, 2, TELEGRAM_WEBHOOK_URL="", TELEGRAM_POLL_TIMEOUT="1")
        pg.migrate()
        for worker in pool:
            worker.start()

        def handled() -> int:
            return int(pg.sql("SELECT COUNT(*) FROM inbound_seen")[0][0])

        def poller() -> Muster:
            def one() -> bool:
                return sum("holds the polling lease" in w.log() for w in pool
                           if w.proc is not None and w.proc.poll() is None) == 1
            wait_until(one, 30, "one worker polling")
            return next(w for w in pool if "holds the polling lease" in w.log())

        first = poller()
        other = next(w for w in pool if w is not first)
        wait_until(lambda: "another worker polls" in other.log(), 30, "the other worker waiting")
        for n in range(40):
            telegram.push_update(telegram_update(5000 + n, 71_000 + n, text="HELP"))
        wait_until(lambda: handled() == 40, 60, "the first 40 updates handled")
        first.kill()
        killed_at = time.monotonic()
        for n in range(40, 80):
            telegram.push_update(telegram_update(5000 + n, 71_000 + n, text="HELP"))
        wait_until(lambda: "holds the polling lease" in other.log(), 30, "the other worker taking over")
        wait_until(lambda: handled() == 80, 60, "every update handled")
        first.start()  # back, it waits: the lease is taken
        wait_until(lambda: first.log().count("another worker polls") >= 1, 30, "the restarted worker waiting")
        for n in range(80, 100):
            telegram.push_update(telegram_update(5000 + n, 71_000 + n, text="HELP"))
        wait_until(lambda: handled() == 100, 60, "the last updates handled")
        for worker in pool:
            assert worker.stop() in (0, -signal.SIGTERM)

    seen = pg.sql("SELECT provider_id FROM inbound_seen")
    assert len(seen) == len({p for (p,) in seen}) == 100
    # One poller at a time: no two getUpdates calls overlap, apart from the killed poller's last one.
    polls = sorted((a, b) for a, b, method, _, _ in telegram.timeline if method == "getUpdates")
    overlaps = [(p, q) for p, q in zip(polls, polls[1:], strict=False) if q[0] < p[1] - 0.01
                and not p[0] <= killed_at <= p[1] + 0.01]
    assert not overlaps, overlaps[:3]
    said = [w.log().count("another worker polls") for w in pool]
    assert said[pool.index(other)] == 1  # said once while waiting, not at every try
    for worker in pool:
        worker.clean_log()
    pg.close()
