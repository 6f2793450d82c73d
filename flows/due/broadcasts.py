"""Due work for broadcasts: start what is due (or mark it missed), hold bulk SMS through quiet
hours, and tell the organiser how far a large one has got and what became of it at the end."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.organiser import reports as broadcast_report
from flows.organiser.broadcasts import local
from flows.organiser.reports import progress
from flows.organiser.sending import next_time, start
from flows.values.quiet_hours import QuietHours
from storage import broadcasts as store
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)


async def run_due(tx: Tx, now: datetime, settings: FlowSettings, salt: str | None = None) -> None:
    """Start what is due, mark what is too late as missed, report progress of what is sending."""
    grace = timedelta(seconds=settings.broadcast_misfire_grace_seconds)
    for b in await store.due(tx, now):
        assert b.send_at is not None  # due means scheduled, and a scheduled one has a time
        planned = parse_ts(b.send_at)
        if now - planned <= grace:
            await start(tx, b, now, settings, salt)
            continue
        when = local(planned, settings.timezone)
        if b.repeat == "none":
            await store.update(tx, b.id, status="missed", finished_at=ts(now))
        else:
            nxt = planned
            while nxt <= now:
                nxt = next_time(nxt, b.repeat, settings.timezone)
            await store.update(tx, b.id, send_at=ts(nxt))
        log.warning("broadcast %s was due at %s and missed (service down)", b.id, b.send_at)
        broadcast_report.notify(tx, b, t("broadcasts.missed", id=b.id, time=when), now, f"missed:{b.send_at}")
    await hold_for_quiet_hours(tx, now, settings)
    for b in await store.with_status(tx, "sending"):
        await progress(tx, b, now, settings)
    await broadcast_report.tell_settled(tx, now, settings)


async def hold_for_quiet_hours(tx: Tx, now: datetime, settings: FlowSettings) -> None:
    """Quiet hours began while SMS was still going out: the rest waits until they end."""
    quiet = QuietHours.parse(settings.sms_quiet_hours, settings.timezone)
    if not quiet.quiet(now):
        return
    opens = quiet.opens(now)
    for broadcast_id in await store.hold_sms(tx, opens, now):
        b = await store.fetch(tx, broadcast_id)
        log.info("broadcast %s: quiet hours; SMS waits until %s", b.id, ts(opens))
        broadcast_report.notify(tx, b, t("broadcasts.quiet_hold", id=b.id, time=local(opens, settings.timezone)),
                                now, f"quiet:{ts(opens)}")


def quiet_hours_begin(now: datetime, settings: FlowSettings) -> datetime | None:
    """When the next quiet spell starts, so the scheduler can wake for it."""
    return QuietHours.parse(settings.sms_quiet_hours, settings.timezone).begins_after(now)
