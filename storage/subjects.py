"""Whom an outbox message is about, when that is someone besides its recipient.

A welcome posted in a group chat names the member who joined; a broadcast preview sent to
an organiser shows a sample recipient by name. Such a message lists those supporters in its
payload under "about" (`{"text": …, "about": [12]}`), written with the message itself
whatever path queues it. Erasing one of them blanks the message; merging two records keeps
the list pointing at the record that stays.

Finding them reads every payload that has the key: erasure and merging are rare, and the
erasure already reads every column of every table.
"""
from __future__ import annotations

import json
from typing import Any

from storage.db import Tx

KEY = "about"
_HAS_KEY = f'%"{KEY}":[%'


def of(payload: str | None) -> list[int]:
    """The supporter ids a payload is about; [] when it names no one (or is not ours)."""
    try:
        data: Any = json.loads(payload or "")
    except ValueError:
        return []
    about = data.get(KEY) if isinstance(data, dict) else None
    return [int(i) for i in about if isinstance(i, int)] if isinstance(about, list) else []


async def _candidates(tx: Tx) -> list[tuple[int, str]]:
    return [(r[0], r[1]) for r in await tx.query("SELECT id, payload FROM outbox WHERE payload LIKE ?", (_HAS_KEY,))]


async def messages_about(tx: Tx, supporter_id: int) -> list[int]:
    """Ids of outbox rows whose payload is about this supporter."""
    return [row_id for row_id, payload in await _candidates(tx) if supporter_id in of(payload)]


async def move(tx: Tx, keep_id: int, drop_id: int) -> int:
    """Two records became one: messages about the dropped one are now about the kept one."""
    moved = 0
    for row_id, payload in await _candidates(tx):
        about = of(payload)
        if drop_id not in about:
            continue
        data = json.loads(payload)
        data[KEY] = sorted({keep_id if i == drop_id else i for i in about})
        await tx.execute("UPDATE outbox SET payload = ? WHERE id = ?",
                         (json.dumps(data, ensure_ascii=False, separators=(",", ":")), row_id))
        moved += 1
    return moved
