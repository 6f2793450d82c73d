"""Telegram group chats: linking a chat to a local group, and turning its members into supporters.

Messages here go to the group chat (a negative chat id) with ctx.notify, never to the
sender's private chat: Telegram refuses private messages to people who never started the bot.
"""
from __future__ import annotations

import logging

from flows.core.context import Context
from flows.core.types import Choice, Reply
from flows.values.phones import masked_id
from storage import groups, outbox, telegram_groups

log = logging.getLogger(__name__)


def _to_group(ctx: Context, key: str, choices: tuple[Choice, ...] = (), dedupe_key: str | None = None,
              about: tuple[int, ...] = (), **values: object) -> None:
    """Say something in the group chat; `about`: the supporters it names, so erasing them blanks it."""
    chat_id = ctx.inbound.extra["chat_id"]
    ctx.notify("telegram", str(chat_id), Reply(ctx.t(key, **values), choices, about=about),
               priority=outbox.INTERACTIVE, dedupe_key=dedupe_key)


def join_link(ctx: Context, group_id: int | None) -> str:
    """The deep link that opens the private sign-up, with the local group pre-filled when known."""
    base = f"https://t.me/{ctx.settings.telegram_bot_username}"
    return f"{base}?start=g_{group_id}" if group_id else base


async def _linked_group_id(ctx: Context) -> int | None:
    link = await telegram_groups.get(ctx.tx, ctx.inbound.extra["chat_id"])
    return link.group_id if link and link.active else None


async def command(ctx: Context) -> None:
    """A command addressed to the bot in a group chat."""
    name = ctx.inbound.extra.get("command")
    if name == "linkgroup":
        await linkgroup(ctx)
    elif name == "join":
        await join(ctx)
    else:
        _to_group(ctx, "tg_groups.private_only", (Choice("link", ctx.t("tg_groups.open_chat"), join_link(ctx, None)),))


async def join(ctx: Context) -> None:
    group_id = await _linked_group_id(ctx)
    button = Choice("link", ctx.t("tg_groups.join_button"), join_link(ctx, group_id))
    _to_group(ctx, "tg_groups.join", (button,), movement=ctx.settings.movement)


async def linkgroup(ctx: Context) -> None:
    """/linkgroup <local group>: by our organiser for that group (or an admin) who is also a chat admin."""
    name = ctx.text.partition(" ")[2].strip()
    if not name:
        _to_group(ctx, "tg_groups.link_usage")
        return
    group = await groups.by_name(ctx.tx, name)
    if group is None:
        _to_group(ctx, "tg_groups.link_unknown", name=name)
        return
    roles = await ctx.roles()

    def covers(group_id: int) -> bool:
        return any(r.role == "admin" or (r.role == "organiser" and r.group_id in (None, group_id)) for r in roles)

    if not covers(group.id):
        _to_group(ctx, "tg_groups.link_not_organiser", group=group.name)
        return
    if not ctx.inbound.extra.get("chat_admin"):
        _to_group(ctx, "tg_groups.link_not_admin")
        return
    chat_id = ctx.inbound.extra["chat_id"]
    current = await telegram_groups.get(ctx.tx, chat_id)
    if current and current.group_id != group.id and not covers(current.group_id):
        # Moving a chat away from another group is for that group's organisers (or an admin).
        _to_group(ctx, "tg_groups.link_taken")
        return
    telegram_groups.link(ctx.tx, chat_id, group.id, ctx.inbound.extra.get("title"), int(ctx.inbound.address), ctx.now)
    log.info("telegram chat %s linked to group %s by %s", chat_id, group.id, masked_id(ctx.inbound.address))
    _to_group(ctx, "tg_groups.linked", group=group.name)


async def added(ctx: Context) -> None:
    """The bot was added to a group: say how to link it; a chat linked before comes back as it was."""
    chat_id = ctx.inbound.extra["chat_id"]
    if await telegram_groups.get(ctx.tx, chat_id):
        telegram_groups.set_active(ctx.tx, chat_id, True)
    _to_group(ctx, "tg_groups.hello")


async def removed(ctx: Context) -> None:
    """The bot was removed: stop sending there (nothing can arrive anyway)."""
    telegram_groups.set_active(ctx.tx, ctx.inbound.extra["chat_id"], False)


async def member_joined(ctx: Context) -> None:
    """Someone joined a linked group: welcome them there, with a button to sign up privately."""
    group_id = await _linked_group_id(ctx)
    if group_id is None or ctx.supporter.consent("telegram") == "opted_in":
        return
    button = Choice("link", ctx.t("tg_groups.join_button"), join_link(ctx, group_id))
    # Once per member and chat. The key holds their Telegram id (it outlives a merge of their
    # records); erasing them blanks the whole message, key and all.
    dedupe = f"tg_welcome:{ctx.inbound.extra['chat_id']}:{ctx.inbound.address}"
    _to_group(ctx, "tg_groups.welcome", (button,), dedupe_key=dedupe, about=(ctx.supporter.id,),
              name=ctx.inbound.extra.get("first_name") or "", movement=ctx.settings.movement)


async def migrated(ctx: Context) -> None:
    """The chat was upgraded to a supergroup, which has a new chat id."""
    telegram_groups.move(ctx.tx, ctx.inbound.extra["chat_id"], ctx.inbound.extra["new_chat_id"])
