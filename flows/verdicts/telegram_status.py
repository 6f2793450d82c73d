"""A supporter blocking or unblocking the bot in Telegram: a provider opt-out, never an opt-in."""
from __future__ import annotations

import logging

from flows.core.context import Context
from storage import consent

log = logging.getLogger(__name__)


async def blocked(ctx: Context) -> None:
    """Blocked: stop messaging them on Telegram, recorded as a carrier-source opt-out."""
    if ctx.supporter.consent(ctx.channel) != "opted_out":
        consent.record(ctx.tx, ctx.supporter, ctx.channel, "opt_out", "carrier", ctx.now)
    ctx.finish()


async def unblocked(ctx: Context) -> None:
    """Unblocked: nothing is implied; consent needs them to start the bot (and opt in) again."""
    log.info("supporter %s unblocked the bot", ctx.supporter.id)
