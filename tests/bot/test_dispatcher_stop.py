"""The dispatcher's workers: a hung send holds one slot, a stop waits for answers, nothing is left behind."""
from __future__ import annotations

import asyncio
import gc

from bot.channels.sandbox import SandboxChannel
from bot.commit_group import CommitGroup
from bot.dispatcher import Dispatcher
from flows.core.clock import SystemClock
from flows.core.types import Reply
from storage import outbox


async def _queue(db, texts, priority=outbox.BULK, channel="sms"):
    async with db.transaction() as tx:
        for i, text in enumerate(texts):
            outbox.enqueue(tx, channel, f"+4474009{i:05d}", Reply(text).to_payload(), SystemClock().now(),
                           priority=priority)


async def _status(db):
    async with db.transaction() as tx:
        return {r[0]: r[1] for r in await tx.query("SELECT payload, status FROM outbox")}


def _holding(channel: SandboxChannel, gates: dict[str, asyncio.Event]):
    """Sends whose text has a gate wait for it to open."""
    send = channel.send

    async def held(row, reply):
        if reply.text in gates:
            await gates[reply.text].wait()
        return await send(row, reply)

    channel.send = held


async def _until(check, seconds=5.0):
    for _ in range(int(seconds / 0.01)):
        if await check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("timed out")


async def test_a_hung_send_holds_one_slot_and_a_reply_goes_past_it(db):
    sms = SandboxChannel("sms")
    hung = asyncio.Event()
    _holding(sms, {"bulk0": hung})
    dispatcher = Dispatcher(db, {"sms": sms}, SystemClock(), batch=5)
    await _queue(db, [f"bulk{i}" for i in range(3)])
    await dispatcher.start()
    try:
        await _until(lambda: _sent(db, "bulk1", "bulk2"))
        await _queue(db, ["reply"], priority=outbox.INTERACTIVE)
        dispatcher.wake()
        await _until(lambda: _sent(db, "reply"))
        assert (await _status(db))['{"text":"bulk0"}'] == "sending"
        hung.set()
        await _until(lambda: _sent(db, "bulk0"))
    finally:
        await dispatcher.stop()


async def _sent(db, *texts):
    status = await _status(db)
    return all(status.get(Reply(t).to_payload()) == "sent" for t in texts)


async def test_a_stop_waits_for_answers_within_the_grace_and_settles_the_rest(db):
    sms = SandboxChannel("sms")
    slow, never = asyncio.Event(), asyncio.Event()
    _holding(sms, {"slow": slow, "never": never})
    dispatcher = Dispatcher(db, {"sms": sms}, SystemClock(), batch=5, stop_grace=0.3)
    await _queue(db, ["slow", "never"])
    await dispatcher.start()
    await _until(lambda: _handed(db, 2))
    asyncio.get_running_loop().call_later(0.1, slow.set)  # answers within the grace
    await dispatcher.stop()
    status = await _status(db)
    assert status[Reply("slow").to_payload()] == "sent"
    assert status[Reply("never").to_payload()] == "unknown"  # handed over, never answered
    assert not [t for t in asyncio.all_tasks() if t.get_name().startswith(("send-", "dispatch-"))]


async def test_rows_waiting_for_their_turn_go_back_to_the_queue_at_a_stop(db):
    telegram = SandboxChannel("telegram")
    telegram.pacer.key_interval = lambda key: 3600.0  # the second message to one chat waits an hour
    dispatcher = Dispatcher(db, {"telegram": telegram}, SystemClock(), batch=5, stop_grace=0.1)
    async with db.transaction() as tx:
        for text in ("first", "second"):
            outbox.enqueue(tx, "telegram", "42", Reply(text).to_payload(), SystemClock().now())
    await dispatcher.start()
    await _until(lambda: _sent(db, "first"))
    await dispatcher.stop()
    async with db.transaction() as tx:
        assert [tuple(r) for r in await tx.query("SELECT status, attempts, claimed_by FROM outbox ORDER BY id")] == [
            ("sent", 1, None), ("queued", 0, None)]


async def _handed(db, n):
    async with db.transaction() as tx:
        return await tx.scalar("SELECT COUNT(*) FROM outbox WHERE handed_at IS NOT NULL") == n


async def test_a_failed_group_commit_with_no_one_waiting_leaves_no_unretrieved_error():
    seen = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _, context: seen.append(context))

    async def fail(items):
        raise RuntimeError("disk on fire")

    group = CommitGroup(fail)
    waiter = asyncio.create_task(group.add(1))
    await asyncio.sleep(0)
    waiter.cancel()
    await group.drain()
    del waiter
    gc.collect()
    await asyncio.sleep(0)
    loop.set_exception_handler(None)
    assert seen == []


async def test_a_group_commit_writes_one_batch_at_a_time_and_gathers_what_comes_meanwhile():
    writing, written = asyncio.Event(), []
    release = asyncio.Event()

    async def write(items):
        written.append(list(items))
        writing.set()
        await release.wait()

    group = CommitGroup(write)
    first = asyncio.create_task(group.add(1))
    await writing.wait()  # the first write is under way
    later = [asyncio.create_task(group.add(n)) for n in (2, 3)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert written == [[1]]  # nothing starts beside it
    release.set()
    await asyncio.gather(first, *later)
    assert written == [[1], [2, 3]]
