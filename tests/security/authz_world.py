"""The world the authorisation matrix acts in: two local groups, three people, events and broadcasts in each.

Leeds is the group the local organiser runs; York is a group they do not. Everything an
organiser could act on exists once per group, so each cell of the matrix names its target.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flows.core.settings import FlowSettings
from flows.organiser import events as event_ops
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from flows.organiser.sending import confirm
from storage import consent, groups, organisers, supporters, telegram_groups
from storage import events as event_store
from storage.broadcasts import Audience
from storage.db import Database
from tests.harness import Harness

LEEDS, YORK = "Leeds", "York"
CHAT = -1009  # a Telegram group chat, linked to no local group yet
CHATS = {"Leeds": -1001, "York": -1002}  # each group's own linked chat
SAT_7PM = datetime(2026, 11, 7, 19, 0, tzinfo=UTC)  # after the FakeClock's Monday noon


@dataclass(frozen=True)
class Person:
    role: str  # "supporter", "organiser" (of Leeds only) or "admin"
    telegram: str
    phone: str

    def address(self, channel: str) -> str:
        return self.telegram if channel == "telegram" else self.phone


SUPPORTER = Person("supporter", "7100", "+447400710000")
ORGANISER = Person("organiser", "7200", "+447400720000")
ADMIN = Person("admin", "7300", "+447400730000")
PEOPLE = {p.role: p for p in (SUPPORTER, ORGANISER, ADMIN)}
# One opted-in SMS supporter in each group: whoever an announcement or broadcast reaches.
MEMBERS = {LEEDS: "+447400100001", YORK: "+447400100002"}


@dataclass
class World:
    groups: dict[str, int] = field(default_factory=dict)
    draft_event: dict[str, int] = field(default_factory=dict)      # group → draft event id
    live_event: dict[str, int] = field(default_factory=dict)       # group → confirmed, unannounced
    draft_broadcast: dict[str, int] = field(default_factory=dict)  # group → draft broadcast id
    scheduled: dict[str, int] = field(default_factory=dict)        # group → scheduled broadcast id
    alert: dict[str, int] = field(default_factory=dict)            # group → draft action alert id
    sent_alert: dict[str, int] = field(default_factory=dict)       # group → an alert queued to its members
    national_draft: int = 0


async def member(db: Database, now: datetime, phone: str, group_id: int, name: str) -> supporters.Supporter:
    """An active supporter of a local group, opted in to SMS."""
    async with db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", [phone], now))[phone]
        supporters.update(tx, person, status="active", group_id=group_id, first_name=name)
        consent.record(tx, person, "sms", "opt_in", "flow", now, "test-v1")
    return person


async def seed(db: Database, now: datetime, *, with_roles: bool = True) -> World:
    """Groups, the organiser of Leeds and an admin, a member of each group, events and broadcasts."""
    world = World()
    async with db.transaction() as tx:
        for name in (LEEDS, YORK):
            world.groups[name] = (await groups.add(tx, name, [], now)).id
            telegram_groups.link(tx, CHATS[name], world.groups[name], f"{name} chat", None, now)
        if with_roles:
            await organisers.add(tx, "organiser", now, phone=ORGANISER.phone, telegram_id=int(ORGANISER.telegram),
                                 group_id=world.groups[LEEDS])
            await organisers.add(tx, "admin", now, phone=ADMIN.phone, telegram_id=int(ADMIN.telegram))
    for name in (LEEDS, YORK):
        await member(db, now, MEMBERS[name], world.groups[name], f"{name} member")
    async with db.transaction() as tx:
        for name, gid in world.groups.items():
            for status, into in (("draft", world.draft_event), ("confirmed", world.live_event)):
                event = await event_store.create(
                    tx, public_id=event_ops.new_public_id(), title=f"{name} {status} event", starts_at=SAT_7PM,
                    ends_at=SAT_7PM + timedelta(hours=2), now=now, status=status, group_id=gid, venue="Hall",
                )
                into[name] = event.id
        national = await event_store.create(
            tx, public_id=event_ops.new_public_id(), title="National draft event", starts_at=SAT_7PM,
            ends_at=SAT_7PM + timedelta(hours=2), now=now, status="draft", venue="Hall",
        )
        world.national_draft = national.id
        operator = Actor(trusted=True, label="seed")
        settings = FlowSettings()
        for name, gid in world.groups.items():
            audience = Audience(groups=(gid,))
            world.draft_broadcast[name] = (await compose(
                tx, operator, now, body=f"{name} draft message", audience=audience)).id
            later = await compose(tx, operator, now, body=f"{name} scheduled message", audience=audience)
            await confirm(tx, later, operator, now, settings, when=now + timedelta(days=1))
            world.scheduled[name] = later.id
            world.alert[name] = (await compose(
                tx, operator, now, body=f"{name} alert", audience=audience, kind="alert",
                cta_text="Register to vote")).id
            sent = await compose(tx, operator, now, body=f"{name} alert sent", audience=audience, kind="alert",
                                 cta_text="Register to vote")
            world.sent_alert[name] = (await confirm(tx, sent, operator, now, settings)).id
            # already gone out, so that nothing about it changes while a cell runs
            await tx.execute("UPDATE outbox SET status = 'sent' WHERE broadcast_id = ?", (sent.id,))
            await tx.execute("UPDATE broadcasts SET status = 'sent' WHERE id = ?", (sent.id,))
    return world


TABLES = ("local_groups", "group_areas", "organisers", "events", "rsvps", "broadcasts", "alert_responses",
          "telegram_groups", "deliveries")


async def fingerprint(h: Harness, *ignore: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every table an organiser action could change, and the outbox minus what went to `ignore`d addresses."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    async with h.db.transaction() as tx:
        for table in TABLES:
            found[table] = sorted((tuple(r) for r in await tx.query(f"SELECT * FROM {table}")), key=repr)
        marks = ", ".join("?" for _ in ignore) or "NULL"
        found["outbox"] = [tuple(r) for r in await tx.query(
            f"SELECT channel, address, payload, broadcast_id, dedupe_key FROM outbox "
            f"WHERE address NOT IN ({marks}) ORDER BY id", list(ignore))]
    return found


async def value(h: Harness, sql: str, params: tuple[Any, ...] = ()) -> Any:
    async with h.db.transaction() as tx:
        return await tx.scalar(sql, params)


async def outbox_to(h: Harness, address: str | int) -> int:
    """Messages queued to someone other than the person acting (a group member, a chat), since the
    world was made (the alert already sent to each group is not counted)."""
    return await value(h, "SELECT COUNT(*) FROM outbox WHERE address = ? AND (broadcast_id IS NULL OR broadcast_id "
                          "NOT IN (SELECT id FROM broadcasts WHERE body LIKE '% alert sent'))",
                       (str(address),))


async def revoke(h: Harness, person: Person) -> None:
    async with h.db.transaction() as tx:
        await organisers.remove(tx, person.phone, int(person.telegram))
