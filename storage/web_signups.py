"""The web's double opt-in: consent wordings by version, each confirmation text asked for (by the
number's salted hash), and the event-only permissions of people who RSVPed without campaign consent."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from storage.db import Tx, ts

# The channel (or NULL) on which a supporter allowed an event's own messages, still standing: no
# opt-out on that channel since it was given. `{event}` and `{supporter}` name the SQL columns.
PERMITTED = (
    "(SELECT p.channel FROM event_permissions p WHERE p.event_id = {event} AND p.supporter_id = {supporter} "
    "AND NOT EXISTS (SELECT 1 FROM consent_log c WHERE c.supporter_id = p.supporter_id "
    "AND c.channel = p.channel AND c.action = 'opt_out' AND c.at >= p.granted_at) "
    "ORDER BY p.granted_at DESC LIMIT 1)"
)


def permitted_sql(event: str, supporter: str) -> str:
    """PERMITTED for these column expressions (e.g. 'r.event_id', 's.id')."""
    return PERMITTED.format(event=event, supporter=supporter)


@dataclass(frozen=True)
class Request:
    id: int
    supporter_id: int | None
    source: str
    campaign: bool
    wording_version: str | None
    event_id: int | None
    requested_at: str
    confirmed_at: str | None
    answer: str | None


# -- wordings ---------------------------------------------------------------------------------
def version_of(text: str, source: str) -> str:
    """The version naming this exact wording shown on this front: '<source>-' and 12 hex digits of
    its SHA-256. Changing a word changes the version, so no one has to remember to."""
    return f"{source}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


async def wording(tx: Tx, text: str, source: str, now: datetime) -> str:
    """Store this exact wording once (consent_wordings) and return its version."""
    version = version_of(text, source)
    if await tx.scalar("SELECT 1 FROM consent_wordings WHERE version = ?", (version,)) is None:
        tx.write("INSERT INTO consent_wordings (version, text, source, created_at) VALUES (?, ?, ?, ?) "
                 "ON CONFLICT (version) DO NOTHING", (version, text, source, ts(now)))
    return version


async def wording_known(tx: Tx, version: str) -> bool:
    return await tx.scalar("SELECT 1 FROM consent_wordings WHERE version = ?", (version,)) is not None


# -- confirmation requests ----------------------------------------------------------------------
async def last_sent(tx: Tx, phone_hash: str, since: datetime) -> str | None:
    """When the latest confirmation text to this number went out after `since` (None: none did)."""
    value: str | None = await tx.scalar(
        "SELECT MAX(requested_at) FROM signup_requests WHERE phone_hash = ? AND requested_at > ?",
        (phone_hash, ts(since)))
    return value


async def add_request(
    tx: Tx, *, phone_hash: str, supporter_id: int, source: str, campaign: bool, wording_version: str | None,
    event_id: int | None, group_id: int | None, now: datetime,
) -> int:
    value: int = await tx.scalar(
        "INSERT INTO signup_requests (phone_hash, supporter_id, source, campaign, wording_version, event_id, "
        "group_id, requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        (phone_hash, supporter_id, source, int(campaign), wording_version, event_id, group_id, ts(now)))
    return value


async def get_request(tx: Tx, request_id: int) -> Request | None:
    row = await tx.one(
        "SELECT id, supporter_id, source, campaign, wording_version, event_id, requested_at, confirmed_at, answer "
        "FROM signup_requests WHERE id = ?", (request_id,))
    if row is None:
        return None
    return Request(row[0], row[1], row[2], bool(row[3]), row[4], row[5], row[6], row[7], row[8])


def answer(tx: Tx, request_id: int, answered: str, now: datetime) -> None:
    """Record the person's answer ('yes' or 'no') to a confirmation text, once."""
    tx.write("UPDATE signup_requests SET answer = ?, confirmed_at = ? WHERE id = ? AND answer IS NULL",
             (answered, ts(now), request_id))


# -- event-only permissions ------------------------------------------------------------------------
def permit(tx: Tx, event_id: int, supporter_id: int, channel: str, source: str, now: datetime,
           request_id: int | None = None) -> None:
    """This person allows this event's own messages on this channel (given again: from now)."""
    tx.write(
        "INSERT INTO event_permissions (event_id, supporter_id, channel, source, request_id, granted_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_id, supporter_id, channel) DO UPDATE SET "
        "source = excluded.source, request_id = excluded.request_id, granted_at = excluded.granted_at",
        (event_id, supporter_id, channel, source, request_id, ts(now)))


async def any_standing(tx: Tx, supporter_id: int, channel: str) -> bool:
    """Whether any event permission of this supporter on this channel still stands (for a STOP from
    someone already opted out, who still hears about an event they confirmed since)."""
    found = await tx.scalar(
        "SELECT 1 FROM event_permissions p WHERE p.supporter_id = ? AND p.channel = ? "
        "AND NOT EXISTS (SELECT 1 FROM consent_log c WHERE c.supporter_id = p.supporter_id "
        "AND c.channel = p.channel AND c.action = 'opt_out' AND c.at >= p.granted_at) LIMIT 1",
        (supporter_id, channel))
    return found is not None


async def permitted(tx: Tx, event_id: int, supporter_id: int) -> str | None:
    """The channel on which this supporter still allows this event's own messages, if any."""
    value: str | None = await tx.scalar(f"SELECT {permitted_sql('?', '?')}", (event_id, supporter_id))
    return value
