"""The audit log: every state-changing organiser operation records itself, whichever front called it."""
from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.cli.broadcasts import CLI
from flows.organiser import audit, sending, signin
from flows.organiser import events as event_ops
from flows.organiser.access import Actor
from flows.organiser.broadcasts import compose
from flows.organiser.errors import ScopeError
from storage import audit as store
from storage import broadcasts as broadcast_store
from storage import events as event_store
from storage import organisers
from storage.broadcasts import Audience
from tests.flows import events_support as es
from tests.flows.broadcast_support import organiser, person

ORG = "42"
AISHA = "+447400100001"


def _keys(messages: list[dict]) -> list[str]:
    return [c["key"] for m in messages for c in m.get("choices", [])]


async def _entries(h, action: str | None = None) -> list[store.Entry]:
    async with h.db.transaction() as tx:
        found = await store.recent(tx, limit=500)
    return [e for e in found if action is None or e.action == action]


async def _chat_admin(h) -> None:
    async with h.db.transaction() as tx:
        await organiser(tx, "admin", telegram_id=int(ORG))
        await person(tx, phone_number=AISHA, name="Aisha")


async def test_a_chat_broadcast_confirm_leaves_one_chat_entry(harness):
    await _chat_admin(harness)
    await harness.say("telegram", ORG, "/broadcast Hi {first_name}, rally on Saturday!")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    assert "on its way" in await harness.texts("telegram", ORG, choice=keys[0])
    async with harness.db.transaction() as tx:
        (b,) = await broadcast_store.recent(tx)
    (composed,) = await _entries(harness, "broadcast.compose")
    (confirmed,) = await _entries(harness, "broadcast.confirm")
    for entry in (composed, confirmed):
        assert (entry.front, entry.origin, entry.target) == ("chat", "telegram", f"broadcast:{b.id}")
        assert entry.actor.startswith("telegram:supporter:")
    assert confirmed.detail == "sent now to 1 people and 0 chats"
    # The log says what was done, never what the message said or to whom.
    for entry in await _entries(harness):
        assert "rally" not in (entry.detail or "") and "Aisha" not in (entry.detail or "")
        assert AISHA not in f"{entry.detail} {entry.target} {entry.actor} {entry.origin}"


async def test_a_chat_schedule_and_discard_are_recorded(harness):
    await _chat_admin(harness)
    await harness.say("telegram", ORG, "/broadcast Canvassing tomorrow")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    await harness.say("telegram", ORG, choice=keys[1])
    echo = await harness.say("telegram", ORG, "2026-11-05 18:00")
    assert "scheduled for" in await harness.texts("telegram", ORG, choice=_keys(echo)[0])
    (scheduled,) = await _entries(harness, "broadcast.schedule")
    assert scheduled.front == "chat" and scheduled.detail == "for 2026-11-05T18:00:00.000000Z"
    await harness.say("telegram", ORG, "/broadcast Never mind")
    keys = _keys(await harness.say("telegram", ORG, "all"))
    assert "discarded" in (await harness.texts("telegram", ORG, choice=keys[-1])).lower()
    (dropped,) = await _entries(harness, "broadcast.discard")
    assert dropped.front == "chat" and not await _entries(harness, "broadcast.confirm")


async def test_cli_calls_leave_one_cli_entry_each(harness):
    async with harness.db.transaction() as tx:
        await person(tx, phone_number=AISHA, name="Aisha")
        now = harness.clock.now()
        draft = await compose(tx, CLI, now, body="Hello", audience=Audience())
        later = await compose(tx, CLI, now, body="Later", audience=Audience())
        await sending.confirm(tx, draft, CLI, now, harness.engine.settings)
        await sending.confirm(tx, later, CLI, now, harness.engine.settings, when=now + timedelta(days=1),
                              repeat="weekly")
        await sending.cancel(tx, await broadcast_store.fetch(tx, later.id), CLI, now)
        await sending.resend_unknown(tx, await broadcast_store.fetch(tx, draft.id), CLI, now, harness.engine.settings)
    expected = {"broadcast.compose": 2, "broadcast.confirm": 1, "broadcast.schedule": 1, "broadcast.cancel": 1,
                "broadcast.resend_unknown": 1}
    entries = await _entries(harness)
    assert {a: sum(e.action == a for e in entries) for a in expected} == expected and len(entries) == 6
    assert {(e.front, e.actor, e.origin) for e in entries} == {("cli", "cli", None)}
    by_action = {e.action: e for e in entries}
    assert by_action["broadcast.schedule"].detail.endswith(", repeats weekly")
    assert by_action["broadcast.cancel"].detail == "was scheduled; 0 queued messages dropped"
    assert by_action["broadcast.resend_unknown"].detail == "0 messages in doubt queued again"
    assert [e.id for e in entries] == sorted((e.id for e in entries), reverse=True)  # newest first


async def test_event_publish_and_announce_take_an_actor_and_record_it(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    york = await es.group(harness, "York", ["YO1"])
    await es.organiser(harness, "organiser", telegram_id=9001, group_id=leeds.id)
    ours = await es.make_event(harness, status="draft", group_id=leeds.id)
    theirs = await es.make_event(harness, status="draft", group_id=york.id)
    await es.supporter(harness, "sms", "+447400000001", group_id=leeds.id)
    assert "Announce" in await harness.texts("telegram", "9001", choice=f"evadm:pub:{ours.id}")
    assert "Announcement queued for 1" in await harness.texts("telegram", "9001", choice=f"evadm:ann:{ours.id}")
    (published,) = await _entries(harness, "event.publish")
    (announced,) = await _entries(harness, "event.announce")
    assert (published.front, published.origin, published.target) == ("chat", "telegram", f"event:{ours.id}")
    assert announced.detail == "1 supporter (1 by SMS, 0 on Telegram) and 0 group chats"
    # The operation checks the scope itself: a front that forgot would still be refused.
    async with harness.db.transaction() as tx:
        role = await organisers.roles_for(tx, None, 9001)
        with pytest.raises(ScopeError):
            await event_ops.publish(tx, Actor(tuple(role), "telegram:supporter:1"), theirs, harness.clock.now())
        await event_ops.publish(tx, CLI, theirs, harness.clock.now())
    entries = await _entries(harness, "event.publish")
    assert [(e.front, e.target) for e in entries] == [("cli", f"event:{theirs.id}"), ("chat", f"event:{ours.id}")]


async def test_a_web_actor_records_web_and_its_address(harness):
    async with harness.db.transaction() as tx:
        audit.note(tx, Actor((), "web:organiser:3", "sms", "+447700900001", origin="203.0.113.9"),
                   harness.clock.now(), "inbox.done", target="inbox:1")
    (entry,) = await _entries(harness)
    assert (entry.front, entry.actor, entry.origin) == ("web", "web:organiser:3", "203.0.113.9")


def test_the_real_cli_records_cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    for args in (["group", "add", "Leeds", "--areas", "LS1"],
                 ["event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall",
                  "--group", "Leeds"],
                 ["event", "publish", "1", "--announce"],
                 ["broadcast", "create", "--body", "Hello"]):
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        rows = conn.execute("SELECT actor, front, action, target, origin FROM audit_log "
                            "WHERE action LIKE 'event.%' OR action LIKE 'broadcast.%' ORDER BY id").fetchall()
    assert rows == [("cli", "cli", "event.create", "event:1", None), ("cli", "cli", "event.publish", "event:1", None),
                    ("cli", "cli", "event.announce", "event:1", None),
                    ("cli", "cli", "broadcast.compose", "broadcast:1", None)]


async def test_a_chat_newevent_and_cancel_leave_one_chat_entry_each(harness):
    await _chat_admin(harness)
    leeds = await es.group(harness, "Leeds", ["LS1"])
    for text in ("/newevent", "Canvass on Market Street", "Sat 11am", "yes", "Market Street", "10"):
        await harness.say("telegram", ORG, text)
    assert "Saved as draft" in await harness.texts("telegram", ORG, choice=f"newevent:g:{leeds.id}")
    (created,) = await _entries(harness)
    async with harness.db.transaction() as tx:
        event_id = await tx.scalar("SELECT id FROM events")
    assert (created.action, created.front, created.origin, created.target, created.detail) == (
        "event.create", "chat", "telegram", f"event:{event_id}", f"draft, group {leeds.id}")
    assert created.actor.startswith("telegram:supporter:")
    await harness.say("telegram", ORG, choice=f"evadm:cancel:{event_id}")  # asks first: nothing recorded yet
    assert len(await _entries(harness)) == 1
    assert "Cancelled" in await harness.texts("telegram", ORG, choice=f"evadm:cx:{event_id}")
    (cancelled,) = await _entries(harness, "event.cancel")
    assert (cancelled.front, cancelled.target, cancelled.detail) == ("chat", f"event:{event_id}", "was draft")
    assert len(await _entries(harness)) == 2
    for entry in await _entries(harness):
        assert "Market" not in f"{entry.detail} {entry.target} {entry.actor}"


async def test_event_create_edit_cancel_check_the_scope_themselves(harness):
    leeds = await es.group(harness, "Leeds", ["LS1"])
    york = await es.group(harness, "York", ["YO1"])
    await es.organiser(harness, "organiser", telegram_id=9001, group_id=leeds.id)
    theirs = await es.make_event(harness, group_id=york.id)
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        local = Actor(tuple(await organisers.roles_for(tx, None, 9001)), "telegram:supporter:1")
        for group_id in (york.id, None):  # another group's, or a national one
            with pytest.raises(ScopeError):
                await event_ops.create(tx, local, now, title="Rally", starts_at=es.SAT_7PM, timezone="Europe/London",
                                       group_id=group_id)
        with pytest.raises(ScopeError):
            await event_ops.edit(tx, local, theirs, now, settings=harness.engine.settings, title="Mine now")
        with pytest.raises(ScopeError):
            await event_ops.cancel(tx, local, theirs, now)
        ours = await event_ops.create(tx, local, now, title="Rally", starts_at=es.SAT_7PM,
                                      timezone="Europe/London", group_id=leeds.id, venue="Hall")
        with pytest.raises(ScopeError):  # nor move their own event into another group
            await event_ops.edit(tx, local, ours, now, settings=harness.engine.settings, group_id=york.id)
    assert [(e.action, e.target) for e in await _entries(harness)] == [("event.create", f"event:{ours.id}")]
    async with harness.db.transaction() as tx:
        assert (await event_store.get(tx, theirs.id)).title == "Housing rally"
        assert (await event_store.get(tx, theirs.id)).status == "confirmed"
        assert (await event_store.get(tx, ours.id)).group_id == leeds.id


def test_the_real_cli_create_edit_cancel_leave_one_cli_entry_each(tmp_path, monkeypatch):
    monkeypatch.setenv("MUSTER_DB_PATH", str(tmp_path / "cli.db"))
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()
    for args in (["group", "add", "Leeds", "--areas", "LS1"],
                 ["event", "create", "--title", "Rally", "--when", "2030-05-04 14:00", "--venue", "Hall",
                  "--group", "Leeds"],
                 ["event", "edit", "1", "--title", "Big rally", "--when", "2030-05-04 15:00"],
                 ["event", "cancel", "1"]):
        done = runner.invoke(app, args)
        assert done.exit_code == 0, done.output
    assert runner.invoke(app, ["event", "cancel", "1"]).exit_code == 1  # refused: nothing recorded
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        rows = conn.execute("SELECT actor, front, action, target, detail, origin FROM audit_log "
                            "WHERE action LIKE 'event.%' ORDER BY id").fetchall()
    assert rows == [
        ("cli", "cli", "event.create", "event:1", "draft, group 1", None),
        ("cli", "cli", "event.edit", "event:1", "changed ends_at, starts_at, title; RSVPs will be told", None),
        ("cli", "cli", "event.cancel", "event:1", "was draft", None),
    ]


async def test_a_sign_in_and_a_revoke_are_recorded(harness):
    async with harness.db.transaction() as tx:
        admin = await organiser(tx, "admin", phone_number="+447700900001")
        local = await organiser(tx, "organiser", phone_number="+447700900002")
        now = harness.clock.now()
        theirs = signin.Identity("sms", "+447700900002")
        await signin.start_session(tx, theirs, "test", now, origin="198.51.100.7")
        (session,) = await signin.sessions_of(tx, theirs)
        with pytest.raises(ScopeError):
            await signin.revoke(tx, signin.web_actor((local,), theirs), session.id, now)
        await signin.revoke(tx, signin.web_actor((admin,), signin.Identity("sms", "+447700900001"), "192.0.2.1"),
                            session.id, now)
    entries = await _entries(harness)
    assert [(e.action, e.actor, e.front, e.target, e.detail, e.origin) for e in entries] == [
        ("session.revoke", f"web:organiser:{admin.id}", "web", f"session:{session.id}", None, "192.0.2.1"),
        ("signin.start", f"web:organiser:{local.id}", "web", f"session:{session.id}", "by link", "198.51.100.7"),
    ]
