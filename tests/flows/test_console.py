"""The organiser console: /help by role, and the role check on every command."""
from __future__ import annotations

import pytest

from flows.console import commands as console
from flows.core import routes
from storage import organisers


@pytest.fixture
def secret_command(monkeypatch):
    async def handler(ctx):
        ctx.reply("secret done")

    monkeypatch.setitem(console.COMMANDS, "/secret", console.Command(handler, "console.help_desc"))
    monkeypatch.setitem(routes.KEYWORDS, "/SECRET", console.guarded("/secret"))


async def _organiser(harness, telegram_id: int, role: str = "organiser") -> None:
    async with harness.db.transaction() as tx:
        await organisers.add(tx, role, harness.clock.now(), telegram_id=telegram_id)


async def test_supporters_get_the_ordinary_help(harness):
    text = await harness.texts("telegram", "501", "/help")
    assert "STOP" in text and "Organiser commands" not in text


async def test_organisers_get_their_commands(harness, secret_command):
    await _organiser(harness, 502)
    text = await harness.texts("telegram", "502", "/help")
    assert text.startswith("Organiser commands:")
    assert "/help — this list" in text and "/secret" in text


async def test_supporters_are_refused_politely(harness, secret_command):
    text = await harness.texts("telegram", "503", "/secret")
    assert "for organisers only" in text and "secret done" not in text


async def test_role_is_read_on_every_command(harness, secret_command):
    await _organiser(harness, 504)
    assert await harness.texts("telegram", "504", "/secret") == "secret done"
    async with harness.db.transaction() as tx:
        await organisers.remove(tx, telegram_id=504)
    assert "for organisers only" in await harness.texts("telegram", "504", "/secret")


async def test_every_registered_command_is_a_keyword():
    assert {name.upper() for name in console.COMMANDS} <= set(routes.KEYWORDS)
