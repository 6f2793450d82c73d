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
    if undeliverable and channel == "sms" and not person.sms_undeliverable:
        supporters.update(tx, person, sms_undeliverable=1)
        log.info("supporter %s marked undeliverable on sms by provider signal %s", supporter_id, code)


def texted_in(tx: Tx, person: supporters.Supporter, channel: str) -> None:
    """A number that just texted us can receive texts again: clear its undeliverable mark."""
    if channel == "sms" and person.sms_undeliverable:
        supporters.update(tx, person, sms_undeliverable=0)
