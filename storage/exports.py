"""What leaves Muster as CSV: supporters, the consent log, event attendances and broadcast results,
a page at a time by keyset (each page starts after the last row's key, never at an OFFSET), so that
an export of any size is read in flat memory and page 1,000 costs what page 1 does.

`groups` limits rows to those local groups (None: everyone, erased supporters' anonymous rows
included where a table keeps them).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.db import Row, Tx

# The unit separator, as a quoted literal (SQLite spells the function char(31), PostgreSQL chr(31)):
# never in a stored value, so one subquery can carry four.
_SEP = "'\x1f'"


def _groups(column: str, groups: Sequence[int] | None) -> tuple[str, list[Any]]:
    if groups is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' for _ in groups) or 'NULL'})", list(groups)


def _latest(channel: str) -> str:
    return (f"(SELECT c.at || {_SEP} || c.source || {_SEP} || COALESCE(c.method, '') || {_SEP} || "
            f"COALESCE(c.wording_version, '') FROM consent_log c WHERE c.supporter_id = s.id AND "
            f"c.channel = '{channel}' ORDER BY c.id DESC LIMIT 1)")


async def supporters(tx: Tx, groups: Sequence[int] | None, after: int, limit: int) -> list[Row]:
    """Supporters (never the erased) by id after `after`, with their group's name, interests and the
    latest consent event on each channel ('at␟source␟method␟wording')."""
    scope, params = _groups("s.group_id", groups)
    return await tx.query(
        "SELECT s.id, s.phone, s.telegram_id, s.first_name, s.last_name, s.email, s.postcode, g.name, "
        "(SELECT group_concat(o.interest, ';') FROM (SELECT i.interest FROM supporter_interests i "
        " WHERE i.supporter_id = s.id ORDER BY i.interest) AS o), "
        f"s.language, s.sms_consent, {_latest('sms')}, s.telegram_consent, {_latest('telegram')}, s.created_at "
        "FROM supporters s LEFT JOIN local_groups g ON g.id = s.group_id "
        f"WHERE s.status <> 'erased' AND s.id > ?{scope} ORDER BY s.id LIMIT {int(limit)}", [after, *params])


async def consent_log(tx: Tx, groups: Sequence[int] | None, after: int, limit: int) -> list[Row]:
    """The consent log by id after `after`, with the supporter's addresses (none for an erased one)."""
    scope, params = _groups("s.group_id", groups)
    return await tx.query(
        "SELECT c.id, c.supporter_id, s.phone, s.telegram_id, c.channel, c.action, c.source, c.method, "
        "c.wording_version, c.reason, c.at, c.import_id FROM consent_log c "
        "LEFT JOIN supporters s ON s.id = c.supporter_id "
        f"WHERE c.id > ?{scope} ORDER BY c.id LIMIT {int(limit)}", [after, *params])


async def attendances(tx: Tx, groups: Sequence[int] | None, after: tuple[int, int], limit: int) -> list[Row]:
    """RSVPs by (event, supporter) after `after`, with the event and the supporter as they are now."""
    scope, params = _groups("e.group_id", groups)
    return await tx.query(
        "SELECT r.event_id, e.title, e.starts_at, g.name, r.supporter_id, s.first_name, s.last_name, s.phone, "
        "s.telegram_id, r.status, r.attended, r.updated_at FROM rsvps r JOIN events e ON e.id = r.event_id "
        "LEFT JOIN local_groups g ON g.id = e.group_id LEFT JOIN supporters s ON s.id = r.supporter_id "
        f"WHERE (r.event_id, r.supporter_id) > (?, ?){scope} ORDER BY r.event_id, r.supporter_id "
        f"LIMIT {int(limit)}", [after[0], after[1], *params])


async def broadcast_results(tx: Tx, broadcast_ids: Sequence[int] | None, after: int, limit: int) -> list[Row]:
    """Every broadcast message by outbox id after `after` (of these broadcasts; None: all), with the
    provider's last report, the error code and an alert's answer."""
    if broadcast_ids is not None and not broadcast_ids:
        return []
    scope, params = ("", []) if broadcast_ids is None else _groups("o.broadcast_id", broadcast_ids)
    return await tx.query(
        "SELECT o.broadcast_id, b.kind, b.started_at, o.id, o.supporter_id, s.first_name, o.channel, o.address, "
        "o.status, d.status, COALESCE(d.error_code, o.error_code), x.response, o.updated_at "
        "FROM outbox o JOIN broadcasts b ON b.id = o.broadcast_id "
        "LEFT JOIN deliveries d ON d.channel = o.channel AND d.provider_id = o.provider_id "
        "LEFT JOIN supporters s ON s.id = o.supporter_id "
        "LEFT JOIN alert_responses x ON x.broadcast_id = o.broadcast_id AND x.supporter_id = o.supporter_id "
        f"WHERE o.broadcast_id IS NOT NULL AND o.id > ?{scope} ORDER BY o.id LIMIT {int(limit)}", [after, *params])
