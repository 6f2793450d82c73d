"""In-process fake of the Telegram Bot API HTTP server, for tests.

Serves ``/bot<token>/<method>`` on 127.0.0.1 from a background thread, so sync and async tests
can both point a real python-telegram-bot ``Bot``/``Application`` at it::

    with FakeTelegramAPI() as tg:
        bot = Bot(TOKEN, base_url=tg.base_url, base_file_url=tg.base_file_url)

Stopping costs ~0.2 s (uvicorn's shutdown loop), so suites should share one instance per
module/session and call ``reset()`` between tests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BOT_ID = 999
BOT_USERNAME = "muster_test_bot"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID, "is_bot": True, "first_name": "Muster", "username": BOT_USERNAME
}

Params = dict[str, Any]

# PTB sends str values raw and JSON-encodes everything else, so "123" and 123 look the same on
# the wire. We JSON-decode every field except free-text ones (which could look like JSON).
_TEXT_FIELDS = frozenset({
    "text", "caption", "secret_token", "url", "callback_query_id", "inline_message_id",
    "parse_mode", "action", "business_connection_id", "message_effect_id", "ip_address",
})
_ERRORS = {400: "Bad Request: chat not found", 403: "Forbidden: bot was blocked by the user"}
_ADMIN_RIGHTS = {
    **dict.fromkeys(("can_manage_chat", "can_delete_messages", "can_manage_video_chats",
                     "can_restrict_members", "can_change_info", "can_invite_users",
                     "can_pin_messages"), True),
    **dict.fromkeys(("can_be_edited", "is_anonymous", "can_promote_members",
                     "can_post_stories", "can_edit_stories", "can_delete_stories"), False),
}


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request, as recorded in the call's params."""

    filename: str | None
    content: bytes
    content_type: str | None


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: Params | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def response(self) -> JSONResponse:
        body = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return JSONResponse(body, status_code=self.status)


class FakeTelegramAPI:
    def __init__(self, *, delay: tuple[float, float] | None = None, seed: int | None = None):
        self.delay = delay  # (min_s, max_s) of random latency added to every request
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._handlers: dict[str, Callable[[Params], Any]] = {
            "getMe": lambda p: {**BOT_USER, "can_join_groups": True,
                                "can_read_all_group_messages": False,
                                "supports_inline_queries": False},
            "setWebhook": self._set_webhook,
            "deleteWebhook": lambda p: self._set_webhook(
                {"drop_pending_updates": p.get("drop_pending_updates", False)}),
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": lambda p: self._store_message(p, text=_text(p)),
            "editMessageText": lambda p: self._edit(p, text=_text(p)),
            "editMessageReplyMarkup": self._edit,
            "answerCallbackQuery": lambda p: True,
            "sendChatAction": lambda p: _chat_id(p) is not None,
            "sendDocument": self._send_document,
            "getChatMember": lambda p: self._member(_chat_id(p), int(p["user_id"])),
            "getChatAdministrators": lambda p: [
                self._member(_chat_id(p), uid) for uid in self._admins.get(_chat_id(p), [])],
        }
        self._canonical = {name.lower(): name for name in [*self._handlers, "getUpdates"]}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._updates_changed: asyncio.Event | None = None
        self._port: int | None = None
        self._closing = False
        self.reset()

    def reset(self) -> None:
        """Forget recorded calls, queued updates, sent messages, faults, admins and webhook."""
        with self._lock:
            self._calls: list[tuple[str, Params]] = []
            self._failed: list[tuple[str, Params, int]] = []
            self._timeline: list[tuple[float, float, str, int, Params]] = []
            self._faults: dict[str, collections.deque[_ApiError]] = (
                collections.defaultdict(collections.deque))
            self._updates: list[Params] = []
            self._next_update_id = 1
            self._messages: dict[tuple[int, int], Params] = {}
            self._next_message_id = 1
            self._admins: dict[int, list[int]] = {}
            self._webhook: Params = {"url": ""}

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeTelegramAPI:
        # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on such sockets, and without
        # it Nagle + delayed ACK add ~40 ms to every keep-alive request.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        app = Starlette(routes=[Route("/bot{token}/{method}", self._dispatch,
                                      methods=["GET", "POST"])])
        self._server = uvicorn.Server(uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off",
            timeout_graceful_shutdown=2))
        self._closing = False
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(sock),),
                                        name="fake-telegram-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("FakeTelegramAPI failed to start")
            time.sleep(0.002)
        return self

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._updates_changed = asyncio.Event()
        assert self._server is not None
        await self._server.serve(sockets=[sock])

    def stop(self) -> None:
        if self._server is None or self._thread is None:
            return
        self._closing = True
        self._wake_pollers()  # pending long polls answer [] now instead of holding up shutdown
        self._server.should_exit = True
        self._thread.join(timeout=5)
        self._server = self._thread = self._loop = None

    def __enter__(self) -> FakeTelegramAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """For ``Bot(base_url=...)`` / ``ApplicationBuilder().base_url(...)``; PTB appends the
        token, then ``/<method>``."""
        return f"{self._origin}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self._origin}/file/bot"

    @property
    def _origin(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegramAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------------ test-side API

    @property
    def calls(self) -> list[tuple[str, Params]]:
        """Successfully answered calls as (method, params), in order."""
        with self._lock:
            return list(self._calls)

    @property
    def call_count(self) -> int:
        """How many calls were answered successfully, without copying them."""
        with self._lock:
            return len(self._calls)

    @property
    def failed_calls(self) -> list[tuple[str, Params, int]]:
        """Calls answered with an error (injected, invalid or unknown): (method, params, status)."""
        with self._lock:
            return list(self._failed)

    @property
    def timeline(self) -> list[tuple[float, float, str, int, Params]]:
        """Every call as (arrived, answered, method, HTTP status, params), times from
        ``time.monotonic()``: when it reached the fake, and when its answer was decided."""
        with self._lock:
            return list(self._timeline)

    def calls_of(self, method: str) -> list[Params]:
        return [params for name, params in self.calls if name == method]

    def sent_messages(self, chat_id: int | str | None = None) -> list[Params]:
        return [p for p in self.calls_of("sendMessage")
                if chat_id is None or str(p["chat_id"]) == str(chat_id)]

    def message(self, chat_id: int, message_id: int) -> Params | None:
        """A message as the fake holds it now (after edits), as an update would carry it."""
        with self._lock:
            found = self._messages.get((chat_id, message_id))
            return dict(found) if found else None

    def last_message(self, chat_id: int) -> Params | None:
        with self._lock:
            ids = [mid for cid, mid in self._messages if cid == chat_id]
        return self.message(chat_id, max(ids)) if ids else None

    @property
    def webhook(self) -> Params:
        """Params of the last setWebhook; ``{"url": ""}`` when none is set."""
        with self._lock:
            return dict(self._webhook)

    def push_update(self, update: Params) -> Params:
        """Queue an update for getUpdates, numbering it if it has no ``update_id``."""
        with self._lock:
            update = dict(update)
            update.setdefault("update_id", self._next_update_id)
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            self._updates.append(update)
        self._wake_pollers()
        return update

    def set_chat_admins(self, chat_id: int, user_ids: list[int]) -> None:
        with self._lock:
            self._admins[chat_id] = list(user_ids)

    def fail_next(self, method: str, status: int = 429, retry_after: int = 3, times: int = 1,
                  description: str | None = None) -> None:
        """Answer the next ``times`` calls of ``method`` with a Bot API error."""
        if status == 429:
            error = _ApiError(429, description or f"Too Many Requests: retry after {retry_after}",
                              {"retry_after": retry_after})
        else:
            error = _ApiError(status, description or _ERRORS.get(status, f"Error {status}"))
        with self._lock:
            self._faults[method].extend([error] * times)

    def stub(self, method: str, result: Any) -> None:
        """Answer ``method`` (e.g. one not implemented here) with a fixed ``result``."""
        with self._lock:
            self._handlers[method] = lambda p: result
            self._canonical[method.lower()] = method

    # ------------------------------------------------------------------ server side

    async def _dispatch(self, request: Request) -> JSONResponse:
        arrived = time.monotonic()
        params = await _parse_params(request)
        if self.delay:
            await asyncio.sleep(self._random.uniform(*self.delay))
        method = self._canonical.get(request.path_params["method"].lower())
        try:
            if method is None:
                raise _ApiError(404, "Not Found: method not found")
            with self._lock:
                if self._faults.get(method):
                    raise self._faults[method].popleft()
            if method == "getUpdates":
                result: Any = await self._get_updates(params)
                with self._lock:
                    self._calls.append((method, params))
                    self._timeline.append((arrived, time.monotonic(), method, 200, params))
            else:
                with self._lock:  # handle + record atomically so `calls` order matches effects
                    result = self._handlers[method](params)
                    self._calls.append((method, params))
                    self._timeline.append((arrived, time.monotonic(), method, 200, params))
        except _ApiError as err:
            with self._lock:
                self._failed.append((method or request.path_params["method"], params, err.status))
                self._timeline.append((arrived, time.monotonic(), method or request.path_params["method"],
                                       err.status, params))
            return err.response()
        return JSONResponse({"ok": True, "result": result})

    def _wake_pollers(self) -> None:
        loop, event = self._loop, self._updates_changed
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def _get_updates(self, params: Params) -> list[Params]:
        assert self._updates_changed is not None
        offset = int(params.get("offset", 0))
        limit = min(max(int(params.get("limit", 100)), 1), 100)
        deadline = time.monotonic() + float(params.get("timeout", 0))
        while True:
            with self._lock:
                if self._webhook["url"]:
                    raise _ApiError(409, "Conflict: can't use getUpdates method while webhook is "
                                         "active; use deleteWebhook to delete the webhook first")
                # As on Telegram: a positive offset confirms (drops) earlier updates for good,
                # a negative one keeps only the last -offset updates.
                if offset > 0:
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                elif offset < 0:
                    self._updates = self._updates[offset:]
                if self._updates or self._closing:
                    return [dict(u) for u in self._updates[:limit]]
                # Cleared with the lock held: a later push schedules set() after this point.
                self._updates_changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._updates_changed.wait(), remaining)

    # The handlers below run with self._lock held.

    def _set_webhook(self, p: Params) -> bool:
        if "secret_token" in p and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", p["secret_token"]):
            raise _ApiError(400, "Bad Request: secret token contains unallowed characters")
        if p.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {**p, "url": p.get("url", "")}
        return True

    def _get_webhook_info(self, p: Params) -> Params:
        info = {"url": self._webhook["url"], "pending_update_count": len(self._updates),
                "has_custom_certificate": "certificate" in self._webhook}
        keys = ("max_connections", "allowed_updates", "ip_address")
        return info | {key: self._webhook[key] for key in keys if key in self._webhook}

    def _send_document(self, p: Params) -> Params:
        doc = p.get("document")
        if not doc:
            raise _ApiError(400, "Bad Request: there is no document in the request")
        file_id = f"BQACAgQAAx{self._next_message_id:08d}"
        document: Params = {"file_id": file_id, "file_unique_id": file_id[-10:]}
        if isinstance(doc, UploadedFile):
            document |= {"file_name": doc.filename, "mime_type": doc.content_type,
                         "file_size": len(doc.content)}
        caption = {"caption": p["caption"]} if p.get("caption") else {}
        return self._store_message(p, document=document, **caption)

    def _store_message(self, p: Params, **content: Any) -> Params:
        chat_id = _chat_id(p)
        message = {"message_id": self._next_message_id, "date": int(time.time()),
                   "chat": _chat(chat_id), "from": BOT_USER, **content}
        self._next_message_id += 1
        # Telegram echoes only inline keyboards; reply keyboards are not part of a Message.
        if _is_inline(p.get("reply_markup")):
            message["reply_markup"] = p["reply_markup"]
        self._messages[(chat_id, message["message_id"])] = message
        return dict(message)

    def _edit(self, p: Params, **changes: Any) -> Params | bool:
        if "inline_message_id" in p:
            return True
        message = self._messages.get((_chat_id(p), int(p.get("message_id", 0))))
        if message is None:
            raise _ApiError(400, "Bad Request: message to edit not found")
        # As on Telegram, an edit without reply_markup removes the inline keyboard.
        markup = p["reply_markup"] if _is_inline(p.get("reply_markup")) else None
        if (all(message.get(k) == v for k, v in changes.items())
                and message.get("reply_markup") == markup):
            raise _ApiError(400, "Bad Request: message is not modified: specified new message "
                                 "content and reply markup are exactly the same as a current "
                                 "content and reply markup of the message")
        message.update(changes, edit_date=int(time.time()))
        message.pop("reply_markup", None)
        if markup is not None:
            message["reply_markup"] = markup
        return dict(message)

    def _member(self, chat_id: int, user_id: int) -> Params:
        user = BOT_USER if user_id == BOT_ID else _user(user_id)
        if user_id in self._admins.get(chat_id, []):
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        return {"status": "member", "user": user}


def _chat_id(p: Params) -> int:
    if "chat_id" not in p:
        raise _ApiError(400, "Bad Request: chat_id is empty")
    if not isinstance(p["chat_id"], int):  # an @username: we know no public chats
        raise _ApiError(400, "Bad Request: chat not found")
    return p["chat_id"]


def _text(p: Params) -> str:
    text = p.get("text") or ""
    if not text.strip():
        raise _ApiError(400, "Bad Request: message text is empty")
    if len(text) > 4096:
        raise _ApiError(400, "Bad Request: message is too long")
    return text


def _user(user_id: int) -> Params:
    return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}


def _chat(chat_id: int) -> Params:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    kind = "supergroup" if str(chat_id).startswith("-100") else "group"
    return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}


def _is_inline(markup: Any) -> bool:
    return isinstance(markup, dict) and "inline_keyboard" in markup


async def _parse_params(request: Request) -> Params:
    """Params as PTB sends them: url-encoded form, or multipart when files are attached."""
    raw: Params = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json") and body:
        raw.update(json.loads(body))
    elif content_type.startswith("multipart/form-data"):
        raw.update(_parse_multipart(body, content_type))
    elif body:
        raw.update(parse_qsl(body.decode(), keep_blank_values=True))
    return {key: _decode(key, value) for key, value in raw.items()}


def _decode(key: str, value: Any) -> Any:
    if key in _TEXT_FIELDS or not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _parse_multipart(body: bytes, content_type: str) -> Params:
    # Hand-rolled: Starlette's form parser needs python-multipart, which we don't depend on.
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        return {}
    fields: Params = {}
    for part in (b"\r\n" + body).split(b"\r\n--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):  # the closing delimiter
            break
        head, _, content = part[2:].partition(b"\r\n\r\n")
        headers = head.decode("utf-8", "replace")
        name, filename = _header_param(headers, "name"), _header_param(headers, "filename")
        if name is None:
            continue
        if filename is None:
            fields[name] = content.decode("utf-8")
        else:
            ctype = re.search(r"^content-type:\s*(.+?)\s*$", headers, re.I | re.M)
            fields[name] = UploadedFile(filename, content, ctype.group(1) if ctype else None)
    return fields


def _header_param(headers: str, key: str) -> str | None:
    match = re.search(rf'(?:^|;)\s*{key}="([^"]*)"', headers, re.I | re.M)
    if match is None:
        return None
    # Undo httpx's HTML5 form escaping: %22 for quotes, %XX for control chars, doubled "\".
    return re.sub(r'%22|%[01][0-9A-F]|\\\\',
                  lambda m: "\\" if m[0] == "\\\\" else chr(int(m[0][1:], 16)), match[1])
