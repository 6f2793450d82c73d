"""Group commit for the dispatcher: writes asked for at about the same moment share one transaction."""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class CommitGroup(Generic[T]):
    """`add(item)` returns once `write(items)` has committed the item with every other item added in
    the same turn of the event loop (or the next), or, while a write is under way, with every item
    added until it ends: one write at a time, and those asked for meanwhile go together in the next
    (the database takes one transaction at a time anyway). A waiter that is cancelled does not take
    its item back: once asked for, the write happens."""

    def __init__(self, write: Callable[[list[T]], Awaitable[None]]) -> None:
        self._write = write
        self._batch: tuple[list[T], list[asyncio.Future[None]]] | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    async def add(self, item: T) -> None:
        loop = asyncio.get_running_loop()
        if self._batch is None:
            self._batch = ([], [])
            if not self._flushes:  # otherwise the write under way starts this one when it ends
                loop.call_soon(self._start_flush)
        items, waiters = self._batch
        items.append(item)
        # One future per waiter: cancelling it cancels only this wait, never the write.
        waiter: asyncio.Future[None] = loop.create_future()
        waiters.append(waiter)
        await waiter

    def _start_flush(self) -> None:
        if self._batch is None or self._flushes:
            return
        task = asyncio.get_running_loop().create_task(self._flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushed)

    def _flushed(self, task: asyncio.Task[None]) -> None:
        self._flushes.discard(task)
        self._start_flush()  # what was added while it ran

    async def _flush(self) -> None:
        assert self._batch is not None
        (items, waiters), self._batch = self._batch, None
        try:
            await self._write(items)
        except Exception as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
        except BaseException:
            for waiter in waiters:
                waiter.cancel()
            raise
        else:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    async def drain(self) -> None:
        """Wait for every write already asked for (a stop calls this last)."""
        while self._batch is not None or self._flushes:
            await asyncio.sleep(0)
            await asyncio.gather(*self._flushes, return_exceptions=True)
