"""MYDATA and DELETE through the engine, and what an erasure leaves in the database file."""
from __future__ import annotations

import json
from pathlib import Path

from flows.core.types import Reply
from storage import consent, groups, supporters, suppression
from tests.harness import Harness

PHONE = "+447400123456"
TG = "987654321012"
NAME = "Zebedee"
EMAIL = "zebedee.q@example.org"
POSTCODE = "LS6 1AN"


async def _signed_up(h: Harness) -> int:
    """One supporter on both channels with a full profile, as the sign-up would leave them."""
    await h.say("sms", PHONE, "MENU")
    h.clock.advance(minutes=1)
    async with h.db.transaction() as tx:
        group = await groups.add(tx, "Leeds North", ["LS6"], h.clock.now())
        person = await supporters.find(tx, "sms", PHONE)
        assert person is not None
        supporters.set_identity(tx, person, "telegram", TG)
        supporters.update(tx, person, first_name=NAME, email=EMAIL, postcode=POSTCODE, area="LS6",
                          group_id=group.id, status="active", referral_code="K7MX4Q")
        consent.record(tx, person, "sms", "opt_in", "flow", h.clock.now(), "consent-v1")
        consent.record(tx, person, "telegram", "opt_in", "flow", h.clock.now(), "consent-v1")
        for interest in ("housing", "voter registration"):
            tx.write("INSERT INTO supporter_interests VALUES (?, ?)", (person.id, interest))
        # a message that mentions them, as a welcome would
        tx.write("INSERT INTO outbox (channel, address, supporter_id, payload, not_before, created_at, updated_at) "
                 "VALUES ('sms', ?, ?, ?, '2026-01-01', '2026-01-01', '2026-01-01')",
                 (PHONE, person.id, Reply(f"Welcome {NAME}! We'll write to {EMAIL}.").to_payload()))
        if await tx.scalar("SELECT 1 FROM sqlite_master WHERE name = 'rsvps'"):
            event = await tx.scalar(
                "INSERT INTO events (public_id, title, starts_at, ends_at, created_at, updated_at) "
                "VALUES ('e1', 'Rent rally', '2026-12-05T12:00:00.000000Z', '2026-12-05T14:00:00.000000Z', "
                "'2026-01-01', '2026-01-01') RETURNING id")
            tx.write("INSERT INTO rsvps (event_id, supporter_id, status, channel, created_at, updated_at) "
                     "VALUES (?, ?, 'going', 'sms', '2026-01-01', '2026-01-01')", (event, person.id))
        return person.id


async def test_mydata_by_sms_lists_what_we_hold(harness: Harness) -> None:
    await _signed_up(harness)
    text = await harness.texts("sms", PHONE, "mydata")
    for expected in (f"Name: {NAME}", f"Phone: {PHONE}", f"Email: {EMAIL}", f"Postcode: {POSTCODE}",
                     "Local group: Leeds North", "Interests: Housing and rents, Voter registration",
                     "Text messages: you agreed to receive them (since 2 Nov 2026)",
                     "Telegram messages: you agreed to receive them", "Your referral code: K7MX4Q",
                     "Send DELETE"):
        assert expected in text, expected
    async with harness.db.transaction() as tx:
        if await tx.scalar("SELECT 1 FROM sqlite_master WHERE name = 'rsvps'"):
            assert "Events you replied to: Rent rally 5 Dec 2026 (going)" in text


async def test_mydata_on_telegram_also_sends_the_record_as_json(harness: Harness) -> None:
    await _signed_up(harness)
    messages = await harness.say("telegram", TG, "/mydata")
    assert messages[0]["document"] == "muster-data.json"
    assert f"Name: {NAME}" in messages[0]["text"]
    async with harness.db.transaction() as tx:
        payload = await tx.scalar("SELECT payload FROM outbox WHERE channel = 'telegram' ORDER BY id DESC LIMIT 1")
    document = Reply.from_payload(payload).document
    assert document is not None and document.mime == "application/json"
    data = json.loads(document.content)
    assert data["first_name"] == NAME and data["phone"] == PHONE and data["telegram_id"] == int(TG)
    assert data["email"] == EMAIL and data["local_group"] == "Leeds North"
    assert data["interests"] == ["housing", "voter registration"]
    assert data["consent"]["sms"]["status"] == "opted_in" and data["consent"]["sms"]["since"]
    assert [h["wording_version"] for h in data["consent_history"]] == ["consent-v1", "consent-v1"]
    assert data["referral_code"] == "K7MX4Q"
    if "rsvps" in data:
        assert [(r["event_title"], r["status"]) for r in data["rsvps"]] == [("Rent rally", "going")]


async def test_delete_asks_first_and_no_keeps_everything(harness: Harness) -> None:
    await _signed_up(harness)
    text = await harness.texts("sms", PHONE, "DELETE")
    assert "Erase everything?" in text and "1 Yes, erase everything" in text
    assert "Please choose" in await harness.texts("sms", PHONE, "maybe")
    assert "nothing has been erased" in await harness.texts("sms", PHONE, "2")
    async with harness.db.transaction() as tx:
        assert (await supporters.find(tx, "sms", PHONE)).first_name == NAME
    await harness.say("sms", PHONE, "delete")
    await harness.say("sms", PHONE, "what")
    assert "nothing has been erased" in await harness.texts("sms", PHONE, "huh")


def _needles() -> dict[str, bytes]:
    return {"phone": PHONE.encode(), "phone digits": PHONE[1:].encode(), "name": NAME.encode(),
            "email": EMAIL.encode(), "telegram id": TG.encode()}


async def _scan_text_columns(harness: Harness) -> list[str]:
    found = []
    async with harness.db.transaction() as tx:
        tables = [r[0] for r in await tx.query("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            columns = [r["name"] for r in await tx.query(f'PRAGMA table_info("{table}")')]
            for column in columns:
                for (value,) in await tx.query(f'SELECT "{column}" FROM "{table}"'):
                    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
                    for what, needle in _needles().items():
                        if needle.decode() in text:
                            found.append(f"{table}.{column} has the {what}")
    return found


def _scan_files(db_path: Path) -> list[str]:
    found = []
    for path in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-journal")):
        if path.exists():
            content = path.read_bytes()
            found += [f"{path.name} has the {what}" for what, needle in _needles().items() if needle in content]
    return found


async def test_delete_erases_everything_everywhere(harness: Harness, tmp_path: Path) -> None:
    supporter_id = await _signed_up(harness)
    await harness.say("telegram", TG, "MYDATA")  # a JSON document full of them, in the outbox
    assert await _scan_text_columns(harness)  # the scans can find them
    await harness.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert {"name", "email", "phone"} <= {f.split(" has the ")[1] for f in _scan_files(Path(harness.db.path))}

    await harness.say("sms", PHONE, "DELETE")
    reply = await harness.texts("sms", PHONE, "1")
    assert "your details have been erased" in reply
    from storage import privacy
    assert await privacy.sweep(harness.db) is False  # the sweep that follows delivery: done, log emptied

    assert await _scan_text_columns(harness) == []
    async with harness.db.transaction() as tx:
        row = await tx.one("SELECT status, phone, telegram_id, first_name, group_id FROM supporters WHERE id = ?",
                           (supporter_id,))
        assert (row["status"], row["phone"], row["telegram_id"], row["first_name"]) == ("erased", None, None, None)
        assert row["group_id"] is not None  # still counted in its group
        # consent log anonymised, counts kept: two opt-ins and the two opt-outs of the erasure
        assert [tuple(r) for r in await tx.query(
            "SELECT action, COUNT(*) FROM consent_log WHERE supporter_id IS NULL GROUP BY action ORDER BY action"
        )] == [("opt_in", 2), ("opt_out", 2)]
        assert await tx.scalar("SELECT COUNT(*) FROM consent_log WHERE supporter_id IS NOT NULL") == 0
        assert await tx.scalar("SELECT COUNT(*) FROM supporter_interests") == 0
        assert await suppression.is_suppressed(tx, harness.engine.settings.erasure_salt, phone=PHONE)
        assert await suppression.is_suppressed(tx, harness.engine.settings.erasure_salt, telegram_id=int(TG))
        assert await tx.scalar("SELECT COUNT(*) FROM suppression") == 2
        if await tx.scalar("SELECT 1 FROM sqlite_master WHERE name = 'rsvps'"):  # upcoming: gone
            assert await tx.scalar("SELECT COUNT(*) FROM rsvps") == 0
    assert _scan_files(Path(harness.db.path)) == []  # nor in the write-ahead log: the sweep emptied it


async def test_after_delete_a_new_join_starts_afresh(harness: Harness) -> None:
    old_id = await _signed_up(harness)
    await harness.say("sms", PHONE, "DELETE")
    await harness.say("sms", PHONE, "yes")
    text = await harness.texts("sms", PHONE, "MYDATA")  # their own choice to text us again
    assert f"Phone: {PHONE}" in text and NAME not in text
    async with harness.db.transaction() as tx:
        fresh = await supporters.find(tx, "sms", PHONE)
        assert fresh is not None and fresh.id != old_id and fresh.status == "new"
        assert await tx.scalar("SELECT COUNT(*) FROM supporters") == 2


async def test_delete_from_telegram_erases_both_channels(harness: Harness) -> None:
    await _signed_up(harness)
    await harness.say("telegram", TG, "DELETE")
    messages = await harness.say("telegram", TG, choice="privacy:yes")
    assert "erased" in messages[0]["text"]
    async with harness.db.transaction() as tx:
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE status = 'erased'") == 1
        assert await tx.scalar("SELECT COUNT(*) FROM supporters WHERE first_name IS NOT NULL") == 0


async def test_suppression_is_lifted_only_when_they_opt_in_again(harness: Harness) -> None:
    await _signed_up(harness)
    await harness.say("sms", PHONE, "DELETE")
    await harness.say("sms", PHONE, "1")
    salt = harness.engine.settings.erasure_salt
    for text in ("MENU", "JOIN", "Sam", "M1 1AE", "1", "skip"):  # talking to us again is not consent
        await harness.say("sms", PHONE, text)
        async with harness.db.transaction() as tx:
            assert await suppression.is_suppressed(tx, salt, phone=PHONE), text
    assert "YES" in (await harness.texts("sms", PHONE, "hmm")).upper()  # still asking for consent
    await harness.say("sms", PHONE, "YES")
    async with harness.db.transaction() as tx:
        assert not await suppression.is_suppressed(tx, salt, phone=PHONE)
        assert await suppression.is_suppressed(tx, salt, telegram_id=int(TG))  # not their choice on Telegram
