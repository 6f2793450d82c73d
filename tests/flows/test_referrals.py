"""Referral codes, links and crediting."""
from __future__ import annotations

from flows.core.clock import FakeClock
from flows.core.context import Context
from flows.core.settings import FlowSettings
from flows.core.types import Inbound
from flows.supporter import referrals
from storage import supporters
from storage.conversations import Conversation
from storage.db import Database


async def _ctx(tx, channel: str, address: str, clock: FakeClock) -> Context:
    found = await supporters.find_or_create_many(tx, channel, [address], clock.now())
    person = found[address]
    return Context(tx, Inbound(channel, address, "JOIN"), person, Conversation(person.id, channel), clock,
                   FlowSettings(telegram_bot_username="test_bot"))


async def test_code_is_short_unambiguous_stable_and_unique(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        codes = set()
        for n in range(200):
            ctx = await _ctx(tx, "sms", f"+4474001{n:05d}", clock)
            code = await referrals.code_for(ctx)
            assert code == await referrals.code_for(ctx)  # created once
            assert len(code) == 6 and not set(code) & set("0O1IL5S2Z")
            codes.add(code)
        assert len(codes) == 200
    async with db.transaction() as tx:
        ctx = await _ctx(tx, "sms", "+447400100000", clock)
        assert ctx.supporter.referral_code in codes  # stored, not just returned


async def test_link_per_channel(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        tg = await _ctx(tx, "telegram", "555", clock)
        sms = await _ctx(tx, "sms", "+447400123456", clock)
        assert referrals.link_for(tg, "K7MX4Q") == "https://t.me/test_bot?start=r_K7MX4Q"
        assert referrals.link_for(sms, "K7MX4Q") == "JOIN K7MX4Q"


async def test_credited_once_never_self_unknown_ignored(db: Database, clock: FakeClock) -> None:
    async with db.transaction() as tx:
        alice = await _ctx(tx, "sms", "+447400000001", clock)
        bob = await _ctx(tx, "sms", "+447400000002", clock)
        carol = await _ctx(tx, "telegram", "303", clock)
        a_code, b_code = await referrals.code_for(alice), await referrals.code_for(bob)

        await referrals.credit(alice, a_code)           # herself
        await referrals.credit(alice, "QQQQQQ")         # unknown
        await referrals.credit(alice, "not a code!")    # nonsense
        assert alice.supporter.referred_by is None

        await referrals.credit(carol, f"r_{a_code.lower()}")  # deep-link payload, any case
        await referrals.credit(carol, b_code)                 # a second code does not re-credit
        assert carol.supporter.referred_by == alice.supporter.id
        await referrals.credit(bob, a_code)
        await referrals.credit(alice, b_code)  # bob's recruiter cannot be credited to bob
        assert alice.supporter.referred_by is None
    async with db.transaction() as tx:
        rows = await tx.query("SELECT id, referred_by FROM supporters ORDER BY id")
        assert [r[1] for r in rows] == [None, alice.supporter.id, alice.supporter.id]
