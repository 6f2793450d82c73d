"""The organisers' console at scale: server time of each page on a database the size of a national movement.

    python benchmarks/bench_console.py [--supporters 100000] [--outbox 1000000] [--groups 200] [--requests 200]

Builds a file database with the real migrations (supporters with interests, consent history,
referrals, RSVPs; broadcasts whose messages fill the outbox; local groups with organisers), then
and an action alert of 100,000 messages half-way through sending, with SMS receipts, failures by
error code, unknown messages and answers), then
serves the console from a Service built on it and asks each page many times, in-process through
httpx's ASGI transport, signed in through a session row as an admin and as the organiser of one
local group. Each request is timed from the moment the app is called to its last byte (server
time: no network, no client). Prints JSON: how long the build took, and per page the requests
made and their p50 and p95 in milliseconds. Targets: every page p95 < 150 ms; the supporter
search p95 < 100 ms; a 100,000-message broadcast's report page and its progress JSON < 300 ms.
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
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from starlette.types import ASGIApp, Receive, Scope, Send  # noqa: E402

from bot.config import load  # noqa: E402
from bot.service import Service  # noqa: E402
from flows.core.clock import FakeClock  # noqa: E402
from flows.organiser.signin import Identity, start_session  # noqa: E402
from storage import broadcast_results, open_database  # noqa: E402
from storage.db import ts  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
ADMIN_PHONE = "+447700900001"
LOCAL_PHONE = "+447700900002"
NAMES = ("Aaliyah Adam Aisha Alex Ali Amelia Amir Ana Andrew Anna Arthur Ava Ben Bethan Carys Charlie Chloe "
         "Chris Daniel David Dylan Eilidh Ella Emily Emma Erin Ethan Evie Fatima Finn Freya George Grace Hannah "
         "Harry Harvey Isaac Isla Jack Jacob James Jamie Jessica Joe John Joseph Josh Kai Katie Leah Leo Liam "
         "Lily Louis Lucy Luke Maisie Maria Mark Mason Megan Mia Michael Mohammed Molly Muhammad Nathan Niamh "
         "Noah Olivia Oscar Owen Paul Peter Phoebe Poppy Priya Rachel Rhys Rosie Ruby Ryan Sam Sara Sarah Sean "
         "Sophie Stephen Thomas Tom Tyler Wiktoria William Yusuf Zara Zoe").split()
INTERESTS = ("housing", "jobs_pay", "benefits_disability", "voter_registration", "elections")
LETTERS = "ABCDEFGHJKLMNPRSTUWY"


def area_of(group: int) -> str:
    """A made-up outward code per group ('A1', 'B1', …), postcode-shaped."""
    return f"{LETTERS[group % len(LETTERS)]}{group // len(LETTERS) + 1}"


def _consent(rng: random.Random) -> str:
    roll = rng.random()
    return "opted_in" if roll < 0.85 else "opted_out" if roll < 0.93 else "none"


def build(path: Path, supporters: int, outbox_rows: int, group_count: int, seed: int = 7,
          report_size: int = 100_000) -> dict[str, Any]:
    """Fill the (migrated, empty) database at `path`; returns what the measurements need."""
    rng = random.Random(seed)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("BEGIN")
    stamp = ts(NOW)
    conn.executemany("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                     [(g, f"Group {g:03d}", stamp) for g in range(1, group_count + 1)])
    conn.executemany("INSERT INTO group_areas (area, group_id) VALUES (?, ?)",
                     [(area_of(g), g) for g in range(1, group_count + 1)])
    span = timedelta(days=730).total_seconds()
    people, interests, consents, kinds = [], [], [], {}
    for i in range(1, supporters + 1):
        joined = NOW - timedelta(seconds=span * (supporters - i) / supporters)
        roll = rng.random()
        status = "erased" if roll < 0.02 else "new" if roll < 0.05 else "active"
        kind = i % 3  # 0: SMS only, 1: Telegram only, 2: both
        group = rng.randint(1, group_count) if rng.random() < 0.92 else None
        name = rng.choice(NAMES) if status != "erased" and (status == "active" or rng.random() < 0.5) else None
        phone = f"+447{400000000 + i:09d}" if kind != 1 and status != "erased" else None
        telegram = 5_000_000_000 + i if kind != 0 and status != "erased" else None
        sms, tg = (_consent(rng) if phone else "none"), (_consent(rng) if telegram else "none")
        if status != "active":
            sms, tg = "none", "none"
        area = area_of(group) if group else "ZZ9"
        postcode = f"{area} {rng.randint(1, 9)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}" if name else None
        email = f"{name.lower()}.{i}@example.org" if name and rng.random() < 0.5 else None
        referred = rng.randint(1, i - 1) if i > 1 and rng.random() < 0.1 else None
        last = "sms" if kind == 0 or (kind == 2 and i % 2) else "telegram"
        seen = ts(joined + timedelta(days=rng.randint(0, 60)))
        people.append((i, phone, telegram, name, email, postcode, area if postcode else None, group, status, sms, tg,
                       last, ts(joined), seen, referred))
        kinds[i] = (phone, telegram, sms, tg)
        if status == "active":
            interests += [(i, topic) for topic in rng.sample(INTERESTS, rng.choice((0, 1, 1, 2, 3)))]
            for channel, state in (("sms", sms), ("telegram", tg)):
                if state != "none":
                    consents.append((i, channel, "opt_in", "flow", "signup-v1", None, ts(joined)))
                if state == "opted_out":
                    consents.append((i, channel, "opt_out", "keyword", None, None, ts(joined + timedelta(days=30))))
    conn.executemany(
        "INSERT INTO supporters (id, phone, telegram_id, first_name, email, postcode, area, group_id, status, "
        "sms_consent, telegram_consent, last_channel, created_at, last_seen_at, referred_by) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", people)
    conn.executemany("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)", interests)
    conn.executemany("INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, reason, at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", consents)
    reachable = [i for i, (phone, telegram, sms, tg) in kinds.items() if sms == "opted_in" or tg == "opted_in"]
    broadcasts = max(1, round(outbox_rows / max(1, len(reachable))))
    per = outbox_rows // broadcasts
    # Indexes are quicker built once over a million rows than kept up row by row: drop the outbox's
    # (all but the unique key's), fill it, and make them again exactly as the migrations did.
    indexes = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'outbox' "
                           "AND sql IS NOT NULL").fetchall()
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    for b in range(1, broadcasts + 1):
        started = NOW - timedelta(days=7 * (broadcasts - b + 1))
        conn.execute(
            "INSERT INTO broadcasts (id, body, status, created_by, recipients, created_at, started_at, finished_at) "
            "VALUES (?, ?, 'sent', 'cli', ?, ?, ?, ?)",
            (b, f"Broadcast {b}: the rally is on Saturday, bring a friend.", per, ts(started), ts(started),
             ts(started + timedelta(hours=3))))
        rows = []
        moments = [ts(started + timedelta(seconds=k)) for k in range(10_000)]
        for sid in sorted(rng.sample(reachable, min(per, len(reachable)))):
            phone, telegram, sms, tg = kinds[sid]
            channel = "sms" if sms == "opted_in" and (tg != "opted_in" or sid % 2) else "telegram"
            address = phone if channel == "sms" else str(telegram)
            roll = rng.random()
            status = "sent" if roll < 0.95 else "failed" if roll < 0.98 else "unknown"
            when = moments[rng.randrange(10_000)]
            rows.append((channel, address, sid, '{"text": "Broadcast"}', 10, status, 1, when, f"b:{b}:{sid}", b,
                         f"P{b}x{sid}" if status == "sent" else None, when, when))
        conn.executemany(
            "INSERT INTO outbox (channel, address, supporter_id, payload, priority, status, attempts, not_before, "
            "dedupe_key, broadcast_id, provider_id, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    report_id = broadcasts + 1
    report_rows = _report_broadcast(conn, rng, report_id, kinds, report_size)
    for _, sql in indexes:
        conn.execute(sql)
    events, rsvps = [], []
    for e in range(1, 401):
        start = NOW + timedelta(days=rng.randint(-200, 60), hours=rng.randint(0, 10))
        events.append((e, f"ev{e:08d}", f"Meeting {e}", ts(start), ts(start + timedelta(hours=2)),
                       rng.randint(1, group_count), "confirmed", stamp, stamp))
        for sid in rng.sample(range(1, supporters + 1), min(50, supporters)):
            rsvps.append((e, sid, rng.choice(("going", "going", "maybe", "declined")), stamp, stamp))
    conn.executemany("INSERT INTO events (id, public_id, title, starts_at, ends_at, group_id, status, created_at, "
                     "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
    conn.executemany("INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)", rsvps)
    conn.execute("INSERT INTO organisers (phone, role, created_at) VALUES (?, 'admin', ?)", (ADMIN_PHONE, stamp))
    conn.execute("INSERT INTO organisers (phone, role, group_id, created_at) VALUES (?, 'organiser', 1, ?)",
                 (LOCAL_PHONE, stamp))
    conn.execute("COMMIT")
    local = [r[0] for r in conn.execute("SELECT id FROM supporters WHERE group_id = 1 AND status <> 'erased'")]
    listed = [p[0] for p in people if p[8] != "erased"]
    conn.close()
    return {"supporters": listed, "local": local, "broadcasts": broadcasts, "report": report_id,
            "report_messages": report_rows}


REPORT_CODES = ("30003", "30003", "30005", "30006", "30007", "30007", "30008", "21610", "21211", "21614")


def _report_broadcast(conn: sqlite3.Connection, rng: random.Random, broadcast_id: int,
                      kinds: dict[int, tuple[str | None, int | None, str, str]], size: int) -> int:
    """An action alert of `size` messages (every channel of every supporter until there are that many),
    started an hour ago: 80% gone (SMS with receipts: most delivered, some undelivered by code), some
    failed and unknown, 20% still queued; answers DONE / CAN'T, opt-outs and replies since."""
    started = NOW - timedelta(hours=1)
    conn.execute(
        "INSERT INTO broadcasts (id, kind, body, status, cta_text, created_by, recipients, created_at, started_at) "
        "VALUES (?, 'alert', ?, 'sending', 'Register now', 'cli', ?, ?, ?)",
        (broadcast_id, "Register to vote by midnight: it takes five minutes.", size, ts(started), ts(started)))
    rows, receipts, answers, opt_outs, seen = [], [], [], [], []
    for sid, (phone, telegram, _, _) in kinds.items():
        for channel, address in (("sms", phone), ("telegram", telegram)):
            if address is None or len(rows) >= size:
                continue
            roll = rng.random()
            status = ("queued" if roll < 0.2 else "failed" if roll < 0.22 else "unknown" if roll < 0.23 else "sent")
            provider = f"R{broadcast_id}x{sid}{channel[0]}" if status == "sent" else None
            code = rng.choice(REPORT_CODES) if status == "failed" else "timeout" if status == "unknown" else None
            when = ts(started + timedelta(seconds=len(rows) // 30))
            rows.append((channel, str(address), sid, '{"text": "Register"}', 10, status, 1, when,
                         f"r:{broadcast_id}:{sid}:{channel}", broadcast_id, provider, code, when, when))
            if provider and channel == "sms":
                fate = rng.random()
                final = "delivered" if fate < 0.93 else "undelivered" if fate < 0.97 else "sent"
                receipts.append(("sms", provider, final, 4 if final != "sent" else 3,
                                 rng.choice(REPORT_CODES[:7]) if final == "undelivered" else None, when))
            if status == "sent":
                answer = rng.random()
                if answer < 0.35:
                    answers.append((broadcast_id, sid, "done" if answer < 0.3 else "cant", when))
                if rng.random() < 0.002:
                    opt_outs.append((sid, channel, "opt_out", "keyword", None, None,
                                     ts(started + timedelta(minutes=rng.randint(1, 50)))))
                if rng.random() < 0.02:
                    seen.append((ts(started + timedelta(minutes=rng.randint(1, 55))), sid))
    conn.executemany(
        "INSERT INTO outbox (channel, address, supporter_id, payload, priority, status, attempts, not_before, "
        "dedupe_key, broadcast_id, provider_id, error_code, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO deliveries (channel, provider_id, status, stage, error_code, updated_at) "
                     "VALUES (?, ?, ?, ?, ?, ?)", receipts)
    conn.executemany("INSERT OR REPLACE INTO alert_responses (broadcast_id, supporter_id, response, at) "
                     "VALUES (?, ?, ?, ?)", answers)
    conn.executemany("INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, reason, at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", opt_outs)
    conn.executemany("UPDATE supporters SET last_seen_at = ? WHERE id = ?", seen)
    return len(rows)


class Timed:
    """Times each request from the app being called to its last byte (server time)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        await self.app(scope, receive, send)
        self.last = time.perf_counter() - started


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def measure(path: Path, built: dict[str, Any], requests: int, seed: int = 11) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    db = await open_database(str(path))
    service = Service(load(db_path=path, demo=False, sms_quiet_hours=""), FakeClock(NOW), db=db)
    timed = Timed(service.app)
    results: dict[str, dict[str, Any]] = {}
    try:
        cookies = {}
        async with db.transaction() as tx:
            for who, phone in (("admin", ADMIN_PHONE), ("local", LOCAL_PHONE)):
                cookies[who] = await start_session(tx, Identity("sms", phone), "bench", NOW)
            await broadcast_results.count_groups(tx, built["report"])  # as the alert's start did
        everyone, local = built["supporters"], built["local"]
        report = f"/console/broadcasts/{built['report']}/report"
        names = [n.lower()[:k] for n in NAMES for k in (1, 2, 3)]
        pages: dict[str, tuple[str, Callable[[], str]]] = {
            "overview (admin)": ("admin", lambda: "/console/"),
            "overview (local organiser)": ("local", lambda: "/console/"),
            "supporters (admin)": ("admin", lambda: "/console/supporters"),
            "supporters (local organiser)": ("local", lambda: "/console/supporters"),
            "supporters by name (admin)": ("admin", lambda: "/console/supporters?sort=name"),
            "search name (admin)": ("admin", lambda: f"/console/supporters?q={rng.choice(names)}"),
            "search name (local organiser)": ("local", lambda: f"/console/supporters?q={rng.choice(names)}"),
            "search name, by name (admin)": ("admin", lambda: f"/console/supporters?q={rng.choice(names)}&sort=name"),
            "search phone digits (admin)": ("admin", lambda: f"/console/supporters?q={rng.randint(1000, 99999)}"),
            "search phone 07… (admin)": ("admin", lambda: f"/console/supporters?q=074{rng.randint(0, 9999):04d}"),
            "search email (admin)": (
                "admin", lambda: f"/console/supporters?q={rng.choice(NAMES).lower()}.{rng.randint(1, 999)}%40"),
            "search postcode (admin)": ("admin", lambda: f"/console/supporters?q={area_of(rng.randint(1, 200))}"),
            "filters: interest + SMS opted in (admin)": (
                "admin", lambda: f"/console/supporters?interest={rng.choice(INTERESTS)}&consent=sms:opted_in"),
            "filters: Telegram opted out + joined range (admin)": (
                "admin", lambda: "/console/supporters?consent=telegram:opted_out&joined_from=2025-06-01"
                                 "&joined_to=2025-12-31"),
            "filters: group + name sort (admin)": (
                "admin", lambda: f"/console/supporters?group={rng.randint(1, 200)}&sort=name"),
            "filters: nothing matches (admin)": (
                "admin", lambda: "/console/supporters?consent=sms:not_asked&interest=elections&channel=telegram"
                                 "&joined_from=2026-11-29"),
            "filters: interest + Telegram opted out, by name (admin)": (
                "admin", lambda: f"/console/supporters?interest={rng.choice(INTERESTS)}&consent=telegram:opted_out"
                                 "&sort=name"),
            "filters: a few hundred match, by name (admin)": (
                "admin", lambda: "/console/supporters?consent=sms:not_asked&interest=elections&channel=telegram"
                                 "&sort=name"),
            "supporter page (admin)": ("admin", lambda: f"/console/supporters/{rng.choice(everyone)}"),
            "supporter page (local organiser)": ("local", lambda: f"/console/supporters/{rng.choice(local)}"),
            "broadcast report (admin)": ("admin", lambda: f"{report}"),
            "broadcast report progress JSON (admin)": ("admin", lambda: f"{report}/progress"),
            "report recipients (admin)": ("admin", lambda: f"{report}/recipients"),
            "report recipients, failed (admin)": ("admin", lambda: f"{report}/recipients?status=failed"),
            "report recipients, unknown (admin)": ("admin", lambda: f"{report}/recipients?status=unknown"),
        }
        transport = httpx.ASGITransport(app=timed)
        clients = {who: httpx.AsyncClient(transport=transport, base_url="http://console.test",
                                          cookies={"muster_session": secret}) for who, secret in cookies.items()}
        try:
            for label, (who, url) in pages.items():
                client = clients[who]
                times: list[float] = []
                next_times: list[float] = []  # the next page: the link the first page gave, followed
                for _ in range(requests):
                    got = await client.get(url())
                    if got.status_code != 200:
                        raise SystemExit(f"{label}: {got.status_code} {got.text[:300]}")
                    times.append(timed.last)
                    link = _next_link(got.text)
                    if link and label.startswith(("supporters", "filters", "report recipients")):
                        again = await client.get(link)
                        if again.status_code != 200:
                            raise SystemExit(f"{label}, next page: {again.status_code} {again.text[:300]}")
                        next_times.append(timed.last)
                results[label] = _figures(times)
                if next_times:
                    results[f"{label}, next page"] = _figures(next_times)
        finally:
            for client in clients.values():
                await client.aclose()
    finally:
        await db.close()
    return results


def _next_link(html: str) -> str | None:
    marker = 'rel="next" href="'
    at = html.find(marker)
    if at < 0:
        return None
    end = html.find('"', at + len(marker))
    return html[at + len(marker):end].replace("&amp;", "&")


def _figures(times: list[float]) -> dict[str, Any]:
    return {"requests": len(times), "p50_ms": round(statistics.median(times) * 1000, 1),
            "p95_ms": round(percentile(times, 0.95) * 1000, 1)}


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "console.db"
        db = await open_database(str(path))
        await db.close()
        started = time.perf_counter()
        built = build(path, args.supporters, args.outbox, args.groups, report_size=args.report)
        build_seconds = time.perf_counter() - started
        pages = await measure(path, built, args.requests)
    search = [v["p95_ms"] for k, v in pages.items() if k.startswith("search")]
    report = [v["p95_ms"] for k, v in pages.items() if k.startswith(("broadcast report", "report recipients"))]
    return {
        "supporters": args.supporters, "outbox_rows": args.outbox, "groups": args.groups,
        "build_seconds": round(build_seconds, 1), "pages": pages,
        "worst_page_p95_ms": max(v["p95_ms"] for v in pages.values()),
        "worst_search_p95_ms": max(search) if search else None,
        "report_messages": built["report_messages"], "worst_report_p95_ms": max(report) if report else None,
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--outbox", type=int, default=1_000_000, help="outbox rows (broadcast messages)")
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="requests per page")
    parser.add_argument("--report", type=int, default=100_000, help="messages of the broadcast whose report is read")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
