"""What a provider's verdict on a send means for the supporter (blocked, opted out, unreachable)."""
from __future__ import annotations

import logging
from datetime import datetime

from storage import consent, supporters
from storage.db import Tx

log = logging.getLogger(__name__)


async def provider_signal(
    tx: Tx, supporter_id: int | None, channel: str, now: datetime, *,
    opt_out: bool = False, undeliverable: bool = False, code: str | None = None,
) -> None:
    """Record what the provider told us: an opt-out there is an opt-out here (a carrier event)."""
    if supporter_id is None:
        return
    person = await supporters.get(tx, supporter_id)
    if person is None:
        return
    if opt_out and person.consent(channel) != "opted_out":
        consent.record(tx, person, channel, "opt_out", "carrier", now)
        log.info("supporter %s opted out on %s by provider signal %s", supporter_id, channel, code)
