"""The Telegram channel: python-telegram-bot for the Bot API, our own loop for polling and webhooks.

The PTB `Application` has no Updater and no handlers: polling (`get_updates`) and the webhook
route both parse into `Update` objects and go through `process()`, which converts each update
into one `Inbound` (or ignores it) and submits it. Sending is paced by our Pacer, and every
Bot API error becomes a typed SendError.
"""
from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hmac
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from telegram import (
    CallbackQuery,
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import Application
from telegram.warnings import PTBDeprecationWarning

from bot.channels import text as texts
from bot.channels.base import SendError, Sent
from bot.config import Settings
from bot.pacing import Pacer
from flows.core.clock import Clock
from flows.core.engine import Handled
from flows.core.texts import t
from flows.core.types import Inbound, Reply
from storage import space
from storage.db import DatabaseBusy
from storage.outbox import BULK, OutboxRow

log = logging.getLogger(__name__)

Submit = Callable[[Inbound], Awaitable[Handled]]
Lease = Callable[[], Awaitable[bool]]
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member", "chat_member"]
POLL_ATTEMPTS = 3  # a polled update that keeps failing is skipped, so it cannot stall the rest
POLL_LEASE_SECONDS = 5.0  # a worker without the polling lease asks for it again this often
GROUP_COMMANDS = frozenset({"join", "linkgroup"})  # answered in groups even without @our_bot
_IN = (ChatMember.MEMBER, ChatMember.ADMINISTRATOR, ChatMember.OWNER, ChatMember.RESTRICTED)
_OUT = (ChatMember.LEFT, ChatMember.BANNED)
_MEDIA = ("photo", "sticker", "video", "voice", "audio", "document", "animation", "video_note",
          "location", "venue", "dice", "poll")


def pace_interval(address: str) -> float:
    """Seconds between two sends to one chat: 1/s to a person, 20/min to a group (negative id)."""
    return 3.0 if address.startswith("-") else 1.0


class TelegramChannel:
    name = "telegram"

    def __init__(self, settings: Settings, submit: Submit, clock: Clock, *, poll_lease: Lease | None = None) -> None:
        self.settings = settings
        self.submit = submit
        self.clock = clock
        # Several workers on one database: only the holder of this lease polls (Telegram hands each
        # update to one getUpdates caller and answers two at once with 409 Conflict).
        self.poll_lease = poll_lease
        self.paid = settings.telegram_paid_broadcast
        rate = settings.telegram_messages_per_second if self.paid else min(settings.telegram_messages_per_second, 30)
        self.pacer = Pacer(rate, key_interval=pace_interval)
        self.username = settings.telegram_bot_username
        builder = Application.builder().token(settings.telegram_bot_token or "").updater(None)
        if settings.telegram_api_base_url:
            base = settings.telegram_api_base_url.rstrip("/")
            builder = builder.base_url(base).base_file_url(
                settings.telegram_api_base_file_url or base.rsplit("/bot", 1)[0] + "/file/bot"
            )
        self.app = builder.build()
        self.bot = self.app.bot
        self._poller: asyncio.Task[None] | None = None

    # -- running ------------------------------------------------------------------------
    @property
    def webhook_path(self) -> str | None:
        url = self.settings.telegram_webhook_url
        return (urlparse(url).path or "/telegram/webhook") if url else None

    async def start(self) -> None:
        await self.app.initialize()  # getMe: fails here, loudly, on a wrong token
        self.username = self.bot.username or self.username
        if self.settings.telegram_webhook_url:
            await self.bot.set_webhook(
                self.settings.telegram_webhook_url, secret_token=self.settings.telegram_webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
            )
            log.info("telegram: webhook set for @%s", self.username)
        elif self.poll_lease is None:
            await self.bot.delete_webhook()  # getUpdates refuses to run while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name="telegram-poll")
            log.info("telegram: polling as @%s", self.username)
        else:
            self._poller = asyncio.create_task(self._poll_when_leading(self.poll_lease), name="telegram-poll")

    async def stop(self) -> None:
        poller, self._poller = self._poller, None
        if poller:
            poller.cancel()
            await asyncio.gather(poller, return_exceptions=True)
        await self.app.shutdown()

    def routes(self) -> list[BaseRoute]:
        path = self.webhook_path
        return [Route(path, self._webhook, methods=["POST"])] if path else []

    async def _leading(self, lease: Lease) -> bool:
        try:
            return await lease()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database cannot be reached: not ours until it can
            log.warning("telegram: could not take the polling lease: %s", exc)
            return False

    async def _poll_when_leading(self, lease: Lease) -> None:
        """Poll while this worker holds the polling lease; wait (asking again every few seconds)
        while another does, and take over when its holder dies or is cut off."""
        said = False
        while True:
            if not await self._leading(lease):
                if not said:
                    log.info("telegram: another worker polls for @%s; this one takes over if it stops", self.username)
                    said = True
                await asyncio.sleep(POLL_LEASE_SECONDS)
                continue
            said = False
            try:
                await self.bot.delete_webhook()  # getUpdates refuses to run while a webhook is set
            except TelegramError as error:
                log.warning("telegram: deleteWebhook failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(2.0)
                continue
            log.info("telegram: polling as @%s (this worker holds the polling lease)", self.username)
            await self._poll(lambda: self._leading(lease))
            log.warning("telegram: lost the polling lease; another worker takes over")

    async def _poll(self, leading: Callable[[], Awaitable[bool]] | None = None) -> None:
        """getUpdates in a loop; with `leading`, only while it says this worker still holds the lease
        (asked before each call, so at most one long poll overlaps a new holder's)."""
        offset: int | None = None
        failures = 0
        while True:
            if leading is not None and not await leading():
                return
            try:
                updates = await self.bot.get_updates(
                    offset=offset, timeout=self.settings.telegram_poll_timeout, allowed_updates=ALLOWED_UPDATES,
                )
            except asyncio.CancelledError:
                raise
            except RetryAfter as error:
                await asyncio.sleep(_retry_after(error))
                continue
            except Exception as error:  # network trouble: try again shortly, never stop polling
                log.warning("telegram: getUpdates failed (%s); retrying", type(error).__name__)
                await asyncio.sleep(2.0)
                continue
            for update in updates:
                try:
                    await self.process(update)
                except asyncio.CancelledError:
                    raise
                except DatabaseBusy:  # already logged by the engine; not committed, so fetch it again
                    await asyncio.sleep(1.0)
                    break
                except Exception as error:  # not committed: keep the offset, so it is fetched again
                    if space.is_full(error):  # not this update's fault: never skipped for it
                        log.error("telegram: update %s not handled: %s; will retry", update.update_id, space.FULL)
                        await asyncio.sleep(1.0)
                        break
                    failures += 1
                    if failures < POLL_ATTEMPTS:
                        log.exception("telegram: update %s failed; will retry", update.update_id)
                        await asyncio.sleep(1.0)
                        break
                    log.error("telegram: update %s failed %d times; skipped", update.update_id, failures)
                failures = 0
                offset = update.update_id + 1

    async def _webhook(self, request: Request) -> Response:
        sent = request.headers.get("x-telegram-bot-api-secret-token", "").encode()
        expected = (self.settings.telegram_webhook_secret or "").encode()
        if not expected or not hmac.compare_digest(sent, expected):
            log.warning("telegram: webhook call with a missing or wrong secret token")
            return Response("forbidden", status_code=403)
        try:
            data = json.loads(await request.body())
            if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
                raise ValueError("not an update")
            update = Update.de_json(data, self.bot)
        except Exception:
            log.warning("telegram: webhook body is not a valid update")
            return Response("bad request", status_code=400)
        try:
            await self.process(update)  # any other error here is a 500: Telegram delivers the update again
        except DatabaseBusy:  # already logged by the engine
            log.warning("telegram: update %s answered 503: database busy", update.update_id)
            return Response("temporarily unavailable", status_code=503)
        except Exception as exc:
            if not space.is_full(exc):
                raise
            # Not committed, so Telegram must deliver it again: one line each, no traceback.
            log.error("telegram: update %s answered 503: %s", update.update_id, space.FULL)
            return Response("temporarily unavailable", status_code=503)
        return Response("ok")

    # -- inbound ------------------------------------------------------------------------
    async def process(self, update: Update) -> Handled | None:
        """Convert one update, submit it, and do the Telegram-side chores around it."""
        try:
            message = convert(update, self.username, self.clock)
        except Exception:  # an update shape we did not foresee: skip it rather than stall on it
            log.exception("telegram: could not read update %s; ignored", update.update_id)
            message = None
        query = update.callback_query
        if query is not None:
            with contextlib.suppress(TelegramError):
                await query.answer()  # stops the button's spinner at once
        if message is None:
            return None
        if message.kind == "group_command" and message.extra.get("command") == "linkgroup":
            message = dataclasses.replace(message, extra={**message.extra, "chat_admin": await self._is_admin(message)})
        handled = await self.submit(message)
        if query is not None and not handled.duplicate:
            await self._mark_choice(query)
        return handled

    async def _is_admin(self, message: Inbound) -> bool:
        try:
            member = await self.bot.get_chat_member(message.extra["chat_id"], int(message.address))
        except TelegramError as error:
            log.warning("telegram: could not check chat admin status: %s", error)
            return False
        return member.status in (ChatMember.ADMINISTRATOR, ChatMember.OWNER)

    async def _mark_choice(self, query: CallbackQuery) -> None:
        """Replace the pressed keyboard by a line saying what was chosen, so it cannot be pressed twice."""
        msg = query.message
        if not isinstance(msg, Message):
            return
        label = next((b.text for row in (msg.reply_markup.inline_keyboard if msg.reply_markup else ())
                      for b in row if b.callback_data == query.data), None)
        try:
            new_text = f"{msg.text}\n\n✓ {label}" if msg.text and label else None
            if new_text and texts.units(new_text) <= texts.TELEGRAM_LIMIT:
                await msg.edit_text(new_text, reply_markup=None)
            else:
                await msg.edit_reply_markup(reply_markup=None)
        except TelegramError as error:  # an old or already edited message: cosmetic only
            log.debug("telegram: keyboard edit failed: %s", error)

    # -- outbound -----------------------------------------------------------------------
    def cost(self, reply: Reply) -> float:
        return float(max(1, len(_plan(reply, private=True))))

    async def send(self, row: OutboxRow, reply: Reply) -> Sent:
        chat_id = int(row.address)
        extra: dict[str, Any] = {"allow_paid_broadcast": True} if self.paid and row.priority >= BULK else {}
        calls = _plan(reply, private=chat_id > 0)
        if not calls:
            raise SendError("nothing to send", retryable=False, code="empty")
        done, sent = 0, None
        try:
            for value, markup in calls:
                if isinstance(value, str):
                    sent = await self.bot.send_message(chat_id, value, reply_markup=markup, **extra)
                else:
                    sent = await self.bot.send_document(
                        chat_id, InputFile(value.content, filename=value.filename), **extra
                    )
                done += 1
        except TelegramError as error:
            raise classify(error, partly_sent=done > 0) from error
        return Sent(provider_id=str(sent.message_id) if sent else None)


def _plan(reply: Reply, private: bool) -> list[tuple[Any, Any]]:
    """The Bot API calls for one reply: text parts (buttons on the last), a contact prompt, a document."""
    calls: list[tuple[Any, Any]] = [(part, None) for part in texts.split(reply.text)] if reply.text.strip() else []
    contact = reply.request_contact and private
    if calls and reply.choices:
        calls[-1] = (calls[-1][0], InlineKeyboardMarkup([
            [InlineKeyboardButton(c.label, url=c.url) if c.url else InlineKeyboardButton(c.label, callback_data=c.key)]
            for c in reply.choices
        ]))
    if contact:
        keyboard = ReplyKeyboardMarkup(
            [[KeyboardButton(t("telegram.share_contact"), request_contact=True)]],
            one_time_keyboard=True, resize_keyboard=True,
        )
        if calls and calls[-1][1] is None:
            calls[-1] = (calls[-1][0], keyboard)
        else:  # one message holds one keyboard: the contact button gets its own
            calls.append((t("telegram.share_contact_prompt"), keyboard))
    if reply.document:
        calls.append((reply.document, None))
    return calls


def _retry_after(error: RetryAfter) -> float:
    with warnings.catch_warnings():  # PTB 22 warns that the type will become timedelta: both are handled
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError, partly_sent: bool = False) -> SendError:
    """A Bot API error as a SendError: retry only what is known not to have been sent."""
    message = str(error)[:200]
    if isinstance(error, RetryAfter):
        after = _retry_after(error)
        return SendError(message, retryable=not partly_sent, code="429", retry_after=after)
    if isinstance(error, Forbidden):
        return SendError(message, retryable=False, code="forbidden", opt_out=True)
    if isinstance(error, ChatMigrated):
        return SendError(message, retryable=False, code="chat_migrated")
    if isinstance(error, BadRequest):
        return SendError(message, retryable=False, code="bad_request")
    if isinstance(error, TimedOut):
        # A pool or connect timeout never reached Telegram; a read timeout may have been delivered.
        unsent = "Pool timeout" in message or isinstance(error.__cause__, httpx.ConnectTimeout)
        return SendError(message, retryable=unsent and not partly_sent, code="timeout", maybe_sent=not unsent)
    if isinstance(error, NetworkError):
        unsent = isinstance(error.__cause__, httpx.ConnectError)
        return SendError(message, retryable=unsent and not partly_sent, code="network", maybe_sent=not unsent)
    return SendError(message, retryable=False, code=type(error).__name__)


def convert(update: Update, username: str, clock: Clock) -> Inbound | None:
    """One update as an Inbound, or None for what the bot does not act on."""
    base: dict[str, Any] = {"channel": "telegram", "provider_id": f"tg:{update.update_id}",
                            "received_at": clock.now()}
    if (query := update.callback_query) is not None:
        chat = query.message.chat if query.message else None
        if query.data is None or chat is None or chat.type != ChatType.PRIVATE:
            return None  # games, inline-mode messages and group buttons carry nothing for us
        return Inbound(address=str(query.from_user.id), choice=query.data, **base)
    if (change := update.my_chat_member) is not None:
        old, new, chat = change.old_chat_member.status, change.new_chat_member.status, change.chat
        if chat.type == ChatType.PRIVATE:
            kind = "blocked" if new == ChatMember.BANNED else "unblocked" if old == ChatMember.BANNED else None
            return Inbound(address=str(chat.id), kind=kind, **base) if kind else None
        if chat.type in (ChatType.GROUP, ChatType.SUPERGROUP):
            kind = ("group_added" if old in _OUT and new in _IN
                    else "group_removed" if new in _OUT and old not in _OUT else None)
            extra = {"chat_id": chat.id, "title": chat.title or ""}
            return Inbound(address=str(change.from_user.id), kind=kind, extra=extra, **base) if kind else None
        return None
    if (change := update.chat_member) is not None:
        before, after, user = change.old_chat_member, change.new_chat_member, change.new_chat_member.user
        joined = before.status in _OUT and after.status in _IN and not user.is_bot
        if not joined or change.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP):
            return None
        extra = {"chat_id": change.chat.id, "title": change.chat.title or "", "first_name": user.first_name}
        return Inbound(address=str(user.id), kind="group_join", extra=extra, **base)
    msg = update.message
    if msg is None or msg.from_user is None or msg.from_user.is_bot:
        return None  # edits, channel posts, reactions, boosts, and messages sent as a chat
    if msg.chat.type == ChatType.PRIVATE:
        if msg.contact is not None:
            extra = {"phone": msg.contact.phone_number, "contact_user_id": msg.contact.user_id}
            return Inbound(address=str(msg.chat.id), kind="contact", extra=extra, **base)
        body = msg.text or msg.caption
        if body is None and not any(getattr(msg, name, None) for name in _MEDIA):
            return None  # service messages (pins, migrations, gifts, …)
        # The app's language ("cy", "en-GB"): someone new starts in it when we have it.
        code = (msg.from_user.language_code or "") if msg.from_user else ""
        extra = {"language": code.split("-")[0].lower()} if code else {}
        return Inbound(address=str(msg.chat.id), text=body or "", kind="message" if body is not None else "media",
                       extra=extra, **base)
    if msg.migrate_to_chat_id and msg.chat.type == ChatType.GROUP:  # upgraded to a supergroup: new id
        extra = {"chat_id": msg.chat.id, "new_chat_id": msg.migrate_to_chat_id, "title": msg.chat.title or ""}
        return Inbound(address=str(msg.from_user.id), kind="group_migrated", extra=extra, **base)
    text = msg.text or ""
    if msg.chat.type not in (ChatType.GROUP, ChatType.SUPERGROUP) or not text.startswith("/"):
        return None
    head, _, rest = text.partition(" ")
    command, _, target = head[1:].partition("@")
    if (target and target.lower() != username.lower()) or (not target and command.lower() not in GROUP_COMMANDS):
        return None  # someone else's bot, or chatter that only looks like a command
    extra = {"chat_id": msg.chat.id, "title": msg.chat.title or "", "command": command.lower()}
    return Inbound(address=str(msg.from_user.id), text=f"/{command} {rest}".strip(), kind="group_command",
                   extra=extra, **base)
