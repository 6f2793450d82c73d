"""What Twilio's delivery reports and error codes mean for supporters and for broadcast reports.

Twilio sends a report per status change (queued, sending, sent, delivered, undelivered,
failed, …); they may arrive out of order, so each is stored only if it moves the message
forward. Error codes worth acting on: 21610 (the number texted STOP to Twilio) opts the
supporter out of SMS; 21211, 21614 and 30006 (not a mobile, not valid, landline) mark the
number undeliverable until it texts in again; 30003 (unreachable, often temporary) and
30007 (filtered by the carrier as spam) are counted for organisers.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from flows.verdicts import delivery
from storage import deliveries, supporters
from storage.db import Tx

log = logging.getLogger(__name__)

CHANNEL = "sms"
# How far along each status is; a report at the same or an earlier stage changes nothing.
STAGES: dict[str, int] = {
    "accepted": 1, "scheduled": 1, "queued": 1,
    "sending": 2,
    "sent": 3,
    "delivered": 4, "undelivered": 4, "failed": 4, "canceled": 4,
    "read": 5,
}
OPTED_OUT = "21610"
UNDELIVERABLE = frozenset({"21211", "21614", "30006"})
UNREACHABLE = "30003"
FILTERED = "30007"


def is_opt_out(code: str | None) -> bool:
    return code == OPTED_OUT


def is_undeliverable(code: str | None) -> bool:
    return code in UNDELIVERABLE


async def record(
    tx: Tx, provider_id: str, status: str, error_code: str | None, address: str | None, now: datetime,
) -> bool:
    """Store one delivery report and act on its error code; False if it was stale or repeated."""
    status = status.strip().lower()
    code = (error_code or "").strip() or None
    stage = STAGES.get(status, 0)
    if not await deliveries.record(tx, CHANNEL, provider_id, status, stage, code, now):
        return False
    if is_opt_out(code) or is_undeliverable(code):
        supporter_id = await deliveries.supporter_of(tx, CHANNEL, provider_id)
        if supporter_id is None and address:  # the report beat the send's own commit
            person = await supporters.find(tx, CHANNEL, address)
            supporter_id = person.id if person else None
        await delivery.provider_signal(
            tx, supporter_id, CHANNEL, now, opt_out=is_opt_out(code),
            undeliverable=is_undeliverable(code), code=code,
        )
    elif code:
        log.info("sms %s: %s with error %s", provider_id, status, code)
    return True


@dataclass(frozen=True)
class Report:
    """A broadcast's SMS outcome, in the terms organisers see."""
    total: int
    delivered: int
    pending: int
    failed: int
    opted_out: int
    undeliverable: int
    unreachable: int
    filtered: int
    statuses: dict[str, int]
    errors: dict[str, int]


_PENDING = frozenset({"queued", "sending", "sent", "accepted", "scheduled"})
_FAILED = frozenset({"failed", "undelivered", "canceled", "unknown"})


async def report(tx: Tx, broadcast_id: int) -> Report:
    """Totals per status and error code for one broadcast, with the codes that matter named."""
    found = await deliveries.totals(tx, broadcast_id)
    statuses, errors = found.statuses, found.errors
    return Report(
        total=found.total,
        delivered=statuses.get("delivered", 0) + statuses.get("read", 0),
        pending=sum(n for s, n in statuses.items() if s in _PENDING),
        failed=sum(n for s, n in statuses.items() if s in _FAILED),
        opted_out=errors.get(OPTED_OUT, 0),
        undeliverable=sum(n for c, n in errors.items() if c in UNDELIVERABLE),
        unreachable=errors.get(UNREACHABLE, 0),
        filtered=errors.get(FILTERED, 0),
        statuses=statuses,
        errors=errors,
    )
