"""One supporter, many channels: a phone number shared in Telegram links (or merges) the records.

A shared contact is trusted only when it is the sender's own (Telegram says whose contact it
is). When an SMS-only supporter already has that number, the two records become one: the
older is kept, the newer's channel identity, consent and history move to it. Two records
that each hold a different identity are never merged silently: both are kept and logged.
"""
from __future__ import annotations

import logging

from flows.core.context import Context, Handler
from flows.core.types import Reply
from flows.values import phones
from storage import identities, supporters

log = logging.getLogger(__name__)

# Flows that want to carry on after a contact share (e.g. sign-up asking for a phone
# number): flow name → handler, called after the share was handled, whatever the outcome.
AFTER_CONTACT: dict[str, Handler] = {}


def ask_for_phone(ctx: Context, text_key: str = "identity.ask_phone", **values: object) -> None:
    """Offer Telegram's "share my phone number" button (a text channel just shows the text)."""
    ctx.replies.append(Reply(ctx.t(text_key, **values), request_contact=ctx.channel == "telegram",
                             lang=ctx.supporter.language))


async def contact_shared(ctx: Context) -> None:
    """EVENTS["contact"]: a Telegram user shared a contact card."""
    await _link(ctx)
    follow = AFTER_CONTACT.get(ctx.conversation.flow or "")
    if follow:
        await follow(ctx)


async def _link(ctx: Context) -> None:
    extra = ctx.inbound.extra or {}
    if ctx.channel != "telegram":
        return
    owner = extra.get("contact_user_id")
    try:
        own = owner is not None and int(owner) == int(ctx.inbound.address)
    except (TypeError, ValueError):
        own = False
    if not own:
        log.info("contact share refused: not the sender's own (supporter %s)", ctx.supporter.id)
        ctx.say("identity.not_yours")
        return
    phone = phones.normalise(str(extra.get("phone") or ""))
    if phone is None:
        ctx.say("identity.bad_number")
        return
    me = ctx.supporter
    if me.phone == phone:
        ctx.say("identity.already_linked")
        return
    if me.phone is not None:
        _conflict(ctx, phone, f"supporter {me.id} already has another number")
        return
    other = await supporters.find(ctx.tx, "sms", phone)
    if other is None:
        supporters.set_identity(ctx.tx, me, "sms", phone)
        log.info("linked phone %s to supporter %s", phones.masked(phone), me.id)
        ctx.say("identity.linked", phone=phone)
        return
    if other.telegram_id is not None:
        _conflict(ctx, phone, f"supporter {other.id} has that number and another Telegram account")
        return
    await _merge(ctx, other)
    ctx.say("identity.merged", phone=phone)


def _conflict(ctx: Context, phone: str, why: str) -> None:
    log.warning("contact share of %s not linked automatically: %s", phones.masked(phone), why)
    ctx.say("identity.conflict")


async def _merge(ctx: Context, other: supporters.Supporter) -> None:
    """Fold the newer of the two records into the older; the context follows the kept one."""
    me = ctx.supporter
    keep, drop = sorted((me, other), key=lambda s: (s.created_at, s.id))
    moved = await identities.merge(ctx.tx, keep.id, drop.id)
    log.info("merged supporter %s into %s (%s)", drop.id, keep.id,
             ", ".join(f"{k}={v}" for k, v in sorted(moved.items()) if v))
    kept = await supporters.get(ctx.tx, keep.id)
    assert kept is not None
    ctx.supporter = kept
    ctx.conversation.supporter_id = kept.id
