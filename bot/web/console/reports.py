"""The console's broadcast reports: one broadcast's or alert's report (its funnel drawn on the server,
failures by error code with what each means, alert answers), a small JSON of its progress that
report.js polls while it sends, its recipients a page at a time, and sending again what a crash left
`unknown` (behind a confirm step; audited by flows.organiser.sending).

The operations in flows.organiser.reports decide who may see what: a broadcast that does not exist is
a 404, one that reaches beyond the organiser's groups a 403.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from bot.web.console import dates
from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext, ngettext
from flows.organiser import reports, sending
from flows.organiser.errors import BroadcastError, ScopeError
from flows.organiser.reports import Funnel
from flows.organiser.signin import SignedIn
from flows.values.phones import masked_address
from storage.db import parse_ts

BAR_LEFT, BAR_WIDTH = 135, 170  # the funnel chart: labels, then bars as their share of every message
LABEL_EM = 9  # about how wide a character of a bar's label is, in the chart's units
CHANNEL_NAMES = {"sms": "SMS", "telegram": "Telegram"}
FILTERS = ("all", "waiting", "sent", "delivered", "failed", "unknown", "cancelled")


def status_names() -> dict[str, str]:
    """A broadcast's status, as 'It is …' ends, in the reader's language."""
    return {"draft": gettext("a draft, not sent yet"), "scheduled": gettext("scheduled, not started yet"),
            "sending": gettext("sending"), "sent": gettext("sent"), "cancelled": gettext("cancelled"),
            "missed": gettext("missed (the service was down at its time)")}


def filter_names() -> dict[str, str]:
    return {"all": gettext("All"), "waiting": gettext("Waiting to send"), "sent": gettext("Sent (no receipt)"),
            "delivered": gettext("Delivered"), "failed": gettext("Failed"), "unknown": gettext("Unknown"),
            "cancelled": gettext("Cancelled")}


def kind_names() -> dict[str, str]:
    return {"broadcast": gettext("Broadcast"), "alert": gettext("Action alert")}


def answers() -> dict[str, str]:
    return {"done": gettext("Done"), "cant": gettext("Can't")}

Handler = Callable[[Request, SignedIn, int], Awaitable[Response]]


def messages(n: int) -> str:
    """'1 message', '3 messages', in the reader's language."""
    return ngettext("%(num)s message", "%(num)s messages", n)


def bars(f: Funnel) -> list[tuple[str, str, int, int]]:
    """(key, label, count, width) for each bar of the funnel chart; cancelled only where there is any."""
    rows = [("total", gettext("Queued"), f.total), ("sent", gettext("Sent"), f.sent),
            ("delivered", gettext("Delivered (SMS)"), f.delivered), ("failed", gettext("Failed"), f.failed),
            ("unknown", gettext("Unknown"), f.unknown)]
    if f.cancelled:
        rows.append(("cancelled", gettext("Cancelled"), f.cancelled))
    return [(key, label, n, width(n, f.total)) for key, label, n in rows]


def bar_left(drawn: list[tuple[str, str, int, int]]) -> int:
    """Where the bars start: after the longest label (a Welsh label is longer than the English)."""
    return max(BAR_LEFT, LABEL_EM * max((len(label) for _, label, _, _ in drawn), default=0) + 6)


def width(n: int, total: int) -> int:
    return round(BAR_WIDTH * n / total) if total else 0


def progress_json(status: str, f: Funnel) -> dict[str, object]:
    return {"status": status, "status_text": status_names().get(status, status), "sending": status == "sending",
            "total": f.total, "waiting": f.waiting, "done": f.done, "percent": f.percent, "sent": f.sent,
            "delivered": f.delivered, "failed": f.failed, "unknown": f.unknown, "cancelled": f.cancelled,
            "awaiting": f.awaiting, "unconfirmed": f.unconfirmed, "widths": {key: w for key, _, _, w in bars(f)}}


def routes(console: Console) -> list[BaseRoute]:
    zone = ZoneInfo(console.settings.timezone)

    def when(stamp: str | None) -> str:
        return dates.day(parse_ts(stamp).astimezone(zone)) if stamp else "–"

    def guarded(handler: Handler) -> Callable[[Request, SignedIn], Awaitable[Response]]:
        """The handler, with an unknown broadcast as a 404 and one beyond the organiser's reach a 403."""
        async def page(request: Request, who: SignedIn) -> Response:
            broadcast_id = int(request.path_params["broadcast_id"])
            try:
                return await handler(request, who, broadcast_id)
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, gettext("There is no such broadcast, or it is not one of yours."))
        return page

    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        if request.url.path.endswith("/progress"):
            return JSONResponse({"error": message}, status)
        return console.refused(request, who, status, message, heading=gettext("Broadcast report"),
                               back="/console/broadcasts", back_to=gettext("the broadcasts"))

    async def report(request: Request, who: SignedIn, broadcast_id: int) -> Response:
        async with console.transaction() as tx:
            seen = await reports.report(tx, who.actor, broadcast_id, console.now())
        assert seen.funnel is not None
        drawn = bars(seen.funnel)
        return console.render(
            request, "reports/report.html", who=who, r=seen, b=seen.broadcast, f=seen.funnel, bars=drawn,
            bar_left=bar_left(drawn), bar_width=BAR_WIDTH, status_names=status_names(), when=when, messages=messages,
            kind_names=kind_names(), filter_names=filter_names(), channel_names=CHANNEL_NAMES,
            unknown_means=reports.UNKNOWN_MEANS,
            no_telegram_receipts=reports.NO_TELEGRAM_RECEIPTS)

    async def progress(request: Request, who: SignedIn, broadcast_id: int) -> Response:
        async with console.transaction() as tx:
            b, funnel = await reports.live(tx, who.actor, broadcast_id)
        return JSONResponse(progress_json(b.status, funnel))

    async def recipients(request: Request, who: SignedIn, broadcast_id: int) -> Response:
        which = request.query_params.get("status", "") or "all"
        raw_after = request.query_params.get("after", "") or "0"
        error, status = None, 200
        if which not in FILTERS:
            shown = ", ".join(filter_names().values())
            error, status, which = gettext("Show one of: %(names)s.", names=shown), 400, "all"
        if not raw_after.isdigit():
            error, status, raw_after = gettext("The page to start after is a message number; start from the first."), \
                400, "0"
        async with console.transaction() as tx:
            b, rows, next_after = await reports.recipients(tx, who.actor, broadcast_id, which, int(raw_after))
        base = f"/console/broadcasts/{b.id}/report/recipients"
        kept = {"status": which} if which != "all" else {}
        next_url = f"{base}?{urlencode({**kept, 'after': next_after})}" if next_after else None
        first_url = base + (f"?{urlencode(kept)}" if kept else "")
        return console.render(
            request, "reports/recipients.html", status=status, who=who, error=error, b=b, rows=rows, which=which,
            paged=raw_after != "0", next_url=next_url, first_url=first_url, filter_names=filter_names(),
            channel_names=CHANNEL_NAMES, kind_names=kind_names(), answers=answers(), masked_address=masked_address,
            shown_status=reports.shown_status, meaning=reports.meaning, page_size=reports.PAGE)

    async def confirm(request: Request, who: SignedIn, broadcast_id: int, *, error: str | None = None,
                      status: int = 200) -> Response:
        async with console.transaction() as tx:
            b, funnel = await reports.live(tx, who.actor, broadcast_id)
        return console.render(request, "reports/resend.html", status=status, who=who, error=error, b=b, f=funnel,
                              messages=messages, kind_names=kind_names(), unknown_means=reports.UNKNOWN_MEANS,
                              warning=reports.RESEND_WARNING)

    async def confirm_page(request: Request, who: SignedIn, broadcast_id: int) -> Response:
        return await confirm(request, who, broadcast_id)

    async def resend(request: Request, who: SignedIn, broadcast_id: int) -> Response:
        now = console.now()
        try:
            async with console.transaction() as tx:
                b = await reports.find(tx, who.actor, broadcast_id)
                queued = await sending.resend_unknown(tx, b, who.actor, now, console.settings.flow_settings())
        except ScopeError:
            raise
        except BroadcastError as exc:
            return await confirm(request, who, broadcast_id, error=why(exc), status=400)
        if queued:
            console.wake()
            said = ngettext("%(num)s message in doubt queued again.", "%(num)s messages in doubt queued again.", queued)
        else:
            said = gettext("No message was in doubt any more (or those left have opted out since): nothing was sent.")
        return back(f"/console/broadcasts/{broadcast_id}/report", said)

    def route(path: str, handler: Handler, method: str = "GET") -> Route:
        return Route(f"/broadcasts/{{broadcast_id:int}}/report{path}", signed_in(console, guarded(handler)),
                     methods=[method])

    return [
        route("", report),
        route("/progress", progress),
        route("/recipients", recipients),
        route("/resend-unknown", confirm_page),
        route("/resend-unknown", resend, "POST"),
    ]
