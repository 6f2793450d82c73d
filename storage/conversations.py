"""Conversation state per (supporter, channel): which flow, which step, and what it has gathered."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage import supporters
from storage.db import Row, Tx, json_text, parse_json, ts


@dataclass
class Conversation:
    supporter_id: int
    channel: str
    flow: str | None = None
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    # Keys of the choices last offered, so "2" on SMS means the second of them.
    choices: list[str] = field(default_factory=list)
    misses: int = 0
    updated_at: str | None = None


async def load_many(tx: Tx, supporter_ids: list[int], channel: str) -> dict[int, Conversation]:
    if not supporter_ids:
        return {}
    marks = ", ".join("?" for _ in supporter_ids)
    rows = await tx.query(
        f"SELECT {_COLUMNS} FROM conversations WHERE channel = ? AND supporter_id IN ({marks})",
        [channel, *supporter_ids],
    )
    return {r["supporter_id"]: _conversation(r, channel) for r in rows}


async def load_by_address(tx: Tx, channel: str, addresses: list[str]) -> dict[int, Conversation]:
    """The conversations on a channel of the supporters behind these addresses, by supporter id: one
    read that needs no ids, so it can go to the database with the read of the supporters themselves."""
    column, values = supporters.identities(channel, addresses)
    marks = ", ".join("?" for _ in values)
    rows = await tx.query(
        f"SELECT {', '.join('c.' + c for c in _COLUMNS.split(', '))} FROM conversations c "
        f"JOIN supporters s ON s.id = c.supporter_id WHERE c.channel = ? AND s.{column} IN ({marks})",
        [channel, *values],
    )
    return {r["supporter_id"]: _conversation(r, channel) for r in rows}


_COLUMNS = "supporter_id, flow, step, data, choices, misses, updated_at"


def _conversation(r: Row, channel: str) -> Conversation:
    return Conversation(r["supporter_id"], channel, r["flow"], r["step"], parse_json(r["data"]),
                        parse_json(r["choices"]), r["misses"], r["updated_at"])


def save(tx: Tx, conv: Conversation, now: datetime) -> None:
    conv.updated_at = ts(now)
    tx.write(
        "INSERT INTO conversations (supporter_id, channel, flow, step, data, choices, misses, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (supporter_id, channel) DO UPDATE SET flow = excluded.flow, step = excluded.step, "
        "data = excluded.data, choices = excluded.choices, misses = excluded.misses, "
        "updated_at = excluded.updated_at",
        (
            conv.supporter_id, conv.channel, conv.flow, conv.step,
            json_text(conv.data), json_text(conv.choices), conv.misses,
            conv.updated_at,
        ),
    )


def offer(tx: Tx, supporter_id: int, channel: str, keys: list[str], now: datetime) -> None:
    """Remember choices sent outside a conversation (a reminder, an announcement), so "2" answers them.

    The flow and step are left as they are, and so is updated_at, which times out idle flows.
    """
    tx.write(
        "INSERT INTO conversations (supporter_id, channel, choices, updated_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (supporter_id, channel) DO UPDATE SET choices = excluded.choices",
        (supporter_id, channel, json_text(keys), ts(now)),
    )
