"""What the public web pages read: published events still to come (nationally or a group's), local
groups by id or name, and whether a browser's confirmed RSVP is 'going'. Nothing here names a person."""
from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from storage.db import Tx, ts
from storage.events import Event

_COLUMNS = ", ".join(f.name for f in fields(Event))


async def upcoming(tx: Tx, now: datetime, group_id: int | None = None, *, national: bool = False,
                   limit: int = 100) -> list[Event]:
    """Published events not yet started, soonest first: every one (no group given), a group's own
    (and with `national`, the national ones too)."""
    published = "status = 'confirmed' AND starts_at > ?"
    params: list[Any]
    if group_id is None:
        sql, params = f"SELECT {_COLUMNS} FROM events WHERE {published}", [ts(now)]
    else:  # each part read from the (group, start) index rather than every published event filtered
        sql, params = f"SELECT {_COLUMNS} FROM events WHERE group_id = ? AND {published}", [group_id, ts(now)]
        if national:
            sql += f" UNION ALL SELECT {_COLUMNS} FROM events WHERE group_id IS NULL AND {published}"
            params.append(ts(now))
    rows = await tx.query(f"{sql} ORDER BY starts_at, id LIMIT ?", [*params, limit])
    return [Event.from_row(r) for r in rows]


async def going_counts(tx: Tx, event_ids: list[int]) -> dict[int, int]:
    """People going to each event (waitlist, maybe and can't go left out)."""
    found = {i: 0 for i in event_ids}
    if not event_ids:
        return found
    marks = ", ".join("?" for _ in event_ids)
    for r in await tx.query(f"SELECT event_id, COUNT(*) FROM rsvps WHERE event_id IN ({marks}) AND status = 'going' "
                            "GROUP BY event_id", event_ids):
        found[r[0]] = r[1]
    return found


async def group_names(tx: Tx, group_ids: list[int] | None = None) -> dict[int, str]:
    """Local groups' names by id (every group when None)."""
    if group_ids is None:
        rows = await tx.query("SELECT id, name FROM local_groups ORDER BY name")
    else:
        ids = sorted(set(group_ids))
        if not ids:
            return {}
        rows = await tx.query(f"SELECT id, name FROM local_groups WHERE id IN ({', '.join('?' for _ in ids)})", ids)
    return {r[0]: r[1] for r in rows}


async def confirmed_going(tx: Tx, phone_hash: str, event_id: int) -> bool:
    """Whether the number with this hash confirmed an RSVP to this event from the web and is going."""
    found = await tx.scalar(
        "SELECT 1 FROM signup_requests q JOIN rsvps r ON r.event_id = q.event_id AND r.supporter_id = q.supporter_id "
        "WHERE q.phone_hash = ? AND q.event_id = ? AND q.answer = 'yes' AND r.status = 'going' LIMIT 1",
        (phone_hash, event_id))
    return found is not None
