"""The event loop every command and the service run on: uvloop's where it is installed.

uvloop (libuv's loop, the one uvicorn picks for itself when it can) runs the same asyncio code
with less of the loop's own work per callback and per hand-over from another thread, such as
aiosqlite's (the engine's inbound rate about 1.1x here: BENCHMARKS.md). Where it is not installed
(it is not built for Windows) the standard loop runs instead, with the same behaviour.
"""
from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Coroutine
from importlib.metadata import version
from typing import Any, TypeVar

T = TypeVar("T")

INSTALLED = importlib.util.find_spec("uvloop") is not None


def factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """What makes a new loop: uvloop's when installed; None for the standard one."""
    if not INSTALLED:
        return None
    import uvloop
    return uvloop.new_event_loop


def name(standard: bool = False) -> str:
    """The loop run() runs on, and its version: for what the benchmarks print."""
    return f"uvloop {version('uvloop')}" if INSTALLED and not standard else "asyncio"


def run(main: Coroutine[Any, Any, T], *, standard: bool = False) -> T:
    """asyncio.run(main), on the loop factory() makes (standard: the standard loop, to compare)."""
    with asyncio.Runner(loop_factory=None if standard else factory()) as runner:
        return runner.run(main)
