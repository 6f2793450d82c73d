"""The audit log, as organiser operations write it: who (the actor's label), which front, what."""
from __future__ import annotations

from datetime import datetime

from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from storage import audit as store
from storage.db import Tx


def front_of(actor: Actor) -> str:
    """'cli' for the command line, 'web' for the console, 'api' for an API token, 'chat' for the chat console."""
    if actor.trusted or actor.label == "cli":
        return "cli"
    if actor.label.startswith("api:"):
        return "api"
    return "web" if actor.label.startswith("web:") else "chat"


def note(tx: Tx, actor: Actor, now: datetime, action: str, *, target: str | None = None,
         detail: str | None = None, origin: str | None = None) -> None:
    """Record one organiser action. `detail` says what changed, never a name, number or message text.

    `origin` is where it came from: by default the actor's (a web client's address), and for the
    chat console the channel it was typed on; the command line has none.
    """
    front = front_of(actor)
    if origin is None:
        origin = actor.origin or (actor.notify_channel if front == "chat" else None)
    store.record(tx, now, actor.label, front, action, target=target, detail=detail, origin=origin)


async def entries(tx: Tx, actor: Actor, *, before_id: int | None = None, limit: int = 50) -> list[store.Entry]:
    """The log, newest first, `limit` at a time before `before_id` (keyset): for admins only."""
    if not actor.is_admin:
        raise ScopeError("Only an admin can read the audit log.")
    return await store.recent(tx, before_id, limit)
