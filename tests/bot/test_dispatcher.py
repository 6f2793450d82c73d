"""The dispatcher: at-most-once, typed retries with back-off, provider signals, priority."""
from __future__ import annotations

from bot.channels.base import SendError
from bot.channels.sandbox import SandboxChannel
from bot.dispatcher import Dispatcher
from flows.core.types import Reply
from storage import outbox, supporters


async def _queue(h, address="+447400123456", text="hello", priority=outbox.INTERACTIVE, n=1):
    async with h.db.transaction() as tx:
        found = await supporters.find_or_create_many(tx, "sms", [address], h.clock.now())
        for i in range(n):
            outbox.enqueue(tx, "sms", address, Reply(f"{text}{i if n > 1 else ''}").to_payload(), h.clock.now(),
                           supporter_id=found[address].id, priority=priority)
    return found[address]


async def _statuses(h):
    async with h.db.transaction() as tx:
        return [tuple(r) for r in await tx.query("SELECT status, attempts, error_code FROM outbox ORDER BY id")]


async def test_sent_rows_are_recorded(harness):
    await _queue(harness)
    await harness.deliver()
    assert await _statuses(harness) == [("sent", 1, None)]
    assert harness.channels["sms"].pop("+447400123456")[0]["text"] == "hello"


async def test_rows_handed_over_before_a_crash_become_unknown_and_are_never_resent(harness):
    await _queue(harness, n=4)
    async with harness.db.transaction() as tx:
        claimed = await outbox.claim(tx, "sms", harness.clock.now(), 3, owner="crashed",
                                     lease_until=harness.clock.now())
    async with harness.db.transaction() as tx:
        outbox.hand(tx, [claimed[0].id, claimed[1].id], harness.clock.now(), "crashed")
    # ... and the process dies: two rows were on their way to the provider, one was still waiting
    restarted = Dispatcher(harness.db, harness.channels, harness.clock)
    assert await restarted.recover() == (1, 2)
    while await restarted.drain_once("sms"):
        pass
    assert await _statuses(harness) == [
        ("unknown", 1, None), ("unknown", 1, None), ("sent", 1, None), ("sent", 1, None)]
    assert [m["text"] for m in harness.channels["sms"].pop("+447400123456")] == ["hello2", "hello3"]


async def test_every_send_is_recorded_as_handed_over_before_the_provider_sees_it(harness):
    await _queue(harness, n=3)
    seen = []
    send = harness.channels["sms"].send

    async def checking(row, reply):
        async with harness.db.transaction() as tx:
            seen.append(await tx.scalar("SELECT handed_at IS NOT NULL FROM outbox WHERE id = ?", (row.id,)))
        return await send(row, reply)

    harness.channels["sms"].send = checking
    await harness.deliver()
    assert seen == [1, 1, 1]


async def test_replies_that_may_go_at_once_are_handed_over_with_their_claim(harness):
    """Two transactions a send: the claim with its hand-over, committed before the provider is called,
    then the outcome; not a third for the hand-over on its own."""
    await _queue(harness, n=3)
    transactions, transaction = [], harness.db.transaction

    def counted():
        transactions.append(1)
        return transaction()

    harness.db.transaction = counted
    assert await harness.dispatcher.drain_once("sms") == 3
    harness.db.transaction = transaction
    assert len(transactions) == 2
    assert await _statuses(harness) == [("sent", 1, None)] * 3


async def test_a_row_waiting_for_its_pacing_slot_is_handed_over_only_when_its_turn_comes(harness):
    """At two a second, the first of two rows goes at once, handed over with the claim; the second is
    only claimed (queued again by a crash meanwhile, never `unknown`) until its slot, then handed over."""
    await _queue(harness, n=2)
    paced = SandboxChannel("sms", 2.0)
    slept, handed_while_waiting = [], []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        async with harness.db.transaction() as tx:
            handed_while_waiting.append(await tx.scalar("SELECT COUNT(handed_at) FROM outbox"))

    dispatcher = Dispatcher(harness.db, {"sms": paced}, harness.clock, sleep=sleep)
    assert await dispatcher.drain_once("sms") == 2
    assert slept and handed_while_waiting[0] == 1  # the first handed over with the claim, the second not yet
    assert await _statuses(harness) == [("sent", 1, None)] * 2


async def test_retryable_errors_back_off_then_succeed(harness):
    await _queue(harness)
    box = harness.channels["sms"]
    box.fail_next(SendError("429", retryable=True, code="20429"), times=2)
    assert await harness.dispatcher.drain_once("sms") == 1
    assert await _statuses(harness) == [("queued", 1, "20429")]
    assert await harness.dispatcher.drain_once("sms") == 0  # not due yet
    harness.clock.advance(seconds=2)
    assert await harness.dispatcher.drain_once("sms") == 1
    assert await harness.dispatcher.drain_once("sms") == 0  # second back-off is longer (4 s)
    harness.clock.advance(seconds=3)
    assert await harness.dispatcher.drain_once("sms") == 0
    harness.clock.advance(seconds=1)
    assert await harness.dispatcher.drain_once("sms") == 1
    assert await _statuses(harness) == [("sent", 3, None)]


async def test_retries_are_bounded(harness):
    await _queue(harness)
    harness.channels["sms"].fail_next(SendError("refused", retryable=True, code="conn"), times=10)
    for _ in range(10):
        await harness.dispatcher.drain_once("sms")
        harness.clock.advance(seconds=400)
    assert await _statuses(harness) == [("failed", 5, "conn")]


async def test_errors_that_may_have_sent_are_not_retried(harness):
    await _queue(harness)
    harness.channels["sms"].fail_next(SendError("500", retryable=False, code="http-500"))
    await harness.deliver()
    harness.clock.advance(hours=1)
    await harness.deliver()
    assert await _statuses(harness) == [("failed", 1, "http-500")]


async def test_retry_after_pauses_the_channel(harness):
    await _queue(harness, n=2)
    harness.channels["sms"].fail_next(SendError("slow down", retryable=True, code="429", retry_after=30))
    await harness.dispatcher.drain_once("sms")
    pacer = harness.channels["sms"].pacer
    now = harness.clock.now().timestamp()
    assert pacer.paused(now)
    assert pacer.reserve(now) >= 29


async def test_provider_opt_out_opts_the_supporter_out(harness):
    person = await _queue(harness)
    harness.channels["sms"].fail_next(SendError("unsubscribed", retryable=False, code="21610", opt_out=True))
    await harness.deliver()
    async with harness.db.transaction() as tx:
        fresh = await supporters.get(tx, person.id)
        log = await tx.query("SELECT action, source FROM consent_log WHERE supporter_id = ?", (person.id,))
    assert fresh.sms_consent == "opted_out"
    assert [tuple(r) for r in log] == [("opt_out", "carrier")]


async def test_replies_go_ahead_of_queued_bulk(harness):
    await _queue(harness, address="+447400000001", text="bulk", priority=outbox.BULK, n=120)
    await _queue(harness, address="+447400000002", text="reply")
    harness.channels["sms"].pacer.rate = 10  # claims about a second's worth at a time
    await harness.dispatcher.drain_once("sms")
    assert [m["text"] for m in harness.channels["sms"].pop("+447400000002")] == ["reply"]


async def test_outbound_to_one_recipient_is_capped_per_minute(harness):
    outcomes = []
    capped = Dispatcher(harness.db, harness.channels, harness.clock, per_address_per_minute=3,
                        on_outcome=lambda channel, status: outcomes.append(status))
    await _queue(harness, n=5)
    while await capped.drain_once("sms"):
        pass
    assert len(harness.channels["sms"].pop("+447400123456")) == 3
    assert outcomes.count("capped") == 2
    assert [s for s, _, _ in await _statuses(harness)] == ["sent"] * 3 + ["queued"] * 2
    harness.clock.advance(seconds=61)
    while await capped.drain_once("sms"):
        pass
    assert [m["text"] for m in harness.channels["sms"].pop("+447400123456")] == ["hello3", "hello4"]


async def test_an_outcome_that_could_not_be_recorded_is_recorded_later_not_left_sending(harness):
    """A failed write (a deadlock, a dropped connection) after the provider answered: the row stays
    this worker's claim, and is recorded at the next heartbeat or stop, not left `sending` for ever."""
    await _queue(harness, n=2)
    dispatcher = Dispatcher(harness.db, harness.channels, harness.clock)
    write, failures = dispatcher._write_outcomes, []

    async def failing_once(tx, done):
        if not failures:
            failures.append(len(done))
            raise RuntimeError("deadlock detected")
        await write(tx, done)

    dispatcher._write_outcomes = failing_once  # the outcomes' part of the group commit
    assert await dispatcher.drain_once("sms") == 2
    assert failures == [2]
    assert await _statuses(harness) == [("sending", 1, None), ("sending", 1, None)]
    assert len(harness.channels["sms"].pop("+447400123456")) == 2  # they went out once
    await dispatcher.stop()
    assert await _statuses(harness) == [("sent", 1, None), ("sent", 1, None)]


async def test_an_outcome_left_to_record_is_dropped_when_the_row_is_claimed_again(harness):
    """Cut off, a worker could not record that a send failed and should be retried; its claim ran
    out and was queued again by another worker; it claimed the row once more and is sending it when
    its heartbeat comes to record the old outcome. That outcome belongs to the old claim: recorded,
    it would queue the row again under the new send, and the supporter would get it twice."""
    await _queue(harness)
    dispatcher = Dispatcher(harness.db, harness.channels, harness.clock)
    write, failures = dispatcher._write_outcomes, []

    async def failing_once(tx, done):
        if not failures:
            failures.append(len(done))
            raise RuntimeError("connection terminated")
        await write(tx, done)

    dispatcher._write_outcomes = failing_once
    box = harness.channels["sms"]
    box.fail_next(SendError("429", retryable=True, code="20429"), times=1)
    assert await dispatcher.drain_once("sms") == 1  # not sent; "retry" could not be recorded
    async with harness.db.transaction() as tx:  # the claim recovered by another worker: queued again
        await tx.execute("UPDATE outbox SET status = 'queued', claimed_by = NULL, lease_until = NULL")
    send = box.send

    async def heartbeat_mid_send(row, reply):
        await dispatcher._record_late()
        return await send(row, reply)

    box.send = heartbeat_mid_send
    assert await dispatcher.drain_once("sms") == 1
    box.send = send
    while await dispatcher.drain_once("sms"):
        pass
    assert len(box.pop("+447400123456")) == 1
    assert [s for s, _, _ in await _statuses(harness)] == ["sent"]


async def test_a_row_claimed_again_while_its_earlier_send_is_under_way_is_sent_once(harness):
    await _queue(harness)
    dispatcher = Dispatcher(harness.db, harness.channels, harness.clock)
    box, send, again = harness.channels["sms"], harness.channels["sms"].send, []

    async def slow(row, reply):
        if not again:  # meanwhile the claim is recovered, queued again and claimed by us once more
            async with harness.db.transaction() as tx:
                await tx.execute("UPDATE outbox SET status = 'queued', claimed_by = NULL, handed_at = NULL")
            again.append(await dispatcher._claim("sms", 10))
        return await send(row, reply)

    box.send = slow
    await dispatcher.drain_once("sms")
    while await dispatcher.drain_once("sms"):
        pass
    assert again == [1]
    assert len(box.pop("+447400123456")) == 1
