"""What the public pages' tests share: events and groups written straight into the sandbox's database,
a client from its own loopback address (each test has its own rate limits), and answering by text."""
from __future__ import annotations

import itertools
import re
import sqlite3
from datetime import UTC, datetime, timedelta

import httpx

from tests.web.console_support import Sandbox

_ids = itertools.count(1)
_hosts = itertools.count(10)
_phones = itertools.count(100)


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def db(service: Sandbox, sql: str, params: tuple = ()) -> list[tuple]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def group(service: Sandbox, name: str, areas: tuple[str, ...] = ()) -> int:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute("INSERT INTO local_groups (name, created_at) VALUES (?, ?)",
                           (name, stamp(datetime.now(UTC))))
        conn.executemany("INSERT INTO group_areas (area, group_id) VALUES (?, ?)", [(a, cur.lastrowid) for a in areas])
        return int(cur.lastrowid or 0)


def event(service: Sandbox, title: str, *, group_id: int | None = None, status: str = "confirmed",
          capacity: int | None = None, starts_in: timedelta = timedelta(days=3), venue: str | None = "Civic Hall",
          address: str | None = None, postcode: str | None = "LS1 1UR", address_public: bool = True,
          description: str | None = None) -> tuple[int, str]:
    """A new event (published unless said otherwise): (id, public id)."""
    public_id = f"pub{next(_ids):04d}test"
    start = datetime.now(UTC) + starts_in
    now = stamp(datetime.now(UTC))
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute(
            "INSERT INTO events (public_id, title, description, starts_at, ends_at, venue, address, postcode, "
            "address_public, capacity, group_id, status, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (public_id, title, description, stamp(start), stamp(start + timedelta(hours=2)), venue, address, postcode,
             int(address_public), capacity, group_id, status, now, now))
        return int(cur.lastrowid or 0), public_id


def fill(service: Sandbox, event_id: int, going: int) -> None:
    """`going` people already going (supporters made for it, no one anyone could text)."""
    now = stamp(datetime.now(UTC))
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        for _ in range(going):
            cur = conn.execute("INSERT INTO supporters (first_name, status, created_at) VALUES ('X', 'active', ?)",
                               (now,))
            conn.execute("INSERT INTO rsvps (event_id, supporter_id, status, created_at, updated_at) "
                         "VALUES (?, ?, 'going', ?, ?)", (event_id, cur.lastrowid, now, now))


def client(service: Sandbox) -> httpx.Client:
    """A client from a loopback address of its own: the per-client rate limit is its own."""
    host = next(_hosts)
    transport = httpx.HTTPTransport(local_address=f"127.0.{host // 250}.{host % 250 + 2}")
    return httpx.Client(base_url=service.base, timeout=10, transport=transport)


def phone() -> tuple[str, str]:
    """A new number: (as typed, E.164)."""
    n = next(_phones)
    return f"07400 9{n:05d}", f"+4474009{n:05d}"


def token(page: httpx.Response) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def wording(page: httpx.Response) -> str:
    found = re.search(r'name="wording" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def say(service: Sandbox, e164: str, text: str) -> None:
    """Text the service from this number (the simulator: as the person would reply)."""
    sent = httpx.post(f"{service.base}/sim/send", json={"channel": "sms", "address": e164, "text": text}, timeout=10)
    assert sent.status_code == 200, sent.text


def texts(service: Sandbox, e164: str) -> list[str]:
    return [m["text"] for m in service.messages("sms", e164)]
