"""The consent log: append-only opt-ins and opt-outs, with the current status kept in step."""
from __future__ import annotations

from datetime import datetime

from storage import outbox
from storage.db import Row, Tx, ts
from storage.supporters import CHANNELS, Supporter

SOURCES = ("keyword", "flow", "carrier", "import", "organiser", "import-opt-out", "web", "api")


def record(
    tx: Tx,
    supporter: Supporter,
    channel: str,
    action: str,
    source: str,
    at: datetime,
    wording_version: str | None = None,
    reason: str | None = None,
    import_id: int | None = None,
    method: str | None = None,
) -> None:
    """Append one consent event and update the supporter's current status on that channel.

    `reason` is why, when someone other than the supporter recorded it (an organiser opting them
    out on their behalf, as they asked by email or in person). `import_id` is the import that made it
    and `method` how the person consented as that file's evidence says (the source is then 'import')."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    if action not in ("opt_in", "opt_out"):
        raise ValueError(f"unknown consent action {action!r}")
    if source not in SOURCES:
        raise ValueError(f"unknown consent source {source!r}")
    status = "opted_in" if action == "opt_in" else "opted_out"
    setattr(supporter, f"{channel}_consent", status)
    tx.write(
        "INSERT INTO consent_log (supporter_id, channel, action, source, wording_version, reason, at, import_id, "
        "method) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (supporter.id, channel, action, source, wording_version, reason, ts(at), import_id, method),
    )
    tx.write(f"UPDATE supporters SET {channel}_consent = ? WHERE id = ?", (status, supporter.id))
    if action == "opt_out":  # opt-out wins over anything already queued
        outbox.cancel_bulk(tx, supporter.id, channel, at)


async def history(tx: Tx, supporter_id: int) -> list[Row]:
    return await tx.query(
        "SELECT channel, action, source, wording_version, at FROM consent_log "
        "WHERE supporter_id = ? ORDER BY id",
        (supporter_id,),
    )
