"""The organisers' inbox, for every front: the supporters' messages the bot did not understand
(flows/supporter/inbox.py says which are kept), answering them and closing them.

Who sees what is flows.organiser.access's rule: an organiser of a local group sees and answers
the items of that group's supporters; an item of a supporter with no group is for national
organisers and admins (and the command line). Anything else is refused with ScopeError.
An answer reaches the supporter through the outbox like any message, on the channel they
wrote on: never to a channel they opted out of, SMS after quiet hours, at the channel's pace.
"""
from __future__ import annotations

from datetime import datetime

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Reply
from flows.organiser import audit
from flows.organiser.access import Actor
from flows.organiser.errors import InboxError, ScopeError
from flows.supporter import events as ev
from flows.values import segments
from storage import inbox as store
from storage import outbox, supporters
from storage.db import Tx
from storage.inbox import Item

MAX_ANSWER = {"sms": segments.MAX_BODY, "telegram": 4096}  # the providers' limits on one message
_CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram"}


def _scope(actor: Actor) -> tuple[int, ...] | None:
    """The groups whose items this actor sees (None: every item); ScopeError for a non-organiser."""
    limit = actor.scope()
    if limit is not None and not limit:
        raise ScopeError("inbox.error_no_groups")
    return limit


def _check(actor: Actor, item: Item) -> None:
    limit = _scope(actor)
    if limit is None:
        return
    if item.group_id is None:
        raise ScopeError("inbox.error_no_group", id=item.id)
    if item.group_id not in limit:
        raise ScopeError("inbox.error_outside", id=item.id)


async def _item(tx: Tx, actor: Actor, item_id: int) -> Item:
    """The item, once the actor may act on it."""
    _scope(actor)
    item = await store.get(tx, item_id)
    if item is None:
        raise InboxError("inbox.error_gone", id=item_id)
    _check(actor, item)
    return item


def _handled(item: Item) -> InboxError:
    at = item.handled_at.strftime("%d %b %H:%M UTC") if item.handled_at else None
    key = "inbox.error_answered" if item.status == "answered" else "inbox.error_done"
    by = item.handled_by
    return InboxError(key, id=item.id, who=lambda lang: by or t("inbox.someone", lang),
                      when=lambda lang: at or t("inbox.earlier", lang))


async def items(
    tx: Tx, actor: Actor, *, limit: int = 50, offset: int = 0, handled_since: datetime | None = None,
) -> list[Item]:
    """Open items the actor may see, newest first (a page of `limit` from `offset`); then, with
    `handled_since`, up to `limit` items handled since then, the most recently handled first."""
    limit_groups = _scope(actor)
    found = await store.list_open(tx, limit_groups, limit=limit, offset=offset)
    if handled_since is not None:
        found += await store.list_handled(tx, limit_groups, handled_since, limit=limit)
    return found


async def open_count(tx: Tx, actor: Actor) -> int:
    """How many open items the actor may see."""
    return await store.count_open(tx, _scope(actor))


async def get(tx: Tx, actor: Actor, item_id: int) -> Item:
    """One item, if the actor may see it."""
    return await _item(tx, actor, item_id)


async def answer(tx: Tx, actor: Actor, item_id: int, text: str, now: datetime, settings: FlowSettings) -> Item:
    """Send `text` to the supporter on the channel they wrote on and mark the item answered.

    Refused (InboxError) when the answer is empty or too long, the item is already handled, or
    the supporter cannot be reached there (opted out, no address, a number that cannot take texts).
    """
    item = await _item(tx, actor, item_id)
    body = text.strip()
    if not body:
        raise InboxError("inbox.error_empty")
    if not item.is_open:
        raise _handled(item)
    channel = item.channel
    name = _CHANNEL_NAMES.get(channel, channel)
    limit = MAX_ANSWER.get(channel, segments.MAX_BODY)
    if len(body) > limit:
        raise InboxError("inbox.error_too_long", length=f"{len(body):,}", channel=name, limit=f"{limit:,}")
    person = await supporters.get(tx, item.supporter_id)
    address = person.address(channel) if person else None
    if person is None or person.consent(channel) == "opted_out":
        raise InboxError("inbox.error_opted_out", channel=name)
    if address is None or (channel == "sms" and person.sms_undeliverable):
        raise InboxError("inbox.error_unreachable", channel=name)
    if not await store.mark_answered(tx, item.id, actor.label, body, now):
        raise _handled(await _item(tx, actor, item.id))
    # A reply to the supporter's own message: it goes before notices and broadcasts.
    ev.tell(tx, person.id, (channel, address), Reply(body), now, priority=outbox.INTERACTIVE,
            dedupe_key=f"inbox:{item.id}", settings=settings)
    audit.note(tx, actor, now, "inbox.answer", target=f"inbox:{item.id}", detail=f"answer queued on {channel}")
    return await _item(tx, actor, item.id)


async def mark_done(tx: Tx, actor: Actor, item_id: int, now: datetime) -> Item:
    """Close an open item without answering it (dealt with elsewhere, or nothing to answer)."""
    item = await _item(tx, actor, item_id)
    if not item.is_open:
        raise _handled(item)
    if not await store.mark_done(tx, item.id, actor.label, now):
        raise _handled(await _item(tx, actor, item.id))
    audit.note(tx, actor, now, "inbox.done", target=f"inbox:{item.id}", detail="closed without an answer")
    return await _item(tx, actor, item.id)
