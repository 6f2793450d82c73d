"""The public pages at scale: server time of each page and form on a database the size of a national movement.

    python benchmarks/bench_public.py [--supporters 100000] [--events 5000] [--groups 200] [--requests 300]

Builds a file database with the real migrations (local groups, supporters, published events, most
still to come, with RSVPs; confirmation requests answered YES), then serves the public pages from
a Service built on it and asks each many times, in-process through httpx's ASGI transport: an
event's page (and the same page for a browser whose RSVP was confirmed, which shows the private
address), the national listing, a group's listing by slug and by id, the sign-up page, the
stylesheet, and the two forms posted (an RSVP and a sign-up, each queueing its confirmation text).
Each request is timed from the moment the app is called to its last byte (server time: no network,
no client). Prints JSON: how long the build took, and per page the requests made and their p50 and
p95 in milliseconds. Target: every page and form p95 < 50 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import re
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
from bot.web.public.views import slug  # noqa: E402
from flows.core.clock import FakeClock  # noqa: E402
from storage import open_database, suppression  # noqa: E402
from storage.db import ts  # noqa: E402

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
SALT = "muster-sandbox-erasure-salt"  # the sandbox's (FlowSettings' default)
TOWNS = ("Leeds", "Bristol", "Cardiff", "Glasgow", "Hull", "York", "Derby", "Bangor", "Swansea", "Luton", "Dundee",
         "Exeter", "Norwich", "Preston", "Stoke", "Wigan", "Oldham", "Bolton", "Salford", "Belfast")
TITLES = ("Tenants' meeting", "Door knocking", "Voter registration stall", "Rally for fair rents", "Phone bank",
          "Canvass training", "Street stall", "Public meeting on benefits", "Housing action night")


def build(path: Path, supporters: int, events: int, groups: int, seed: int = 7) -> dict[str, Any]:
    """Fill the migrated database at `path`; returns what the requests pick from."""
    rng = random.Random(seed)
    stamp = ts(NOW - timedelta(days=30))
    conn = sqlite3.connect(path)
    conn.execute("BEGIN")
    names = [f"{TOWNS[g % len(TOWNS)]} {('Central', 'North', 'South', 'East', 'West')[g // len(TOWNS) % 5]}"
             f"{'' if g < len(TOWNS) * 5 else f' {g}'}" for g in range(groups)]
    conn.executemany("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                     [(g + 1, name, stamp) for g, name in enumerate(names)])
    conn.executemany("INSERT INTO supporters (id, phone, first_name, group_id, status, sms_consent, created_at) "
                     "VALUES (?, ?, 'X', ?, 'active', 'opted_in', ?)",
                     [(i, f"+447400{i:06d}", rng.randint(1, groups), stamp) for i in range(1, supporters + 1)])
    rows, rsvps, requests, upcoming = [], [], [], []
    for e in range(1, events + 1):
        start = NOW + timedelta(hours=rng.randint(-24 * 60, 24 * 60))  # about half still to come
        group = None if rng.random() < 0.05 else rng.randint(1, groups)
        capacity = rng.choice((None, 20, 40, 100))
        public_id = f"ev{e:08d}"
        rows.append((e, public_id, f"{rng.choice(TITLES)} {e}", "Bring a friend. " * rng.randint(0, 20) or None,
                     ts(start), ts(start + timedelta(hours=2)), "Community Centre", f"{e} High Street", "LS6 1AN",
                     rng.randint(0, 1), capacity, group, "confirmed" if rng.random() < 0.9 else "cancelled",
                     stamp, stamp))
        if start > NOW and rows[-1][12] == "confirmed":
            upcoming.append(public_id)
        for sid in rng.sample(range(1, supporters + 1), rng.randint(0, 60)):
            rsvps.append((e, sid, rng.choice(("going", "going", "maybe", "waitlisted", "declined")), stamp, stamp))
            if rng.random() < 0.2:
                requests.append((suppression.digest(SALT, "phone", f"+447400{sid:06d}"), sid, e, stamp))
    conn.executemany(
        "INSERT INTO events (id, public_id, title, description, starts_at, ends_at, venue, address, postcode, "
        "address_public, capacity, group_id, status, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.executemany("INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                     "VALUES (?, ?, ?, ?, ?)", rsvps)
    conn.executemany("INSERT INTO signup_requests (phone_hash, supporter_id, source, event_id, requested_at, "
                     "confirmed_at, answer) VALUES (?, ?, 'web', ?, ?, ?, 'yes')",
                     [(h, sid, e, at, at) for h, sid, e, at in requests])
    conn.execute("COMMIT")
    going = conn.execute(
        "SELECT q.phone_hash, e.public_id FROM signup_requests q JOIN events e ON e.id = q.event_id "
        "JOIN rsvps r ON r.event_id = q.event_id AND r.supporter_id = q.supporter_id "
        "WHERE r.status = 'going' AND e.status = 'confirmed' AND e.starts_at > ? LIMIT 500", (ts(NOW),)).fetchall()
    conn.close()
    return {"upcoming": upcoming, "groups": names, "going": going, "rsvps": len(rsvps)}


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


def _figures(times: list[float]) -> dict[str, Any]:
    return {"requests": len(times), "p50_ms": round(statistics.median(times) * 1000, 2),
            "p95_ms": round(percentile(times, 0.95) * 1000, 2)}


async def measure(path: Path, built: dict[str, Any], requests: int, seed: int = 11) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    db = await open_database(str(path))
    service = Service(load(db_path=path, demo=False, sms_quiet_hours=""), FakeClock(NOW), db=db)
    timed = Timed(service.app)
    results: dict[str, dict[str, Any]] = {}
    clients = iter(range(1, 10**6))
    phones = iter(range(10**6))

    def client() -> httpx.AsyncClient:  # each form from its own address: the rate limits stay out of it
        n = next(clients)
        transport = httpx.ASGITransport(app=timed, client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 1))
        return httpx.AsyncClient(transport=transport, base_url="http://public.test")

    try:
        upcoming, groups, going = built["upcoming"], built["groups"], built["going"]
        pages: dict[str, Callable[[], tuple[str, dict[str, str]]]] = {
            "event page": lambda: (f"/e/{rng.choice(upcoming)}", {}),
            "event page, RSVP confirmed (address shown)": lambda: (
                (lambda g: (f"/e/{g[1]}", {"muster_rsvp": g[0]}))(rng.choice(going))),
            "national listing": lambda: ("/events", {}),
            "group listing by slug": lambda: (f"/g/{slug(rng.choice(groups))}", {}),
            "group listing by id": lambda: (f"/g/{rng.randint(1, len(groups))}", {}),
            "join page": lambda: ("/join", {}),
            "stylesheet": lambda: ("/static/public.css", {}),
        }
        async with client() as reader:
            for label, pick in pages.items():
                if label.startswith("event page, RSVP") and not going:
                    continue
                times: list[float] = []
                for _ in range(requests):
                    url, cookies = pick()
                    reader.cookies.clear()
                    for name, value in cookies.items():
                        reader.cookies.set(name, value)
                    got = await reader.get(url)
                    if got.status_code != 200:
                        raise SystemExit(f"{label}: {url} {got.status_code} {got.text[:300]}")
                    if label.startswith("event page, RSVP") and "You're going" not in got.text:
                        raise SystemExit(f"{label}: the confirmed RSVP was not recognised")
                    times.append(timed.last)
                results[label] = _figures(times)
        for label, form_url in (("RSVP form posted", lambda: f"/e/{rng.choice(upcoming)}"),
                                ("sign-up form posted", lambda: "/join")):
            times = []
            for _ in range(requests):
                url = form_url()
                async with client() as person:
                    page = await person.get(url)
                    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
                    wording = re.search(r'name="wording" value="([^"]+)"', page.text)
                    assert token and wording, page.text[:300]
                    sent = await person.post(url, data={
                        "csrftoken": token.group(1), "wording": wording.group(1), "first_name": "Sam",
                        "phone": f"07500 {next(phones):06d}", "campaign": rng.choice(("1", ""))})
                    if sent.status_code != 200 or "Check your phone" not in sent.text:
                        raise SystemExit(f"{label}: {sent.status_code} {sent.text[:300]}")
                    times.append(timed.last)
            results[label] = _figures(times)
    finally:
        await db.close()
    return results


async def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "public.db"
        db = await open_database(str(path))
        await db.close()
        started = time.perf_counter()
        built = build(path, args.supporters, args.events, args.groups)
        build_seconds = time.perf_counter() - started
        pages = await measure(path, built, args.requests)
    return {
        "supporters": args.supporters, "events": args.events, "upcoming_events": len(built["upcoming"]),
        "groups": args.groups, "rsvps": built["rsvps"], "build_seconds": round(build_seconds, 1), "pages": pages,
        "worst_p95_ms": max(v["p95_ms"] for v in pages.values()),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--supporters", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--groups", type=int, default=200)
    parser.add_argument("--requests", type=int, default=300, help="requests per page")
    return parser.parse_args(argv)


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
