"""What became of a broadcast: its delivery funnel, failures by error code with what each means and what
the organiser can do, alert answers, its recipients a page at a time, as plain text for every front;
settling a broadcast the moment its last message has gone, and telling the organiser (progress at each
quarter of a large one, the report at the end)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, plural, t
from flows.core.types import Reply
from flows.organiser.access import Actor, check_access
from flows.organiser.broadcasts import kind_word, state_word
from storage import broadcast_results as results
from storage import broadcasts as store
from storage import outbox
from storage.broadcast_results import RECEIPT_DELIVERED, RECEIPT_FAILED, RECIPIENT_FILTERS, Recipient, Tally
from storage.broadcasts import Broadcast
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)

PROGRESS_MIN = 100  # smaller broadcasts only get the final report
PAGE = 100          # recipients listed at a time
FINAL_KEY = ("bn:", ":final")  # the final report's dedupe key is bn:<id>:final: it goes once
TELL_WITHIN = timedelta(hours=24)  # a settled broadcast whose report was not queued yet gets it this long


@dataclass(frozen=True)
class Meaning:
    """What a provider's error code means, in a few words and in full, and what the organiser can do."""
    short: str
    meaning: str
    action: str


# Error codes our channels record, with what they mean and what to do. Twilio's come from its
# error list; Telegram has no numeric codes, so bot/channels/telegram.py names its own.
ERRORS: dict[str, Meaning] = {
    "21211": Meaning("invalid number", "Not a phone number that can be texted.",
                     "Check the number with them; Muster stops texting it until they text in."),
    "21408": Meaning("region not enabled", "Texts to this country are not enabled on the Twilio account.",
                     "Allow the country in Twilio's Messaging geographic permissions, then resend to them."),
    "21610": Meaning("opted out (STOP)", "They replied STOP to our number, so Twilio blocks texts to them.",
                     "Nothing: they are opted out of SMS here too. Only they can opt back in, by texting START."),
    "21611": Meaning("sender queue full", "Twilio's queue for our sender was full.",
                     "Set SMS_SEGMENTS_PER_SECOND to the sender's real rate, then send again."),
    "21614": Meaning("not a mobile", "The number is a landline or otherwise cannot receive texts.",
                     "Muster stops texting it; ask them for a mobile number, or to use Telegram."),
    "21617": Meaning("too long", "The text is longer than 1,600 characters.", "Shorten the message and send again."),
    "20429": Meaning("too many requests", "Twilio kept asking us to slow down, past every retry.",
                     "Lower SMS_SEGMENTS_PER_SECOND and send again later."),
    "30001": Meaning("queue overflow", "Twilio dropped it: too many texts were waiting for our sender.",
                     "Set SMS_SEGMENTS_PER_SECOND to the sender's real rate, then send again."),
    "30002": Meaning("account suspended", "The Twilio account is suspended.",
                     "Check the account's status and billing in the Twilio console."),
    "30003": Meaning("unreachable", "The phone is off, out of signal or out of service; often temporary.",
                     "Nothing now: a later message may get through. If it keeps happening, check the number."),
    "30004": Meaning("blocked", "Their phone or carrier blocks texts from our number.",
                     "Do not resend; they may have blocked us. Ask them another way if they still want texts."),
    "30005": Meaning("unknown destination", "The number does not exist or is no longer in service.",
                     "Check the number with them, or remove it."),
    "30006": Meaning("landline or unreachable carrier", "The number is a landline, or its carrier cannot be reached.",
                     "Muster stops texting it until they text in; offer them Telegram."),
    "30007": Meaning("filtered by the carrier", "The carrier filtered it as spam or unwanted content.",
                     "Reword it (fewer links, no link shorteners, no capitals) and send later: the same text "
                     "will be filtered again."),
    "30008": Meaning("unknown error", "The carrier gave no reason.",
                     "Try again later; if many fail so, ask Twilio support with the time of sending."),
    "30034": Meaning("sender not registered", "US texts from a number not registered for A2P 10DLC.",
                     "Register the sender's campaign in the Twilio console (US numbers only)."),
    "forbidden": Meaning("blocked the bot", "They blocked the bot on Telegram or deleted their account.",
                         "Nothing: they are opted out of Telegram here. They can start the bot again to opt in."),
    "bad_request": Meaning("refused by Telegram", "Telegram refused the message: the chat is gone, or the message "
                           "was malformed.", "For one person, their chat has gone. If many fail, check the text."),
    "chat_migrated": Meaning("group chat moved", "The group chat became a supergroup with a new id.",
                             "Link the group chat again: /linkgroup in that chat."),
    "429": Meaning("too many requests", "Telegram kept asking us to slow down, past every retry.",
                   "Lower TELEGRAM_MESSAGES_PER_SECOND and send again later."),
    "empty": Meaning("nothing to send", "The message was empty.", "Check the broadcast's text."),
    "connect": Meaning("could not connect", "The provider could not be reached; nothing was sent.",
                       "Check the server's connection to the internet, then send again."),
    "timeout": Meaning("no answer in time", "The provider did not answer in time, past every retry.",
                       "Check the provider's status page, then send again."),
    "network": Meaning("connection lost", "The connection to the provider broke.",
                       "Check the server's connection to the internet, then send again."),
    "none": Meaning("no error code", "The send failed without an error code.",
                    "See the service log at the time it was sent."),
}
UNKNOWN_MEANS = ("Unknown means a crash, a stop or a provider that did not answer left it unclear whether the "
                 "message went out: it may have arrived. Muster never resends these by itself.")
RESEND_WARNING = "Some of these people may have received it already, and will get it twice."
NO_TELEGRAM_RECEIPTS = "No delivery receipts on Telegram: sent is as far as Telegram tells."


def meaning(code: str | None) -> Meaning:
    """What an error code means; one we do not know is named as it is."""
    found = ERRORS.get(code or "none")
    if found is not None:
        return found
    return Meaning(f"error {code}", f"The provider answered with error {code}.",
                   "Look the code up in the provider's list of errors.")


@dataclass(frozen=True)
class Failure:
    code: str
    count: int
    channels: tuple[str, ...]
    means: Meaning


@dataclass(frozen=True)
class Funnel:
    """A broadcast's messages from queued to delivered. `sent` counts every message a provider took
    (delivered and later undelivered ones too); `failed` those refused or reported undelivered."""
    total: int
    waiting: int
    sent: int
    delivered: int
    failed: int
    unknown: int
    cancelled: int
    sms_sent: int          # of `sent`, by SMS (receipts come for these)
    telegram_sent: int     # of `sent`, on Telegram (no receipts: sent is final)
    awaiting: int          # SMS sent and no final receipt yet
    undelivered: int = 0   # of `sent` and of `failed`: SMS the carrier reported undelivered
    telegram: int = 0      # of `total`: messages on Telegram, whatever became of them

    @property
    def unconfirmed(self) -> int:
        """Sent with no final receipt: every Telegram message, and texts still awaiting theirs."""
        return self.sent - self.delivered - self.undelivered

    @property
    def done(self) -> int:
        return self.total - self.waiting

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 100


def funnel_of(tallies: list[Tally]) -> Funnel:
    counts = {"total": 0, "waiting": 0, "sent": 0, "delivered": 0, "failed": 0, "unknown": 0, "cancelled": 0,
              "sms_sent": 0, "telegram_sent": 0, "awaiting": 0,
              "undelivered": 0, "telegram": 0}
    for x in tallies:
        counts["total"] += x.count
        if x.channel == "telegram":
            counts["telegram"] += x.count
        if x.status in ("queued", "sending"):
            counts["waiting"] += x.count
        elif x.status in ("failed", "unknown", "cancelled"):
            counts[x.status] += x.count
        elif x.status == "sent":
            counts["sent"] += x.count
            counts["sms_sent" if x.channel == "sms" else "telegram_sent"] += x.count
            if x.receipt in RECEIPT_DELIVERED:
                counts["delivered"] += x.count
            elif x.receipt in RECEIPT_FAILED:
                counts["failed"] += x.count
                counts["undelivered"] += x.count
            elif x.channel == "sms":
                counts["awaiting"] += x.count
    return Funnel(**counts)


def failures_of(tallies: list[Tally]) -> list[Failure]:
    """Failed messages by error code, most first."""
    by_code: dict[str, tuple[int, set[str]]] = {}
    for x in tallies:
        if x.status == "failed" or (x.status == "sent" and x.receipt in RECEIPT_FAILED):
            code = x.code or "none"
            n, channels = by_code.get(code, (0, set()))
            by_code[code] = (n + x.count, channels | {x.channel})
    ordered = sorted(by_code.items(), key=lambda item: (-item[1][0], item[0]))
    return [Failure(code, n, tuple(sorted(channels)), meaning(code)) for code, (n, channels) in ordered]


@dataclass(frozen=True)
class Report:
    broadcast: Broadcast
    recipients: int               # supporters it was queued for
    chats: int                    # linked group chats
    statuses: dict[str, int]      # outbox rows by status
    delivered: int | None         # confirmed by the provider (None: no receipts on these channels)
    failed: dict[str, int]        # error code → count
    opt_outs: int                 # recipients who opted out within 24 hours
    replies: int                  # recipients who wrote back after it reached them
    responses: dict[str, int]     # alerts: done / cant
    by_group: list[tuple[str, int, int, int]]  # alerts: (group, recipients, done, cant)
    funnel: Funnel | None = None
    failures: tuple[Failure, ...] = ()

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def pending(self) -> int:
        return self.count("queued") + self.count("sending")


async def build(tx: Tx, b: Broadcast, now: datetime) -> Report:
    started = parse_ts(b.started_at) if b.started_at else now
    alert = b.kind == "alert"
    tallies = await results.tallies(tx, b.id)
    statuses: dict[str, int] = {}
    for x in tallies:
        statuses[x.status] = statuses.get(x.status, 0) + x.count
    funnel, failures = funnel_of(tallies), failures_of(tallies)
    by_group = await results.completion_by_group(tx, b.id) if alert else []
    responses = {"done": sum(g[2] for g in by_group), "cant": sum(g[3] for g in by_group)} if alert else {}
    return Report(
        broadcast=b, recipients=b.recipients, chats=b.chats, statuses=statuses,
        delivered=funnel.delivered if funnel.sms_sent or not funnel.telegram_sent else None,
        failed={f.code: f.count for f in failures},
        opt_outs=await results.opt_outs(tx, b.id, started, started + timedelta(hours=24)),
        replies=await results.replies(tx, b.id),
        responses=responses, by_group=by_group,
        funnel=funnel, failures=tuple(failures),
    )


async def find(tx: Tx, actor: Actor, broadcast_id: int) -> Broadcast:
    """A broadcast this actor may see the report of: LookupError if there is none, ScopeError if
    it reaches beyond their groups."""
    b = await store.get(tx, broadcast_id)
    if b is None:
        raise LookupError(f"There is no broadcast #{broadcast_id}.")
    check_access(actor, b)
    return b


async def report(tx: Tx, actor: Actor, broadcast_id: int, now: datetime) -> Report:
    """The whole report, for an organiser allowed to see it."""
    return await build(tx, await find(tx, actor, broadcast_id), now)


async def live(tx: Tx, actor: Actor, broadcast_id: int) -> tuple[Broadcast, Funnel]:
    """The funnel alone, cheaply, for a page that watches a broadcast drain."""
    b = await find(tx, actor, broadcast_id)
    return b, funnel_of(await results.tallies(tx, b.id))


async def recipients(tx: Tx, actor: Actor, broadcast_id: int, which: str = "all",
                     after: int = 0) -> tuple[Broadcast, list[Recipient], int | None]:
    """A page of a broadcast's recipients (PAGE at most), and the id the next page starts after
    (None on the last page). `which` is one of storage.broadcast_results.RECIPIENT_FILTERS."""
    b = await find(tx, actor, broadcast_id)
    if which not in RECIPIENT_FILTERS:
        raise ValueError(f"Show one of: {', '.join(RECIPIENT_FILTERS)}.")
    rows = await results.recipients(tx, b.id, which, max(0, after), PAGE + 1)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return b, rows, rows[-1].id if more else None


def shown_status(r: Recipient) -> str:
    """One word for where a message stands: the receipt where one came, else the outbox's status."""
    if r.status == "sent" and r.receipt in RECEIPT_DELIVERED:
        return "delivered"
    if r.status == "sent" and r.receipt in RECEIPT_FAILED:
        return "failed"
    return "waiting" if r.status in ("queued", "sending") else r.status


def describe(r: Report, settings: FlowSettings, lang: str = DEFAULT_LANGUAGE) -> str:
    """The report as plain text (console and the organiser's notification), in `lang`."""
    b = r.broadcast
    lines = [
        t("broadcasts.report_title", lang, id=b.id, kind=kind_word(b.kind, lang), status=state_word(b.status, lang)),
        t("broadcasts.report_counts", lang, recipients=r.recipients, chats=plural("chat", r.chats, lang),
          sent=r.count("sent"),
          delivered="—" if r.delivered is None else r.delivered, unknown=r.count("unknown"),
          pending=r.pending, cancelled=r.count("cancelled")),
    ]
    if r.funnel and r.funnel.telegram:
        lines.append(t("broadcasts.report_no_receipts", lang))
    if r.failed:
        lines.append(t("broadcasts.report_failed", lang, failed=sum(r.failed.values()),
                       codes=", ".join(f"{code}: {n}" for code, n in r.failed.items())))
        for f in r.failures:
            lines.append(t("broadcasts.report_failure", lang, code=f.code, short=f.means.short, action=f.means.action))
    if r.count("unknown"):
        lines.append(t("broadcasts.report_unknown", lang, unknown=r.count("unknown"), id=b.id))
    lines.append(t("broadcasts.report_people", lang, opt_outs=r.opt_outs, replies=r.replies))
    if b.kind == "alert":
        lines.append(t("broadcasts.report_alert", lang, done=r.responses.get("done", 0),
                       cant=r.responses.get("cant", 0), recipients=r.recipients))
        for name, people, done, cant in r.by_group:
            share = f"{100 * done // people}%" if people else "—"
            lines.append(t("broadcasts.report_group", lang, group=name, done=done, people=people, share=share,
                           cant=cant))
    return "\n".join(lines)


def notify(tx: Tx, b: Broadcast, text: str, now: datetime, key: str) -> None:
    """A message to whoever composed it (once per key); broadcasts from the CLI are only logged."""
    if not (b.notify_channel and b.notify_address):
        log.info("broadcast %s: %s (no organiser chat to tell)", b.id, key)
        return
    outbox.enqueue(
        tx, b.notify_channel, b.notify_address, Reply(text).to_payload(), now,
        priority=outbox.NOTICE, dedupe_key=f"bn:{b.id}:{key}",
    )


async def settle(tx: Tx, broadcast_ids: set[int], now: datetime) -> list[int]:
    """Mark sent each of these broadcasts still sending that has no message queued or being sent,
    the moment its last one is settled (the dispatcher calls this as it records outcomes; the report
    follows at the next sweep, once receipts have had a moment to come). Returns those marked."""
    settled = []
    for broadcast_id in sorted(broadcast_ids):
        b = await store.get(tx, broadcast_id)
        if b is None or b.status != "sending" or await results.pending(tx, broadcast_id):
            continue
        await store.update(tx, broadcast_id, status="sent", finished_at=ts(now))
        settled.append(broadcast_id)
    if settled:
        log.info("broadcasts %s: every message settled; marked sent", ", ".join(map(str, settled)))
    return settled


async def tell_settled(tx: Tx, now: datetime, settings: FlowSettings) -> None:
    """The final report for broadcasts settled since the last sweep (see settle), once each."""
    for broadcast_id in await results.unreported(tx, now - TELL_WITHIN, *FINAL_KEY):
        b = await store.fetch(tx, broadcast_id)
        notify(tx, b, describe(await build(tx, b, now), settings), now, "final")


async def progress(tx: Tx, b: Broadcast, now: datetime, settings: FlowSettings) -> None:
    """Tell the organiser at each quarter of a large broadcast, and send the report at the end. An
    alert's recipients by group are counted the first time (it has just started)."""
    if b.kind == "alert":
        await results.count_groups(tx, b.id)
    counts = await store.delivery_counts(tx, b.id)
    total = sum(counts.values())
    pending = counts.get("queued", 0) + counts.get("sending", 0)
    if pending == 0:
        await store.update(tx, b.id, status="sent", finished_at=ts(now))
        b = await store.fetch(tx, b.id)
        report = await build(tx, b, now)
        notify(tx, b, describe(report, settings), now, "final")
        return
    step = (total - pending) * 4 // total
    if total >= PROGRESS_MIN and step > b.progress_step:
        await store.update(tx, b.id, progress_step=step)
        text = t("broadcasts.progress", id=b.id, done=f"{total - pending:,}", messages=plural("message", total))
        notify(tx, b, text, now, f"progress:{step}")
