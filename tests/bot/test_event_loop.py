"""The service and every command run on uvloop's event loop where it is installed, and the
standard loop can still be asked for."""
from __future__ import annotations

import asyncio

import uvloop

from bot import event_loop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_run_uses_uvloop_where_installed() -> None:
    assert event_loop.INSTALLED
    assert issubclass(event_loop.run(_loop_type()), uvloop.Loop)
    assert event_loop.name().startswith("uvloop ")


def test_the_standard_loop_when_asked() -> None:
    loop_type = event_loop.run(_loop_type(), standard=True)
    assert not issubclass(loop_type, uvloop.Loop) and issubclass(loop_type, asyncio.BaseEventLoop)
    assert event_loop.name(standard=True) == "asyncio"


def test_a_command_runs_on_it() -> None:
    from bot.cli import base

    async def make() -> type:
        return await _loop_type()

    assert issubclass(base.run_async(make), uvloop.Loop)
