"""The engine: routing order, atomicity, dedupe, batching."""
from __future__ import annotations

import pytest

from flows.core import routes
from flows.core.context import Context
from flows.core.engine import Engine
from flows.core.types import Choice, Inbound
from storage import supporters


async def test_unknown_text_gets_the_menu(harness):
    replies = await harness.say("sms", "+447400123456", "what is this")
    assert len(replies) == 1
    assert "didn't understand" in replies[0]["text"]
    assert "5 Help" in replies[0]["text"]


async def test_a_number_picks_the_choice_offered_last(harness):
    await harness.say("sms", "+447400123456", "MENU")
    text = await harness.texts("sms", "+447400123456", "5")
    assert "STOP" in text  # the help text


async def test_telegram_replies_carry_buttons(harness):
    replies = await harness.say("telegram", "4242", "menu")
    assert {"key": "menu:help", "label": "Help"} in replies[0]["choices"]


async def test_retried_provider_id_is_answered_once(harness):
    first = await harness.send("sms", "+447400123456", "MENU", provider_id="SM1")
    second = await harness.send("sms", "+447400123456", "MENU", provider_id="SM1")
    await harness.deliver()
    assert (first.duplicate, second.duplicate) == (False, True)
    assert len(harness.channels["sms"].pop("+447400123456")) == 1


async def test_a_failing_step_writes_nothing_but_an_apology(harness, monkeypatch):
    async def broken(ctx: Context) -> None:
        ctx.reply("half done", [Choice("x:1", "X")])
        supporters.update(ctx.tx, ctx.supporter, first_name="Half")
        raise RuntimeError("boom")

    monkeypatch.setitem(routes.KEYWORDS, "BREAK", broken)
    replies = await harness.say("sms", "+447400123456", "BREAK")
    assert [r["text"] for r in replies] == ["Sorry, something went wrong on our side. Please try again in a minute."]
    async with harness.db.transaction() as tx:
        person = await supporters.find(tx, "sms", "+447400123456")
        assert person.first_name is None


async def test_one_failing_message_does_not_spoil_its_batch(harness, monkeypatch):
    async def broken(ctx: Context) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(routes.KEYWORDS, "BREAK", broken)
    batch = [
        Inbound("sms", f"+44740012345{i}", "BREAK" if i == 2 else "MENU", f"b{i}", harness.clock.now())
        for i in range(5)
    ]
    results = await harness.engine.process(batch)
    assert [r.failed for r in results] == [False, False, True, False, False]
    await harness.deliver()
    assert "What would you like" in harness.channels["sms"].pop("+447400123450")[0]["text"]
    assert "Sorry" in harness.channels["sms"].pop("+447400123452")[0]["text"]


async def test_the_batchs_steps_reads_go_together_and_one_failing_spoils_only_its_message(harness, monkeypatch):
    from flows.supporter import signup

    people = [f"+44740012346{i}" for i in range(4)]
    for person in people:
        for text in ("JOIN", "Sam"):
            await harness.say("sms", person, text)
    statements: list[str] = []
    await harness.db.conn.set_trace_callback(statements.append)
    batch = [Inbound("sms", p, "M1 1AE", f"pc{i}", harness.clock.now()) for i, p in enumerate(people)]
    assert not any(r.failed for r in await harness.engine.process(batch))
    covering = [s for s in statements if "FROM group_areas" in s]
    assert len(covering) == 4  # each asked once, ahead of its step, which found it kept

    real = signup.AHEAD["postcode"]

    def broken(ctx: Context):
        if ctx.inbound.address == people[1]:
            raise RuntimeError("boom")
        return real(ctx)

    monkeypatch.setitem(signup.AHEAD, "postcode", broken)
    others = [f"+44740012347{i}" for i in range(3)]
    for person in others:
        for text in ("JOIN", "Sam"):
            await harness.say("sms", person, text)
    people[1] = others[1]
    await harness.deliver()
    batch = [Inbound("sms", p, "M1 1AE", f"pd{i}", harness.clock.now()) for i, p in enumerate(others)]
    assert [r.failed for r in await harness.engine.process(batch)] == [False, True, False]
    await harness.db.conn.set_trace_callback(None)
    async with harness.db.transaction() as tx:
        found = [await supporters.find(tx, "sms", p) for p in others]
    assert [p.postcode for p in found] == ["M1 1AE", None, "M1 1AE"]


async def test_two_messages_that_clash_at_commit_are_rerun_one_by_one(harness, monkeypatch):
    from flows.supporter import referrals

    def drawn(letter: str) -> int:  # the number a code of one letter throughout is made from
        return sum(referrals.ALPHABET.index(letter) * len(referrals.ALPHABET) ** i for i in range(referrals.LENGTH))

    codes = iter([drawn("K"), drawn("K"), drawn("M"), drawn("N")])  # one draw a code
    monkeypatch.setattr(referrals.secrets, "randbelow", lambda n: next(codes))
    people = ["+447400123450", "+447400123451"]
    for person in people:
        for text in ("JOIN", "Sam", "skip", "skip", "skip"):
            await harness.say("sms", person, text)
    batch = [Inbound("sms", person, "YES", f"yes{i}", harness.clock.now()) for i, person in enumerate(people)]
    results = await harness.engine.process(batch)  # both pick KKKKKK: the unique index refuses the commit
    assert [r.failed for r in results] == [False, False]
    await harness.deliver()
    welcomes = [harness.channels["sms"].pop(person)[0]["text"] for person in people]
    assert "JOIN MMMMMM" in welcomes[0] and "JOIN NNNNNN" in welcomes[1]
    async with harness.db.transaction() as tx:
        assert [tuple(r) for r in await tx.query("SELECT referral_code FROM supporters ORDER BY id")] == [
            ("MMMMMM",), ("NNNNNN",)]


async def test_routing_order_consent_before_keywords_before_flow(harness, monkeypatch):
    calls = []

    async def consent(ctx):
        calls.append("consent")

    async def keyword(ctx):
        calls.append("keyword")

    async def step(ctx):
        calls.append("step")

    monkeypatch.setitem(routes.CONSENT, "STOP", consent)
    monkeypatch.setitem(routes.KEYWORDS, "STOP", keyword)
    monkeypatch.setitem(routes.KEYWORDS, "PING", keyword)
    monkeypatch.setitem(routes.FLOWS, "probe", routes.Flow("probe", {"ask": step}))

    async def start(ctx):
        ctx.begin("probe", "ask")

    monkeypatch.setitem(routes.KEYWORDS, "PROBE", start)
    await harness.send("sms", "+447400123456", "PROBE")
    await harness.send("sms", "+447400123456", "stop")
    await harness.send("sms", "+447400123456", "ping")
    await harness.send("sms", "+447400123456", "anything")
    assert calls == ["consent", "keyword", "step"]


async def test_idle_conversation_expires(harness, monkeypatch):
    async def step(ctx):
        ctx.reply("step ran")

    async def start(ctx):
        ctx.begin("probe", "ask")

    monkeypatch.setitem(routes.FLOWS, "probe", routes.Flow("probe", {"ask": step}))
    monkeypatch.setitem(routes.KEYWORDS, "PROBE", start)
    await harness.say("sms", "+447400123456", "PROBE")
    harness.clock.advance(minutes=61)
    text = await harness.texts("sms", "+447400123456", "hello")
    assert "didn't understand" in text


async def test_running_engine_batches_concurrent_messages(tmp_path, clock):
    import asyncio

    from storage import open_database

    db = await open_database(str(tmp_path / "b.db"))
    engine = Engine(db, clock)
    engine.start()
    try:
        messages = [Inbound("sms", f"+4474001{i:05d}", "MENU", f"c{i}", clock.now()) for i in range(200)]
        results = await asyncio.gather(*(engine.handle(m) for m in messages))
        assert not any(r.duplicate or r.failed for r in results)
        async with db.transaction() as tx:
            assert await tx.scalar("SELECT COUNT(*) FROM outbox") == 200
            assert await tx.scalar("SELECT COUNT(*) FROM supporters") == 200
    finally:
        await engine.stop()
        await db.close()


@pytest.mark.parametrize("text", ["", "   ", "\x00", "🙂" * 500])
async def test_odd_text_always_gets_an_answer(harness, text):
    replies = await harness.say("sms", "+447400123456", text)
    assert replies


async def test_a_flooding_sender_is_throttled_but_stop_still_works(harness, monkeypatch):
    stopped = []

    async def stop(ctx):
        stopped.append(ctx.text)
        ctx.reply("stopped")

    monkeypatch.setitem(routes.CONSENT, "STOP", stop)
    answers = [await harness.say("sms", "+447400123456", f"hello {i}") for i in range(25)]
    assert all("didn't understand" in a[0]["text"] for a in answers[:20])
    assert "faster than I can answer" in answers[20][0]["text"]
    assert answers[21:] == [[], [], [], []]
    assert [m["text"] for m in await harness.say("sms", "+447400123456", "STOP")] == ["stopped"]
    # someone else is unaffected, and a minute later the sender is answered again
    assert await harness.say("sms", "+447400999999", "hello")
    harness.clock.advance(seconds=61)
    assert "didn't understand" in (await harness.texts("sms", "+447400123456", "hello again"))
