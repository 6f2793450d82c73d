"""Action alerts from the supporter's side: DONE / CAN'T, typed or pressed.

One response per supporter per alert; a later answer replaces an earlier one. A bare
DONE answers the most recent alert the supporter was sent; a button names its alert.
"""
from __future__ import annotations

from flows.core.context import Context
from storage import broadcast_results as results
from storage import broadcasts as store


async def done(ctx: Context) -> None:
    await _respond(ctx, None, "done")


async def cant(ctx: Context) -> None:
    await _respond(ctx, None, "cant")


# DONE and CAN'T as a Welsh speaker would text them: GWNEUD (do, done) and METHU (can't), which the
# Welsh alert asks for, and the usual ways of saying them ("wedi gwneud", "gwnes", "alla i ddim").
# Only words that would not start an ordinary sentence are matched as a message's first word;
# "wedi" alone ("have", as in "wedi cyrraedd") is not one of them.
KEYWORDS_CY = {
    **{word: done for word in ("GWNEUD", "GWNES", "GWNAES", "GWNAED", "WEDI GWNEUD", "WEDII WNEUD",
                               "WEDI EI WNEUD", "DWI WEDI", "DW I WEDI", "WEDI GORFFEN")},
    **{word: cant for word in ("METHU", "ALLA I DDIM", "FEDRA I DDIM", "NA ALLAF", "DIM YN GALLU")},
}


async def chosen(ctx: Context) -> None:
    """A pressed button "alert:<id>:done" or "alert:<id>:cant"."""
    parts = (ctx.choice or "").split(":")
    if len(parts) != 3 or not parts[1].isdigit() or parts[2] not in store.RESPONSES:
        ctx.say("alerts.none")
        return
    await _respond(ctx, int(parts[1]), parts[2])


async def _respond(ctx: Context, alert_id: int | None, response: str) -> None:
    tx, person = ctx.tx, ctx.supporter
    if alert_id is None:
        alert_id = await results.latest_alert_for(tx, person.id)
    if alert_id is None or not await results.was_sent(tx, alert_id, person.id):
        ctx.say("alerts.none")
        return
    results.respond(tx, alert_id, person.id, response, ctx.now)
    ctx.say("alerts.thanks_done" if response == "done" else "alerts.thanks_cant")
