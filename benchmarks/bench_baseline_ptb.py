"""Side by side: the Telegram sign-up as a typical python-telegram-bot app, and through Muster.

    python benchmarks/bench_baseline_ptb.py --n 2000 --concurrency 150 [--runs 3]
    python benchmarks/bench_baseline_ptb.py --database-url postgresql://root@127.0.0.1:5432/test

Both sides get the SAME Telegram update dicts: /start → first name → postcode → two interest
buttons → Done → email (or "skip") → consent "yes" button, eight updates per conversation,
`--concurrency` conversations in flight at once, each simulated person waiting for the bot's
answer before sending the next update.

- baseline: a `ConversationHandler` with states, `MessageHandler`s and `CallbackQueryHandler`s,
  `PicklePersistence` (defaults) in a temporary directory, the `Application` built offline (its
  Bot API requests are answered in-process by a `BaseRequest` subclass, no HTTP), updates fed
  through `Application.process_update(Update.de_json(data, bot))`.
- muster: the same dicts through `Update.de_json` and the Telegram adapter's `convert()`, then
  `Engine.handle()` on a file database (or, with --database-url, on PostgreSQL in a schema of its
  own, dropped after), with the dispatcher draining the outbox to a sandbox channel.

Prints ONE JSON object with both rates, their ratio, latencies, and notes on what the baseline
does not do. With --runs > 1 the figures are the median over the runs.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import pickle
import statistics
import tempfile
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import telegram
from email_validator import EmailNotValidError, validate_email
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.request import BaseRequest, RequestData
from uk_postcodes_parsing.fix import fix
from uk_postcodes_parsing.postcode_utils import is_valid, to_area, to_normalised, to_outcode

from bot import event_loop
from bot.channels.sandbox import SandboxChannel
from bot.channels.telegram import convert
from bot.dispatcher import Dispatcher
from flows.core.clock import SystemClock
from flows.core.engine import Engine
from flows.core.settings import FlowSettings
from storage import groups, open_database
from storage.outbox import OutboxRow
from storage.postgres import own_schema

TOKEN = "123456:offline-benchmark-token"
BOT_USER = {"id": 123456, "is_bot": True, "first_name": "Muster", "username": "muster_bot"}
GROUPS = {"Manchester": ["M"], "Leeds": ["LS"], "Bristol": ["BS"], "Glasgow": ["G"]}
POSTCODES = ("M1 1AE", "LS1 4DY", "BS1 4DJ", "G1 1XQ", "m4 5jd")
NAMES = ("Sam", "Priya", "Aled", "Niamh", "Tom", "Zainab", "Ewan", "Chloé")
TOPICS = ("housing", "jobs_pay", "benefits_disability", "voter_registration", "elections")
UPDATES_PER_CONVERSATION = 8
USER_BASE = 700_000_000


# -- the update dicts both sides receive ------------------------------------------------
def conversation(k: int) -> list[dict[str, Any]]:
    """The eight Telegram updates of conversation k, as the Bot API would deliver them."""
    uid = USER_BASE + k
    name = NAMES[k % len(NAMES)]
    user = {"id": uid, "is_bot": False, "first_name": name, "language_code": "en"}
    chat = {"id": uid, "type": "private", "first_name": name}
    now = int(time.time())

    def message(i: int, text: str) -> dict[str, Any]:
        body: dict[str, Any] = {"message_id": 2 * i + 1, "date": now, "chat": chat, "from": user, "text": text}
        if text.startswith("/"):
            body["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return {"update_id": k * 10 + i, "message": body}

    def press(i: int, data: str) -> dict[str, Any]:
        shown = {"message_id": 2 * i, "date": now, "chat": chat, "from": BOT_USER, "text": "…"}
        query = {"id": f"{uid}{i}", "from": user, "chat_instance": f"ci{uid}", "data": data, "message": shown}
        return {"update_id": k * 10 + i, "callback_query": query}

    first, second = k % len(TOPICS), (k + 2) % len(TOPICS)
    return [
        message(0, "/start"),
        message(1, name),
        message(2, POSTCODES[k % len(POSTCODES)]),
        press(3, f"su:i:{first}"),
        press(4, f"su:i:{second}"),
        press(5, "su:done"),
        message(6, f"supporter{k}@example.org" if k % 2 == 0 else "skip"),
        press(7, "su:yes"),
    ]


# -- the baseline: a typical python-telegram-bot 22 sign-up bot -------------------------
class OfflineRequest(BaseRequest):
    """Answers the Bot API methods the bot uses in-process; nothing goes over the network."""

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self._ids = itertools.count(1000)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    @property
    def read_timeout(self) -> float | None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         **timeouts: Any) -> tuple[int, bytes]:
        endpoint = url.rsplit("/", 1)[-1]
        params = request_data.parameters if request_data else {}
        result: Any
        if endpoint == "getMe":
            result = {**BOT_USER, "can_join_groups": True, "can_read_all_group_messages": False,
                      "supports_inline_queries": False}
        elif endpoint == "sendMessage":
            chat_id = int(params["chat_id"])
            self.sent[chat_id] += 1
            result = {"message_id": next(self._ids), "date": int(time.time()), "from": BOT_USER,
                      "chat": {"id": chat_id, "type": "private"}, "text": params["text"]}
        elif endpoint in ("answerCallbackQuery", "deleteWebhook"):
            result = True
        else:
            return 400, json.dumps({"ok": False, "error_code": 400, "description": f"{endpoint}?"}).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()


NAME, POSTCODE, INTERESTS, EMAIL, CONSENT = range(5)
LABELS = ("Housing", "Jobs and pay", "Benefits and disability", "Voter registration", "Elections")


def _interest_keyboard(picked: set[int]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(("✅ " if n in picked else "") + label, callback_data=f"su:i:{n}")]
            for n, label in enumerate(LABELS)]
    return InlineKeyboardMarkup([*rows, [InlineKeyboardButton("Done", callback_data="su:done")]])


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.message.reply_text(
        "Welcome to Muster! A few quick questions (send CANCEL at any time to leave).\nWhat's your first name?"
    )
    return NAME


async def got_name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    name = " ".join(update.message.text.split())
    if not name or len(name) > 40 or not all(c.isalpha() or c in " '-." for c in name):
        await update.message.reply_text("Please send just your first name, e.g. Sam.")
        return NAME
    context.user_data["name"] = name
    await update.message.reply_text(f"Thanks, {name}. What's your postcode? Reply SKIP to leave it out.")
    return POSTCODE


async def got_postcode(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text.strip()
    group = None
    if text.upper() != "SKIP":
        candidate = fix(" ".join(text.split()).upper())
        if not is_valid(candidate):
            await update.message.reply_text("That doesn't look like a UK postcode. Try again, e.g. M1 1AE.")
            return POSTCODE
        context.user_data["postcode"] = to_normalised(candidate)
        context.user_data["outward"] = to_outcode(candidate)
        group = context.bot_data["groups"].get(to_area(candidate))
        context.user_data["group"] = group
    line = f"Your local group is {group}.\n" if group else ""
    context.user_data["interests"] = set()
    await update.message.reply_text(
        f"{line}Which of these do you care about? Tap as many as you like, then Done.",
        reply_markup=_interest_keyboard(set()),
    )
    return INTERESTS


async def toggle_interest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    picked: set[int] = context.user_data.setdefault("interests", set())
    n = int(query.data.rsplit(":", 1)[1])
    picked.symmetric_difference_update({n})
    await query.message.reply_text(
        "Which of these do you care about? Tap as many as you like, then Done.",
        reply_markup=_interest_keyboard(picked),
    )
    return INTERESTS


async def interests_done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    context.user_data["topics"] = [TOPICS[n] for n in sorted(context.user_data.pop("interests", set()))]
    await query.message.reply_text(
        "What's your email address? We'll only use it for Muster news. Reply SKIP to leave it out."
    )
    return EMAIL


async def got_email(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    text = update.message.text.strip()
    if text.upper() != "SKIP":
        try:
            context.user_data["email"] = validate_email(text, check_deliverability=False).normalized
        except EmailNotValidError:
            await update.message.reply_text("That doesn't look like an email address, e.g. sam@example.org, or SKIP.")
            return EMAIL
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="su:yes"),
                                      InlineKeyboardButton("No", callback_data="su:no")]])
    await update.message.reply_text(
        "May Muster send you campaign messages here on Telegram? Send /stop at any time to stop them.",
        reply_markup=keyboard,
    )
    return CONSENT


async def got_consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    query = update.callback_query
    await query.answer()
    data = context.user_data
    data["consent"] = query.data == "su:yes"
    data["signed_up"] = True
    group = f"\nYour local group is {data['group']}." if data.get("group") else ""
    await query.message.reply_text(
        f"You're signed up, {data['name']}. Welcome to Muster!{group}\nReply MENU for options.")
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    await update.effective_message.reply_text("OK, stopped. Send /start to begin again.")
    return ConversationHandler.END


def build_baseline(pickle_path: Path) -> tuple[Application, OfflineRequest]:
    """The Application as the PTB examples build it, with an in-process Bot API."""
    request = OfflineRequest()
    app = (
        ApplicationBuilder().token(TOKEN).request(request).get_updates_request(OfflineRequest())
        .updater(None).persistence(PicklePersistence(filepath=pickle_path)).build()
    )
    text = filters.TEXT & ~filters.COMMAND
    with warnings.catch_warnings():  # per_message=False with CallbackQueryHandlers is what we want
        warnings.simplefilter("ignore")
        app.add_handler(ConversationHandler(
            entry_points=[CommandHandler("start", start), MessageHandler(filters.Regex(r"(?i)^\W*join\W*$"), start)],
            states={
                NAME: [MessageHandler(text, got_name)],
                POSTCODE: [MessageHandler(text, got_postcode)],
                INTERESTS: [CallbackQueryHandler(toggle_interest, pattern=r"^su:i:\d+$"),
                            CallbackQueryHandler(interests_done, pattern=r"^su:done$")],
                EMAIL: [MessageHandler(text, got_email)],
                CONSENT: [CallbackQueryHandler(got_consent, pattern=r"^su:(yes|no)$")],
            },
            fallbacks=[CommandHandler("cancel", cancel), MessageHandler(filters.Regex(r"(?i)^\s*cancel\s*$"), cancel)],
            name="signup", persistent=True,
        ))
    return app, request


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * q) - 1)] * 1000, 2) if ordered else 0.0


async def _pool(n: int, concurrency: int, talk: Any) -> float:
    """Run talk(k) for k in range(n), `concurrency` at a time; the wall-clock seconds it took."""
    pending = iter(range(n))

    async def worker() -> None:
        for k in pending:
            await talk(k)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(min(concurrency, n))))
    return time.perf_counter() - started


async def run_baseline(workdir: Path, scripts: list[list[dict[str, Any]]], concurrency: int) -> dict[str, Any]:
    pickle_path = workdir / "signup.pickle"
    app, request = build_baseline(pickle_path)
    await app.initialize()
    app.bot_data["groups"] = {area: name for name, areas in GROUPS.items() for area in areas}
    await app.start()  # the persistence timer (PicklePersistence.update_interval) runs as in production
    latencies: list[float] = []

    async def talk(k: int) -> None:
        for data in scripts[k]:
            started = time.perf_counter()
            await app.process_update(Update.de_json(data, app.bot))
            latencies.append(time.perf_counter() - started)

    seconds = await _pool(len(scripts), concurrency, talk)
    handler = next(h for h in app.handlers[0] if isinstance(h, ConversationHandler))
    open_conversations = len(handler._conversations)  # noqa: SLF001 - finished ones are removed
    await app.stop()
    flush_started = time.perf_counter()
    await app.shutdown()  # update_persistence() + flush(): the pickle is written here
    flush_seconds = time.perf_counter() - flush_started
    with pickle_path.open("rb") as f:
        stored = pickle.load(f)
    users = [USER_BASE + k for k in range(len(scripts))]
    completed = sum(
        1 for uid in users
        if stored["user_data"].get(uid, {}).get("signed_up") and stored["user_data"][uid].get("consent")
        and request.sent[uid] == UPDATES_PER_CONVERSATION
    )
    return {
        **_figures(latencies, seconds),
        "conversations_completed": completed,
        "conversations_still_open": open_conversations,
        "replies_sent": sum(request.sent.values()),
        "shutdown_flush_seconds": round(flush_seconds, 3),
        "messages_per_s_with_flush": round(len(latencies) / (seconds + flush_seconds), 1),
        "pickle_bytes": pickle_path.stat().st_size,
    }


# -- Muster: the adapter's convert() and the running engine, dispatcher and outbox -----
class WatchedSandbox(SandboxChannel):
    """The sandbox channel, telling a waiting simulated person when their reply went out."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.waiting: dict[str, asyncio.Future[None]] = {}
        self.sent: Counter[str] = Counter()

    async def send(self, row: OutboxRow, reply: Any) -> Any:
        sent = await super().send(row, reply)
        self.delivered.pop(row.address, None)  # nobody reads them: keep memory flat
        self.sent[row.address] += 1
        future = self.waiting.pop(row.address, None)
        if future is not None and not future.done():
            future.set_result(None)
        return sent


async def run_muster(workdir: Path, scripts: list[list[dict[str, Any]]], concurrency: int,
                     database_url: str = "") -> dict[str, Any]:
    db = await open_database(database_url or str(workdir / "muster.db"))
    clock = SystemClock()
    async with db.transaction() as tx:
        for name, areas in GROUPS.items():
            await groups.add(tx, name, areas, clock.now())
    telegram_channel = WatchedSandbox("telegram")
    channels = {"sms": SandboxChannel("sms"), "telegram": telegram_channel}
    dispatcher = Dispatcher(db, channels, clock)
    settings = FlowSettings()
    engine = Engine(db, clock, settings, on_commit=dispatcher.wake)
    bot = telegram.Bot(TOKEN, request=OfflineRequest(), get_updates_request=OfflineRequest())  # for de_json only
    engine.start()
    await dispatcher.start()
    latencies: list[float] = []
    commits: list[float] = []
    loop = asyncio.get_running_loop()

    async def talk(k: int) -> None:
        for data in scripts[k]:
            started = time.perf_counter()
            inbound = convert(Update.de_json(data, bot), settings.telegram_bot_username, clock)
            if inbound is None:
                raise SystemExit(f"the adapter ignored update {data['update_id']}")
            answered = loop.create_future()
            telegram_channel.waiting[inbound.address] = answered
            await engine.handle(inbound)
            commits.append(time.perf_counter() - started)
            await asyncio.wait_for(answered, 30)
            latencies.append(time.perf_counter() - started)

    try:
        seconds = await _pool(len(scripts), concurrency, talk)
        sent_rows = await _settled(db)
        async with db.transaction() as tx:
            active = await tx.scalar("SELECT COUNT(*) FROM supporters WHERE status = 'active'")
            opted_in = await tx.scalar(
                "SELECT COUNT(*) FROM consent_log WHERE action = 'opt_in' AND channel = 'telegram'"
            )
    finally:
        await engine.stop()
        await dispatcher.stop()
    await db.close()
    every_reply = sum(1 for k in range(len(scripts))
                      if telegram_channel.sent[str(USER_BASE + k)] == UPDATES_PER_CONVERSATION)
    return {
        **_figures(latencies, seconds),
        "commit_p50_ms": _percentile(commits, 0.5),
        "commit_p99_ms": _percentile(commits, 0.99),
        "conversations_completed": min(active, opted_in, every_reply),
        "supporters_active": active,
        "consent_log_opt_ins": opted_in,
        "replies_sent": sent_rows,
        "database": db.dialect,
    }


async def _settled(db: Any, timeout: float = 30.0) -> int:
    """Once the dispatcher has recorded every send: the number of telegram rows marked sent."""
    deadline = time.perf_counter() + timeout
    while True:
        async with db.transaction() as tx:
            busy = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")
            sent = await tx.scalar("SELECT COUNT(*) FROM outbox WHERE channel = 'telegram' AND status = 'sent'")
        if not busy or time.perf_counter() > deadline:
            return sent
        await asyncio.sleep(0.01)


def _figures(latencies: list[float], seconds: float) -> dict[str, Any]:
    return {
        "messages": len(latencies),
        "seconds": round(seconds, 3),
        "messages_per_s": round(len(latencies) / seconds, 1),
        "p50_ms": _percentile(latencies, 0.5),
        "p99_ms": _percentile(latencies, 0.99),
    }


NOTES = [
    "Both sides: the same Telegram update dicts, parsed with Update.de_json, on the same event loop (event_loop: "
    "the service's, uvloop where installed; --standard-loop for asyncio's own); one simulated person "
    "sends an update only after the bot's answer to the previous one; --concurrency conversations in flight. "
    "ratio_muster_to_baseline compares the conversations' wall-clock time only; "
    "ratio_muster_to_baseline_with_flush adds the baseline's one pickle flush at shutdown.",
    "Baseline: python-telegram-bot {ptb} ConversationHandler(persistent=True) + PicklePersistence with its "
    "defaults (update_interval=60 s, on_flush=False, single_file=True); Application built with "
    "ApplicationBuilder defaults, concurrent_updates left at its default (False), which only governs updates "
    "taken from update_queue: this benchmark awaits Application.process_update directly, so the concurrency "
    "is the simulated people's. Bot API calls (sendMessage, answerCallbackQuery) are answered in-process by "
    "a BaseRequest subclass: PTB still builds and parses every request and response, nothing touches a socket.",
    "Baseline latency = process_update() returning (its replies already 'sent'). Muster latency = update in "
    "→ reply handed to the sandbox channel by the dispatcher; commit_p50/p99 = update in → message committed "
    "(when a webhook would be answered 200). Muster's sends go to the in-memory sandbox channel, not through "
    "PTB's Bot, and its Telegram adapter's callback-query answer and keyboard edit are not run.",
    "What the baseline does NOT do: its conversation state and user_data live in memory and reach disk only "
    "when Application.update_persistence() runs - every 60 s (PicklePersistence update_interval default) and "
    "on shutdown - each time rewriting the whole pickle file per changed user/conversation (its shutdown cost "
    "is shutdown_flush_seconds, outside 'seconds' and inside messages_per_s_with_flush; the dump is synchronous, "
    "so no update is processed while it runs); a crash loses up to a minute of sign-ups, and an update "
    "acknowledged to Telegram may never have been stored.",
    "No dedupe: an update Telegram delivers again (e.g. after a webhook timeout) is processed again and "
    "answered twice. No outbox: replies are sent inline inside the handler, with no record of what was sent, "
    "so no at-most-once guarantee, no 'unknown' state after a crash, no pacing, no retry policy. Replies are "
    "not durable before the update is acknowledged. No consent log: consent is a bool in user_data, with no "
    "time, channel, source or wording version, and no append-only history. No opt-out routing, flood "
    "throttle, conversation timeout, cross-channel identity or data-rights handling.",
    "Muster commits every message before handle() returns: the update id (dedupe), supporter, conversation "
    "state, consent-log row and every reply (outbox) in one SQLite transaction; SQLite in WAL mode with "
    "synchronous=NORMAL, so a committed message survives a process crash but the last transactions may be "
    "lost on an OS crash or power cut (synchronous=FULL would fsync every commit). The engine groups up to "
    "64 concurrent messages per transaction (group commit); the dispatcher then records each reply as "
    "'sending' before the send and 'sent' after it, in batched transactions of its own. With --database-url "
    "(muster.database: postgresql) the same transactions go to that PostgreSQL server, each commit as durable "
    "as the server is configured to make it (synchronous_commit on by default: flushed to its WAL).",
]


async def bench(n: int, concurrency: int, workdir: Path, database_url: str = "") -> dict[str, Any]:
    scripts = [conversation(k) for k in range(n)]
    for code in POSTCODES:  # warm both sides' postcode lookups outside the timings
        is_valid(fix(code.upper()))
    (workdir / "ptb").mkdir()
    (workdir / "muster").mkdir()
    baseline = await run_baseline(workdir / "ptb", scripts, concurrency)
    if not database_url:
        return {"baseline_ptb": baseline, "muster": await run_muster(workdir / "muster", scripts, concurrency)}
    async with own_schema(database_url, "muster_bench") as url:
        return {"baseline_ptb": baseline, "muster": await run_muster(workdir / "muster", scripts, concurrency, url)}


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Each numeric field's median over the runs (the fields of one run when there is one)."""
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = _median([r[key] for r in runs])
        elif isinstance(value, (int, float)):
            middle = statistics.median(r[key] for r in runs)
            out[key] = round(middle, 3) if isinstance(middle, float) else middle
        else:
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="conversations on each side")
    parser.add_argument("--concurrency", type=int, default=150, help="conversations in flight at once")
    parser.add_argument("--runs", type=int, default=1, help="repeat and report the median figures")
    parser.add_argument("--standard-loop", action="store_true",
                        help="run both sides on asyncio's standard event loop, not the service's (bot/event_loop.py)")
    parser.add_argument("--database-url", default="",
                        help="Muster's side on this PostgreSQL server (a schema of its own, dropped after)")
    args = parser.parse_args(argv)
    runs = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            runs.append(event_loop.run(bench(args.n, args.concurrency, Path(tmp), args.database_url),
                                       standard=args.standard_loop))
    result = _median(runs)
    ratios = [r["muster"]["messages_per_s"] / r["baseline_ptb"]["messages_per_s"] for r in runs]
    with_flush = [r["muster"]["messages_per_s"] / r["baseline_ptb"]["messages_per_s_with_flush"] for r in runs]
    print(json.dumps({
        "n": args.n,
        "concurrency": args.concurrency,
        "updates_per_conversation": UPDATES_PER_CONVERSATION,
        "runs": args.runs,
        **result,
        "ratio_muster_to_baseline": round(statistics.median(ratios), 3),
        "ratio_muster_to_baseline_with_flush": round(statistics.median(with_flush), 3),
        "per_run_messages_per_s": [
            {"baseline_ptb": r["baseline_ptb"]["messages_per_s"], "muster": r["muster"]["messages_per_s"]}
            for r in runs
        ],
        "python_telegram_bot": telegram.__version__,
        "event_loop": event_loop.name(args.standard_loop),
        "muster_adapter": "bot.channels.telegram.convert",
        "notes": [note.format(ptb=telegram.__version__) for note in NOTES],
    }))


if __name__ == "__main__":
    main()
