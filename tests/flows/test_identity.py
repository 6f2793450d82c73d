"""A phone number shared in Telegram links the supporter's channels, or merges two records."""
from __future__ import annotations

import json

import pytest

from flows.core.context import Context
from flows.supporter import identity
from storage import consent, supporters
from tests.harness import Harness

PHONE = "+447400123456"
TG = "700100200"


async def _person(h: Harness, channel: str, address: str, *, name: str | None = None,
                  opt_in: bool = True, interests: tuple[str, ...] = ()) -> int:
    """A supporter who has talked to us once on that channel (and perhaps opted in)."""
    await h.say(channel, address, "MENU")
    async with h.db.transaction() as tx:
        person = await supporters.find(tx, channel, address)
        assert person is not None
        if name:
            supporters.update(tx, person, first_name=name, status="active")
        if opt_in:
            consent.record(tx, person, channel, "opt_in", "flow", h.clock.now(), "v1")
        for interest in interests:
            tx.write("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)", (person.id, interest))
        return person.id


async def _share(h: Harness, sender: str, phone: str, owner: object) -> str:
    return await h.texts("telegram", sender, kind="contact", phone=phone, contact_user_id=owner)


async def _rows(h: Harness, sql: str, params: tuple = ()) -> list:
    async with h.db.transaction() as tx:
        return [tuple(r) for r in await tx.query(sql, params)]


async def test_share_links_a_new_number(harness: Harness) -> None:
    tg_id = await _person(harness, "telegram", TG)
    reply = await _share(harness, TG, "447400123456", int(TG))  # some clients drop the '+'
    assert "linked to your account" in reply
    assert await _rows(harness, "SELECT id, phone, telegram_id FROM supporters") == [(tg_id, PHONE, int(TG))]
    # Texting from that number now reaches the same supporter.
    await harness.say("sms", PHONE, "MENU")
    assert await _rows(harness, "SELECT COUNT(*) FROM supporters") == [(1,)]
    assert "already linked" in await _share(harness, TG, f"{PHONE}", int(TG))


async def test_merge_keeps_the_older_record_and_moves_history(harness: Harness) -> None:
    async with harness.db.transaction() as tx:  # another feature's table that refers to supporters
        await tx.execute("CREATE TABLE test_pledges (supporter_id INTEGER NOT NULL REFERENCES supporters(id) "
                         "ON DELETE CASCADE, what TEXT NOT NULL, UNIQUE (supporter_id, what))")
    sms_id = await _person(harness, "sms", PHONE, name="Ada", interests=("housing", "jobs"))
    harness.clock.advance(minutes=5)
    tg_id = await _person(harness, "telegram", TG, interests=("jobs", "elections"))
    async with harness.db.transaction() as tx:
        tx.write("INSERT INTO test_pledges VALUES (?, 'leaflets')", (tg_id,))
        tx.write("UPDATE supporters SET referred_by = ? WHERE id = ?", (sms_id, tg_id))  # a self-referral after all
    before = await _rows(harness, "SELECT COUNT(*) FROM outbox")
    await harness.say("telegram", TG, "HELP")  # leave a conversation row on Telegram

    reply = await _share(harness, TG, PHONE, int(TG))

    assert "joined the two together" in reply
    people = await _rows(harness, "SELECT id, phone, telegram_id, first_name, sms_consent, telegram_consent, "
                                  "status, referred_by FROM supporters")
    assert people == [(sms_id, PHONE, int(TG), "Ada", "opted_in", "opted_in", "active", None)]
    assert await _rows(harness, "SELECT interest FROM supporter_interests WHERE supporter_id = ? ORDER BY 1",
                       (sms_id,)) == [("elections",), ("housing",), ("jobs",)]
    assert await _rows(harness, "SELECT channel FROM consent_log WHERE supporter_id = ? ORDER BY id",
                       (sms_id,)) == [("sms",), ("telegram",)]
    assert await _rows(harness, "SELECT COUNT(*) FROM consent_log WHERE supporter_id IS NULL OR supporter_id <> ?",
                       (sms_id,)) == [(0,)]
    outbox = await _rows(harness, "SELECT DISTINCT supporter_id FROM outbox")
    assert outbox == [(sms_id,)] and (await _rows(harness, "SELECT COUNT(*) FROM outbox"))[0][0] > before[0][0]
    assert await _rows(harness, "SELECT supporter_id, channel FROM conversations ORDER BY channel") == [
        (sms_id, "sms"), (sms_id, "telegram")]
    assert await _rows(harness, "SELECT supporter_id, what FROM test_pledges") == [(sms_id, "leaflets")]

    # Both channels now reach the one supporter.
    await harness.say("sms", PHONE, "MENU")
    await harness.say("telegram", TG, "MENU")
    assert await _rows(harness, "SELECT COUNT(*) FROM supporters") == [(1,)]


async def test_merge_leaves_behind_only_rows_that_clash_with_the_kept_records(harness: Harness, caplog) -> None:
    """Another feature's rows move to the kept record unless it has its own under the same key (a
    primary key, or a unique index): then the kept record's answer wins and the dropped one goes."""
    async with harness.db.transaction() as tx:
        await tx.execute("CREATE TABLE test_answers (question INTEGER NOT NULL, supporter_id INTEGER NOT NULL "
                         "REFERENCES supporters(id) ON DELETE CASCADE, answer TEXT NOT NULL, "
                         "PRIMARY KEY (question, supporter_id))")
        await tx.execute("CREATE TABLE test_pledges (id INTEGER PRIMARY KEY, supporter_id INTEGER REFERENCES "
                         "supporters(id) ON DELETE CASCADE, what TEXT, UNIQUE (supporter_id, what))")
    keep = await _person(harness, "sms", PHONE, name="Ada")
    harness.clock.advance(minutes=5)
    drop = await _person(harness, "telegram", TG)
    async with harness.db.transaction() as tx:
        tx.write_many("INSERT INTO test_answers VALUES (?, ?, ?)",
                      [(1, keep, "yes"), (1, drop, "no"), (2, drop, "maybe")])
        tx.write_many("INSERT INTO test_pledges (supporter_id, what) VALUES (?, ?)",
                      [(keep, "leaflets"), (drop, "leaflets"), (drop, "phone bank"), (drop, None), (keep, None)])
    with caplog.at_level("WARNING"):
        assert "joined the two together" in await _share(harness, TG, PHONE, int(TG))
    assert await _rows(harness, "SELECT question, supporter_id, answer FROM test_answers ORDER BY 1") == [
        (1, keep, "yes"), (2, keep, "maybe")]
    pledges = await _rows(harness, "SELECT supporter_id, what FROM test_pledges")
    assert sorted(pledges, key=lambda p: (p[1] is None, p[1] or "")) == [
        (keep, "leaflets"), (keep, "phone bank"), (keep, None), (keep, None)]  # NULLs never clash
    assert "1 test_answers row(s)" in caplog.text and "1 test_pledges row(s)" in caplog.text
    assert await _rows(harness, "SELECT id FROM supporters") == [(keep,)]


async def test_merge_keeps_the_telegram_record_when_it_is_older(harness: Harness) -> None:
    tg_id = await _person(harness, "telegram", TG, name="Bo")
    harness.clock.advance(minutes=5)
    sms_id = await _person(harness, "sms", PHONE, name="Robert", opt_in=False)
    await _share(harness, TG, PHONE, TG)  # the id may come as text
    assert await _rows(harness, "SELECT id, phone, telegram_id, first_name, sms_consent, telegram_consent "
                                "FROM supporters") == [(tg_id, PHONE, int(TG), "Bo", "none", "opted_in")]
    assert await _rows(harness, "SELECT COUNT(*) FROM outbox WHERE supporter_id = ?", (sms_id,)) == [(0,)]
    assert await _rows(harness, "SELECT COUNT(*) FROM outbox WHERE supporter_id = ? AND channel = 'sms'",
                       (tg_id,)) != [(0,)]


@pytest.mark.parametrize("owner", [999, None, "someone"])
async def test_someone_elses_contact_is_refused_and_changes_nothing(harness: Harness, owner: object) -> None:
    await _person(harness, "sms", PHONE, name="Ada")
    await _person(harness, "telegram", TG)
    snapshot = "SELECT id, phone, telegram_id, first_name, status, sms_consent, telegram_consent FROM supporters"
    before = await _rows(harness, snapshot)
    reply = await _share(harness, TG, PHONE, owner)
    assert "only link your own phone number" in reply
    assert await _rows(harness, snapshot) == before
    phones = await _rows(harness, "SELECT phone, telegram_id FROM supporters ORDER BY id")
    assert phones == [(PHONE, None), (None, int(TG))]


async def test_a_conflict_keeps_both_records_and_says_so(harness: Harness, caplog) -> None:
    # The number's SMS record is already linked to another Telegram account.
    sms_id = await _person(harness, "sms", PHONE, name="Ada")
    async with harness.db.transaction() as tx:
        tx.write("UPDATE supporters SET telegram_id = 555000111 WHERE id = ?", (sms_id,))
    tg_id = await _person(harness, "telegram", TG)
    with caplog.at_level("WARNING"):
        reply = await _share(harness, TG, PHONE, int(TG))
    assert "couldn't link that number automatically" in reply
    assert await _rows(harness, "SELECT id, phone, telegram_id FROM supporters ORDER BY id") == [
        (sms_id, PHONE, 555000111), (tg_id, None, int(TG))]
    assert PHONE not in caplog.text and "+44…456" in caplog.text  # logged, masked

    # A Telegram supporter who already has a different number shares another one.
    other = "+447400999888"
    async with harness.db.transaction() as tx:
        tx.write("UPDATE supporters SET phone = ? WHERE id = ?", (other, tg_id))
    reply = await _share(harness, TG, PHONE, int(TG))
    assert "couldn't link that number automatically" in reply
    assert await _rows(harness, "SELECT COUNT(*) FROM supporters") == [(2,)]


async def test_unreadable_number(harness: Harness) -> None:
    await _person(harness, "telegram", TG)
    assert "couldn't read that phone number" in await _share(harness, TG, "call me", int(TG))


async def test_ask_for_phone_offers_the_button_and_flows_can_carry_on(harness: Harness) -> None:
    calls: list[str] = []

    async def carry_on(ctx: Context) -> None:
        calls.append(ctx.supporter.phone or "")
        ctx.finish()

    async def ask(ctx: Context) -> None:
        ctx.begin("test_flow", "phone")
        identity.ask_for_phone(ctx)

    from flows.core import routes

    routes.KEYWORDS["TESTPHONE"] = ask
    identity.AFTER_CONTACT["test_flow"] = carry_on
    try:
        tg = await harness.say("telegram", TG, "TESTPHONE")
        assert tg[0]["request_contact"] is True
        sms = await harness.say("sms", PHONE, "TESTPHONE")
        assert "share your phone number" in sms[0]["text"]
        await _share(harness, TG, "+447400555666", int(TG))
        assert calls == ["+447400555666"]
    finally:
        routes.KEYWORDS.pop("TESTPHONE")
        identity.AFTER_CONTACT.pop("test_flow")
    # The payload still carries the flag for the Telegram channel to render.
    rows = await _rows(harness, "SELECT payload FROM outbox WHERE channel = 'telegram' ORDER BY id")
    assert any(json.loads(p).get("request_contact") for (p,) in rows)
