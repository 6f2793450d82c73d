"""First-run demo data for sandbox mode, clearly marked, never in live mode."""
from __future__ import annotations

import logging

from flows.core.clock import Clock
from flows.values.phones import masked
from storage import groups, organisers
from storage.db import Database

log = logging.getLogger(__name__)

DEMO_GROUP = "Manchester Central (demo)"
DEMO_AREAS = ["M1", "M2", "M3", "M4"]
DEMO_ORGANISER_PHONE = "+447700900001"   # Ofcom drama range: never a real person
DEMO_ORGANISER_TELEGRAM_ID = 1001


async def seed(db: Database, clock: Clock) -> bool:
    """Seed one local group and one admin organiser into an empty database; True if seeded."""
    async with db.transaction() as tx:
        if await groups.count(tx):
            return False
        group = await groups.add(tx, DEMO_GROUP, DEMO_AREAS, clock.now(), is_demo=True)
        await organisers.add(
            tx, "admin", clock.now(), phone=DEMO_ORGANISER_PHONE, telegram_id=DEMO_ORGANISER_TELEGRAM_ID,
        )
    log.info(
        "sandbox demo seeded: group %r (%s); admin organiser %s / Telegram id %s",
        group.name, " ".join(DEMO_AREAS), masked(DEMO_ORGANISER_PHONE), DEMO_ORGANISER_TELEGRAM_ID,
    )
    return True
