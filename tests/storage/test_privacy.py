"""Erasure, export and the suppression list at the storage level."""
from __future__ import annotations

import pytest

from flows.core.clock import FakeClock
from storage import organisers, outbox, privacy, supporters, suppression
from storage.db import Database

SALT = "a-test-salt-of-some-length"
PHONE = "+447400123456"


async def _supporter(tx, clock: FakeClock, phone: str = PHONE, telegram: str | None = None) -> supporters.Supporter:
    person = (await supporters.find_or_create_many(tx, "sms", [phone], clock.now()))[phone]
    supporters.update(tx, person, first_name="Mo", email="mo@example.org", postcode="M1 1AA", status="active")
    if telegram:
        supporters.set_identity(tx, person, "telegram", telegram)
    return person


async def test_hashes_are_salted_and_checked_per_identity(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        suppression.add(tx, SALT, clock.now(), phone=PHONE, telegram_id=4242)
        suppression.add(tx, SALT, clock.now(), phone=PHONE)  # twice is fine
        stored = [r[0] for r in await tx.query("SELECT hash FROM suppression")]
        assert len(stored) == 2 and all(PHONE not in h and "4242" not in h for h in stored)
        assert await suppression.is_suppressed(tx, SALT, phone=PHONE)
        assert await suppression.is_suppressed(tx, SALT, telegram_id=4242)
        assert await suppression.is_suppressed(tx, SALT, phone="+447400000000", telegram_id=4242)
        assert not await suppression.is_suppressed(tx, SALT, phone="+447400000000")
        assert not await suppression.is_suppressed(tx, SALT)
        assert not await suppression.is_suppressed(tx, "another-salt-entirely", phone=PHONE)
        assert await suppression.suppressed_phones(tx, SALT, [PHONE, "+447400000000"]) == {PHONE}
        suppression.lift(tx, SALT, phone=PHONE)
        assert not await suppression.is_suppressed(tx, SALT, phone=PHONE)
        assert await suppression.is_suppressed(tx, SALT, telegram_id=4242)


async def test_suppression_blocks_re_adding_by_import_or_organiser(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        person = await _supporter(tx, clock, telegram="777")
        was = await privacy.erase(tx, person.id, clock.now())
        suppression.add(tx, SALT, clock.now(), was["phone"], was["telegram_id"])
    async with db.transaction() as tx:
        with pytest.raises(suppression.Suppressed):
            await suppression.add_supporter(tx, SALT, clock.now(), phone=PHONE, first_name="Mo")
        with pytest.raises(suppression.Suppressed):
            await suppression.add_supporter(tx, SALT, clock.now(), telegram_id=777)
        new_id = await suppression.add_supporter(tx, SALT, clock.now(), phone="+447400999999")
        assert new_id and await tx.scalar("SELECT COUNT(*) FROM supporters WHERE phone IS NOT NULL") == 1
        with pytest.raises(ValueError, match="already a supporter"):
            await suppression.add_supporter(tx, SALT, clock.now(), phone="+447400999999")


async def test_erase_blanks_identity_everywhere_and_keeps_counts(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        await tx.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, who TEXT)")
        tx.write("INSERT INTO notes (body, who) VALUES (?, ?)", (f"call {PHONE} or mo@example.org", "777"))
        person = await _supporter(tx, clock, telegram="777")
        other = await _supporter(tx, clock, phone="+447400222333")
        supporters.update(tx, other, referred_by=person.id)
        await organisers.add(tx, "organiser", clock.now(), PHONE, None, None)
        outbox.enqueue(tx, "sms", PHONE, '{"text":"Hi Mo"}', clock.now(), supporter_id=person.id)
        outbox.enqueue(tx, "telegram", "777", '{"text":"Hi Mo"}', clock.now())  # no supporter id on it
        claimed = await outbox.claim(tx, "sms", clock.now(), 10, owner="test", lease_until=clock.now())
        outbox.finish(tx, [outbox.Outcome(claimed[0].id, "sent")], clock.now(), "test")

        was = await privacy.erase(tx, person.id, clock.now())

        assert was["phone"] == PHONE and was["telegram_id"] == 777 and was["first_name"] == "Mo"
        rows = [tuple(r) for r in await tx.query(
            "SELECT status, address, payload, supporter_id FROM outbox ORDER BY id")]
        assert rows == [("sent", "", privacy.ERASED_PAYLOAD, person.id),
                        ("cancelled", "", privacy.ERASED_PAYLOAD, person.id)]
        assert [tuple(r) for r in await tx.query("SELECT body, who FROM notes")] == [("call  or ", "")]
        assert await tx.scalar("SELECT COUNT(*) FROM organisers") == 0
        assert await tx.scalar("SELECT referred_by FROM supporters WHERE id = ?", (other.id,)) == person.id
        assert await supporters.count_by_status(tx) == {"active": 1, "erased": 1}
        assert (await privacy.export(tx, person.id))["phone"] is None
        assert await privacy.export(tx, 999) is None


async def test_addresses_wait_until_the_last_message_is_final(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        person = await _supporter(tx, clock)
        await privacy.erase(tx, person.id, clock.now())
        outbox.enqueue(tx, "sms", PHONE, '{"text":"Erased."}', clock.now(), supporter_id=person.id)
        claimed = await outbox.claim(tx, "sms", clock.now(), 10, owner="test", lease_until=clock.now())
        assert await privacy.scrub_addresses(tx) == 0  # still sending: it needs the address
        outbox.finish(tx, [outbox.Outcome(claimed[0].id, "sent")], clock.now(), "test")
        assert await privacy.scrub_addresses(tx) == 1
        assert await tx.scalar("SELECT address FROM outbox") == ""
