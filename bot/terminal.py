"""`muster chat`: a terminal conversation with the bot, through the real engine and outbox."""
from __future__ import annotations

import asyncio
import uuid

from rich.console import Console

from bot import demo
from bot.channels.sandbox import SandboxChannel
from bot.config import Settings
from bot.dispatcher import Dispatcher
from bot.web.simulator import address_for
from flows.core.clock import SystemClock
from flows.core.engine import Engine
from flows.core.types import Inbound
from storage import open_database

console = Console()


async def chat(settings: Settings, channel: str, raw_address: str) -> None:
    try:
        address = address_for(channel, raw_address)
    except ValueError as exc:
        console.print(f"[red]{exc}[/red]")
        return
    clock = SystemClock()
    db = await open_database(str(settings.db_path))
    box = SandboxChannel(channel)
    try:
        if settings.sandbox and settings.demo:
            await demo.seed(db, clock)
        engine = Engine(db, clock, settings.flow_settings())
        # The caller holds the database lock, so no service is sending from it; even so, only
        # this address's messages are delivered here.
        dispatcher = Dispatcher(db, {channel: box}, clock)
        console.print(f"Chatting on {channel} as {address}. Type JOIN to sign up, MENU for options, Ctrl-D to leave.")
        seen = 0
        while True:
            try:
                line = await asyncio.to_thread(input, "> ")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return
            if not line.strip():
                continue
            await engine.process([Inbound(channel, address, line, f"chat:{uuid.uuid4().hex}", clock.now())])
            while await dispatcher.drain_once(channel, address):
                pass
            for message in box.messages(address, seen):
                seen = message["id"]
                console.print(f"[bold]{settings.movement}:[/bold] {message['text']}", highlight=False)
                for n, choice in enumerate(message.get("choices", []), 1):
                    console.print(f"  [{n}] {choice['label']}", highlight=False)
                if message.get("document"):
                    console.print(f"  (document: {message['document']})")
    finally:
        await db.close()
