"""The audit log, as organiser operations write it: who (the actor's label), which front, what."""
from __future__ import annotations

from datetime import datetime

from flows.organiser.access import Actor
from storage import audit as store
from storage.db import Tx


def front_of(actor: Actor) -> str:
    """'cli' for the command line, 'web' for the console, 'chat' for the chat console."""
    if actor.trusted or actor.label == "cli":
        return "cli"
    return "web" if actor.label.startswith("web:") else "chat"


def note(tx: Tx, actor: Actor, now: datetime, action: str, *, target: str | None = None,
         detail: str | None = None, origin: str | None = None) -> None:
    """Record one organiser action. `detail` says what changed, never a name, number or message text."""
    store.record(tx, now, actor.label, front_of(actor), action, target=target, detail=detail, origin=origin)
