"""One person who used every feature is erased: nothing of them is left in any column or file, nor in the logs.

Zephyrine signs up by SMS and links Telegram, organises a local group, links its Telegram
chat and is welcomed there, sends a broadcast of her own, is the sample in another
organiser's previews, RSVPs, answers an alert DONE, recruits someone and asks the organisers'
inbox a question that is answered. Then DELETE.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pytest

from flows.organiser import inbox
from flows.organiser.access import Actor
from storage import privacy, supporters
from tests.flows.events_support import group, make_event, organiser
from tests.harness import Harness

PHONE = "+447700900123"
TG = "6071829354"
NAME = "Zephyrine"
EMAIL = "zephyrine.q@example.org"
POSTCODE = "LS6 3HN"
ADMIN = "4242"
RECRUIT = "+447700900456"
CHAT = -100777


def _needles() -> dict[str, str]:
    return {"phone": PHONE, "phone digits": PHONE[1:], "national phone": "07700900123",
            "spaced national phone": "07700 900123", "telegram id": TG, "name": NAME, "email": EMAIL,
            "postcode": POSTCODE, "postcode without space": POSTCODE.replace(" ", "")}


async def _scan_columns(h: Harness) -> list[str]:
    """Every column of every table, whatever its declared type, read as text."""
    found = []
    async with h.db.transaction() as tx:
        tables = [r[0] for r in await tx.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for column in [r["name"] for r in await tx.query(f'PRAGMA table_info("{table}")')]:
                for (value,) in await tx.query(f'SELECT CAST("{column}" AS TEXT) FROM "{table}"'):
                    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    found += [f"{table}.{column} has the {what}: {text[:80]!r}"
                              for what, needle in _needles().items() if needle.lower() in text.lower()]
    return found


def _scan_files(db_path: Path) -> list[str]:
    found = []
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
        if path.exists():
            content = path.read_bytes().lower()
            found += [f"{path.name} has the {what}" for what, needle in _needles().items()
                      if needle.lower().encode() in content]
    return found


async def _group_chat(h: Harness, user: str, kind: str, **extra: object) -> None:
    await h.send("telegram", user, extra.pop("text", ""), kind=kind, chat_id=CHAT, title="Leeds North chat", **extra)
    await h.deliver()
    h.channels["telegram"].pop(str(CHAT))


async def _keys(h: Harness, address: str, text: str = "", **kwargs: object) -> list[str]:
    return [c["key"] for m in await h.say("telegram", address, text, **kwargs) for c in m.get("choices", [])]


async def _everything(h: Harness) -> None:
    leeds = await group(h, "Leeds North", ["LS6"])
    event = await make_event(h, "Rent rally", group_id=leeds.id)
    await organiser(h, "admin", telegram_id=int(ADMIN))
    await organiser(h, "organiser", telegram_id=int(TG), group_id=leeds.id)

    # Sign-up by SMS.
    for text in ("JOIN", NAME, POSTCODE, "1", EMAIL, "YES"):
        await h.say("sms", PHONE, text)
    h.clock.advance(minutes=1)

    # A question the bot does not understand goes to the organisers' inbox, and is answered.
    await h.say("sms", PHONE, f"{NAME} here ({EMAIL}, {PHONE}): can I bring a banner to {POSTCODE}?")
    async with h.db.transaction() as tx:
        [item] = await inbox.items(tx, Actor(trusted=True))
        await inbox.answer(tx, Actor(trusted=True), item.id, f"Of course, {NAME}!", h.clock.now(), h.engine.settings)
    await h.deliver()
    assert [m["text"] for m in h.channels["sms"].pop(PHONE)] == [f"Of course, {NAME}!"]
    h.clock.advance(minutes=1)

    # As organiser she links her group's chat, then joins it and is welcomed there by name: all
    # before Telegram knows her number, so on a second record that the merge below folds in.
    await _group_chat(h, TG, "group_command", text="/linkgroup Leeds North", command="linkgroup", chat_admin=True)
    await _group_chat(h, TG, "group_join", first_name=NAME)
    h.clock.advance(minutes=1)

    # The phone number shared in Telegram joins the two records.
    await h.say("telegram", TG, kind="contact", phone=PHONE[1:], contact_user_id=int(TG))
    h.clock.advance(minutes=1)
    async with h.db.transaction() as tx:
        her = await supporters.find(tx, "sms", PHONE)
        assert her is not None and her.telegram_id == int(TG) and her.first_name == NAME, "channels linked"
        code = her.referral_code
    assert code

    # Someone she recruited.
    for text in (f"JOIN {code}", "Quentin", "skip", "skip", "skip", "yes"):
        await h.say("sms", RECRUIT, text)
    h.clock.advance(minutes=1)

    # Her own broadcast, sent now: she is its author and the address of its reports.
    await h.say("telegram", TG, "/broadcast Hello {first_name}, canvassing on Saturday")
    keys = await _keys(h, TG, "all")
    await h.say("telegram", TG, choice=next(k for k in keys if k.endswith(":now")))
    h.clock.advance(minutes=1)

    # She RSVPs by text, so her last channel is SMS.
    await h.say("sms", PHONE, choice=f"rsvp:{event.id}:g")

    # The admin's previews use her as the sample: "Hi Zephyrine, …" lands in the admin's chat.
    await h.say("telegram", ADMIN, "/broadcast Hi {first_name}, rally soon")
    preview = await h.say("telegram", ADMIN, "all")
    assert any(f"Hi {NAME}, rally soon" in m["text"] for m in preview), "the preview samples her"
    await h.say("telegram", ADMIN, "/alert Polls close at 10pm")
    await h.say("telegram", ADMIN, "Vote https://example.org/polls")
    await h.say("telegram", ADMIN, "SKIP")
    keys = await _keys(h, ADMIN, "all")
    await h.say("telegram", ADMIN, choice=next(k for k in keys if k.endswith(":now")))
    await h.deliver()
    assert "Thank you" in await h.texts("sms", PHONE, "DONE")
    h.clock.advance(minutes=1)

    # A burst from her on Telegram: the flood throttle notices (and logs) her.
    for n in range(h.engine.settings.inbound_per_minute + 1):
        await h.send("telegram", TG, f"hello {n}")
    await h.deliver()
    h.clock.advance(minutes=1)

    async with h.db.transaction() as tx:  # every feature left its mark
        assert await tx.scalar("SELECT linked_by FROM telegram_groups WHERE chat_id = ?", (CHAT,)) == int(TG)
        assert await tx.scalar("SELECT COUNT(*) FROM outbox WHERE address = ? AND payload LIKE ?",
                               (str(CHAT), f"%Welcome, {NAME}!%")) == 1
        assert await tx.scalar("SELECT COUNT(*) FROM broadcasts WHERE notify_address = ?", (TG,)) == 1
        assert await tx.scalar("SELECT COUNT(*) FROM rsvps WHERE supporter_id = ?", (her.id,)) == 1
        assert await tx.scalar("SELECT response FROM alert_responses WHERE supporter_id = ?", (her.id,)) == "done"
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE referred_by = ?", (her.id,)) == 1
        assert await tx.scalar("SELECT COUNT(*) FROM inbox_items WHERE supporter_id = ? AND text LIKE ?",
                               (her.id, f"{NAME} here%")) == 1


async def test_an_erased_supporter_and_organiser_leaves_nothing_anywhere(
    harness: Harness, caplog: pytest.LogCaptureFixture,
) -> None:
    h = harness
    caplog.set_level(logging.INFO)
    for ours in ("bot", "flows", "storage"):  # our own debug lines too (not the driver's, which echo SQL)
        caplog.set_level(logging.DEBUG, logger=ours)
    await _everything(h)
    before = await _scan_columns(h)
    for what in ("phone", "telegram id", "name", "email", "postcode"):
        assert any(f"has the {what}" in f for f in before), f"the scan finds the {what} before erasure"

    await h.say("sms", PHONE, "DELETE")
    assert "your details have been erased" in await h.texts("sms", PHONE, "YES")
    assert await privacy.sweep(h.db) is False  # as after the confirmation went: the log is emptied

    left = await _scan_columns(h)
    assert not left, "\n".join(left)
    left = _scan_files(Path(h.db.path))
    assert not left, "\n".join(left)
    async with h.db.transaction() as tx:  # the counts survive: one anonymous record, her recruit, her answer
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE status = 'erased'") == 1
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE referred_by IS NOT NULL") == 1
        assert await tx.scalar("SELECT COUNT(*) FROM alert_responses") == 1
        assert await tx.scalar("SELECT COUNT(*) FROM telegram_groups") == 1
        assert await tx.scalar("SELECT COUNT(*) FROM inbox_items") == 0  # her question and its answer
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert TG not in logged and PHONE not in logged and PHONE[1:] not in logged
