"""Shared fixtures. Any attempt to reach the network beyond this machine fails the test."""
from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator

import pytest

# The command line's rich consoles read COLUMNS whenever they print, as in a shell, so a test can
# widen the terminal with monkeypatch; a COLUMNS already set when they are made (pytest-xdist sets
# one in its workers) would fix their width for good.
os.environ.pop("COLUMNS", None)

from flows.core.clock import FakeClock
from storage import open_database
from storage.db import Database
from tests.harness import Harness

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _local(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # unix sockets
        return True
    host = address[0] if isinstance(address, tuple) else None
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except (TypeError, ValueError):
        return False


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def guarded(connect):
        def inner(sock: socket.socket, address: object):
            if not _local(address):
                raise RuntimeError(f"test tried to reach the network: {address!r}")
            return connect(sock, address)
        return inner

    monkeypatch.setattr(socket.socket, "connect", guarded(_real_connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(_real_connect_ex))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    """Settings come only from what a test sets: no developer .env or credentials leak in."""
    import os

    for key in list(os.environ):
        if key.startswith(("MUSTER_", "TELEGRAM_", "TWILIO_", "SMS_", "BROADCAST_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def db(tmp_path) -> AsyncIterator[Database]:
    database = await open_database(str(tmp_path / "test.db"))
    yield database
    await database.close()


@pytest.fixture
async def harness(tmp_path, clock) -> AsyncIterator[Harness]:
    h = await Harness.create(tmp_path, clock=clock)
    yield h
    await h.close()
