"""`muster broadcast create|preview|schedule|send|cancel|list|report|followup`.

`create` takes the message (and an alert's call to action) in each language with a catalogue beyond
English, `--body-cy` and `--cta-cy` for Welsh: a version MUSTER_LANGUAGES does not list is refused."""
from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from bot.cli.base import Table, console, fail, in_transaction, run_async, settings, shown
from bot.dispatcher import LEASE_SECONDS
from flows.core.clock import SystemClock
from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, plural
from flows.organiser import reports as broadcast_report
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor
from flows.organiser.broadcasts import (
    KIND_WORDS,
    compose,
    followup,
    headline,
    language_name,
    local,
    parse_audience,
    parse_time,
    state,
)
from flows.organiser.errors import BroadcastError
from storage import broadcasts as store
from storage import instances, open_database
from storage.db import Tx, parse_ts
from storage.lock import holder

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
OTHER_LANGUAGES = tuple(code for code in LANGUAGE_NAMES if code != DEFAULT_LANGUAGE)
broadcast_app = typer.Typer(help="Broadcasts and action alerts.", no_args_is_help=True)
CLI = Actor(trusted=True, label="cli")
clock = SystemClock()


def _in_tx(work: Callable[[Tx], Awaitable[T]]) -> T:
    """Run `work` in one transaction; organiser errors end the command."""
    return in_transaction(work, (BroadcastError,))


async def _get(tx: Tx, broadcast_id: int) -> store.Broadcast:
    b = await store.get(tx, broadcast_id)
    if b is None:
        raise BroadcastError(f"there is no broadcast {broadcast_id}")
    return b


def _show_preview(p: broadcast_send.Preview) -> None:
    flow = settings().flow_settings()
    table = Table(title=f"Preview of {KIND_WORDS[p.broadcast.kind]} #{p.broadcast.id}", show_header=False)
    table.add_column("", style="bold")
    table.add_column("")
    table.add_row("SMS recipients", f"{p.counts['sms']:,}")
    table.add_row("Telegram recipients", f"{p.counts['telegram']:,}")
    table.add_row("Telegram group chats", f"{p.counts['chats']:,}")
    table.add_row("Messages in all", f"{p.total:,}")
    table.add_row("SMS", broadcast_send.sms_figures(p))
    if p.broadcast.versions:  # each language: who gets it, its encoding, segments and cost
        for f in p.languages:
            table.add_row(broadcast_send.version_name(f.version, flow, p.broadcast),
                          broadcast_send.language_figures(f, p, flow))
        for lang, chars in broadcast_send.outside_gsm7(p.broadcast).items():
            table.add_row("UCS-2", broadcast_send.ucs2_note(lang, chars))
    table.add_row("Normalised", "; ".join(p.changes) or "nothing changed")
    if p.quiet_until:
        table.add_row("Quiet hours", f"SMS waits until {local(p.quiet_until, flow.timezone)}")
    table.add_row("Sample (Telegram)", shown(p.sample))
    table.add_row("Sample (SMS)", shown(p.sms_sample))
    for version, sample in (p.samples or {}).items():
        table.add_row(f"Sample ({broadcast_send.version_name(version, flow, p.broadcast)})", shown(sample))
    console.print(table)


def _option(part: str, code: str, helped: str) -> inspect.Parameter:
    return inspect.Parameter(f"{part}_{code}", inspect.Parameter.KEYWORD_ONLY, annotation=str | None,
                             default=typer.Option(None, f"--{part}-{code}", help=helped))


def _with_versions(command: F) -> F:
    """Give `command` a --body-<code> and a --cta-<code> for each language with a catalogue beyond
    English (typer reads the options from the signature; they arrive in **versions)."""
    return _adding(command, [option for code in OTHER_LANGUAGES for option in (
        _option("body", code, f"The message in {language_name(code)}, for supporters who chose it; without it "
                              f"they get the English. MUSTER_LANGUAGES must list {code}."),
        _option("cta", code, f"Alerts: the call to action in {language_name(code)} (the link is the English "
                             "one's)."))])


def _with_bodies(command: F) -> F:
    """Give `command` a --body-<code> for each language beyond English (a follow-up's new text in it)."""
    return _adding(command, [_option("body", code, f"New text in {language_name(code)} (default: the alert's "
                                                   "own in that language).") for code in OTHER_LANGUAGES])


def _adding(command: F, added: list[inspect.Parameter]) -> F:
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    command.__signature__ = signature.replace(parameters=[*kept, *added])  # type: ignore[attr-defined]
    command.__annotations__ = {**command.__annotations__, **{p.name: p.annotation for p in added}}
    return command


def _versions(options: dict[str, str | None], part: str) -> dict[str, str]:
    """{'cy': …} from the --body-cy (part "body") or --cta-cy (part "cta") options given."""
    found = {}
    for code in OTHER_LANGUAGES:
        value = options.get(f"{part}_{code}")
        if value is not None:
            found[code] = value
    return found


@broadcast_app.command("create")
@_with_versions
def create(
    body: str = typer.Option(..., "--body", help="The message; placeholders {first_name} and {group}."),
    audience: str = typer.Option("all", "--audience", help="e.g. 'group:Leeds interest:housing channel:sms chats'."),
    kind: str = typer.Option("broadcast", "--kind", help="broadcast or alert"),
    cta: str | None = typer.Option(None, "--cta", help="Alerts: what people should do."),
    link: str | None = typer.Option(None, "--link", help="Alerts: a link for the call to action."),
    deadline: str | None = typer.Option(None, "--deadline", help="Alerts: local time, e.g. '2026-11-20 23:59'."),
    every_channel: bool = typer.Option(False, "--every-channel", help="Send on each channel a supporter has."),
    no_normalise: bool = typer.Option(False, "--no-normalise", help="Keep curly quotes, dashes and the like."),
    **versions: str | None,
) -> None:
    """Save a draft and show its preview; nothing is sent until `send` or `schedule`. With
    MUSTER_LANGUAGES beyond English, --body-cy (and for alerts --cta-cy) give the Welsh version."""
    if kind not in ("broadcast", "alert"):
        fail("--kind: expected broadcast or alert")
    ctas = _versions(versions, "cta")
    if ctas and kind != "alert":
        fail(f"--cta-{next(iter(ctas))}: a call to action is for action alerts (--kind alert)")
    flow = settings().flow_settings()

    async def work(tx: Tx) -> broadcast_send.Preview:
        now = clock.now()
        filters, every = await parse_audience(tx, audience)
        due = parse_time(deadline, now, flow.timezone) if deadline else None
        b = await compose(tx, CLI, now, body=body, audience=filters, every=every or every_channel, kind=kind,
                          cta_text=cta, cta_link=link, deadline=due, normalise=not no_normalise,
                          bodies=_versions(versions, "body"), ctas=ctas, settings=flow)
        return await broadcast_send.preview(tx, b, now, flow)

    p = _in_tx(work)
    console.print(f"Draft #{p.broadcast.id} saved.")
    _show_preview(p)


@broadcast_app.command("preview")
def preview(broadcast_id: int = typer.Argument(...)) -> None:
    """Recipients per channel, a sample, SMS segments and cost, and the time to send."""
    async def work(tx: Tx) -> broadcast_send.Preview:
        return await broadcast_send.preview(tx, await _get(tx, broadcast_id), clock.now(), settings().flow_settings())

    _show_preview(_in_tx(work))


_YES_HELP = "Do not ask before sending (up to 1,000 recipients; above that give --confirm-count)."
_COUNT_HELP = "Above 1,000 recipients: the recipient count the preview shows, typed to confirm it."


def _confirmation(broadcast_id: int, yes: bool, count: str | None, question: str = "Send #{id} to {n} people?",
                  undone: str = "nothing was sent") -> str | None:
    """Ask before sending: above 1,000 recipients, the count must be typed. With no one at the
    terminal to answer, the command ends in one line naming --yes and --confirm-count."""
    async def work(tx: Tx) -> broadcast_send.Preview:
        return await broadcast_send.preview(tx, await _get(tx, broadcast_id), clock.now(), settings().flow_settings())

    p = _in_tx(work)
    try:
        if p.needs_count:
            if count is not None:
                return count
            typed: str = typer.prompt(f"This goes to {p.total:,} people. Type {p.total} to confirm")
            return typed
        if not yes and not typer.confirm(question.format(id=broadcast_id, n=f"{p.total:,}")):
            fail(f"not confirmed; {undone}")
    except typer.Abort:
        console.print()  # end the unanswered question's line
        needed = f"--confirm-count {p.total}" if p.needs_count else "--yes"
        fail(f"not confirmed; {undone} (no answer: give {needed} to confirm without being asked)")
    return count


def _urgent_alert(broadcast_id: int) -> None:
    """--urgent is for action alerts: a plain broadcast always waits for quiet hours to end."""
    b = _in_tx(lambda tx: _get(tx, broadcast_id))
    if b.kind != "alert":
        fail(f"--urgent is for action alerts; #{broadcast_id} is a broadcast (its SMS waits for quiet hours to end)")


def _confirm(broadcast_id: int, **options: Any) -> store.Broadcast:
    async def work(tx: Tx) -> store.Broadcast:
        b = await _get(tx, broadcast_id)
        return await broadcast_send.confirm(tx, b, CLI, clock.now(), settings().flow_settings(), **options)

    return _in_tx(work)


@broadcast_app.command("send")
def send(
    broadcast_id: int = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help=_YES_HELP),
    confirm_count: str | None = typer.Option(None, "--confirm-count", help=_COUNT_HELP),
    urgent: bool = typer.Option(False, "--urgent", help="Action alerts only: send SMS during quiet hours too."),
    follow: bool = typer.Option(False, "--follow", help="Show a progress bar until every message has gone."),
) -> None:
    """Send a draft now (asks first; --yes and --confirm-count answer for a script)."""
    if urgent:
        _urgent_alert(broadcast_id)
    typed = _confirmation(broadcast_id, yes, confirm_count)
    try:
        if urgent and not yes and not typer.confirm("Urgent: SMS goes out during quiet hours, waking people. Sure?"):
            fail("not confirmed; nothing was sent")
    except typer.Abort:
        console.print()
        fail("not confirmed; nothing was sent (no answer: give --yes to confirm without being asked)")
    b = _confirm(broadcast_id, typed=typed, urgent=urgent)
    console.print(f"{KIND_WORDS[b.kind].capitalize()} #{b.id} started: {plural('message', b.recipients + b.chats)} "
                  "queued.")
    if follow:
        _follow(b.id)


@broadcast_app.command("schedule")
def schedule(
    broadcast_id: int = typer.Argument(...),
    at: str = typer.Option(..., "--at", help="Local time, e.g. '2026-11-05 18:00' or 'tomorrow 18:00'."),
    repeat: str = typer.Option("none", "--repeat", help="none, daily or weekly"),
    yes: bool = typer.Option(False, "--yes", "-y", help=_YES_HELP),
    confirm_count: str | None = typer.Option(None, "--confirm-count", help=_COUNT_HELP),
) -> None:
    """Send a draft at a local time, once or repeating (asks first, as `send` does; --yes and
    --confirm-count answer for a script)."""
    flow = settings().flow_settings()
    try:
        when = parse_time(at, clock.now(), flow.timezone)
    except BroadcastError as exc:
        fail(shown(f"--at: {exc}"))
    if when is None:
        fail("--at: give a time; use `send` to send now")
    repeating = "" if repeat == "none" else f", repeating {repeat}"
    console.print(f"Scheduled time: {local(when, flow.timezone)}{repeating}")
    typed = _confirmation(broadcast_id, yes, confirm_count, f"Schedule #{{id}} to {{n}} people for "
                          f"{local(when, flow.timezone)}{repeating}?", "nothing was scheduled")
    b = _confirm(broadcast_id, when=when, repeat=repeat, typed=typed)
    assert b.send_at is not None  # confirm() always sets it
    console.print(f"Broadcast #{b.id} is {b.status} for {local(parse_ts(b.send_at), flow.timezone)}.")


@broadcast_app.command("cancel")
def cancel(broadcast_id: int = typer.Argument(...)) -> None:
    """Cancel a scheduled or sending broadcast; queued messages are dropped at once."""
    async def work(tx: Tx) -> int:
        return await broadcast_send.cancel(tx, await _get(tx, broadcast_id), CLI, clock.now())

    console.print(f"Broadcast #{broadcast_id} cancelled; {_in_tx(work):,} queued messages dropped.")


@broadcast_app.command("resend-unknown")
def resend_unknown(
    broadcast_id: int = typer.Argument(...),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before sending them again."),
) -> None:
    """Send again the messages a crash or a timeout left `unknown`: some may already have arrived."""
    async def count(tx: Tx) -> int:
        return (await store.delivery_counts(tx, (await _get(tx, broadcast_id)).id)).get("unknown", 0)

    doubtful = _in_tx(count)
    if not doubtful:
        fail(f"broadcast #{broadcast_id} has no messages in doubt")
    if not yes and not typer.confirm(f"{doubtful:,} messages may already have arrived; sending them again may "
                                     "reach those people twice. Send again?"):
        fail("not confirmed; nothing was sent")

    async def work(tx: Tx) -> int:
        b = await _get(tx, broadcast_id)
        return await broadcast_send.resend_unknown(tx, b, CLI, clock.now(), settings().flow_settings())

    queued = _in_tx(work)
    console.print(f"Broadcast #{broadcast_id}: {queued:,} of {doubtful:,} in doubt queued again"
                  + ("; the rest have opted out or become unreachable since." if queued < doubtful else "."))


@broadcast_app.command("list")
def list_broadcasts(limit: int = typer.Option(20, "--limit")) -> None:
    """The most recent broadcasts."""
    async def work(tx: Tx) -> list[store.Broadcast]:
        return await store.recent(tx, limit)

    table = Table("id", "kind", "status", "send at", "repeat", "recipients", "message")
    tz = settings().flow_settings().timezone
    for b in _in_tx(work):
        when = local(parse_ts(b.send_at), tz) if b.send_at else ""
        people = f"{b.recipients:,}" if b.started_at else "—"  # counted when it starts
        table.add_row(str(b.id), KIND_WORDS[b.kind], state(b), when, b.repeat, people, shown(headline(b, 50)))
    console.print(table)


@broadcast_app.command("followup")
@_with_bodies
def follow_up(
    broadcast_id: int = typer.Argument(...),
    body: str | None = typer.Option(None, "--body", help="New text (default: the alert's own)."),
    **versions: str | None,
) -> None:
    """Draft the same alert to everyone who has not answered it yet, and preview it (--body-cy: new
    Welsh text; a language not given keeps the alert's own)."""
    async def work(tx: Tx) -> broadcast_send.Preview:
        flow = settings().flow_settings()
        draft = await followup(tx, CLI, await _get(tx, broadcast_id), clock.now(), body, settings=flow,
                               bodies=_versions(versions, "body"))
        return await broadcast_send.preview(tx, draft, clock.now(), flow)

    p = _in_tx(work)
    console.print(f"Follow-up draft #{p.broadcast.id} saved; `muster broadcast send {p.broadcast.id}` sends it.")
    _show_preview(p)


@broadcast_app.command("report")
def report(
    broadcast_id: int = typer.Argument(...),
    follow: bool = typer.Option(False, "--follow", help="Show a progress bar until every message has gone."),
) -> None:
    """Recipients, sent, delivered, failed by error code, unknown, opt-outs, replies, alert completions."""
    if follow:
        _follow(broadcast_id)

    async def work(tx: Tx) -> broadcast_report.Report:
        return await broadcast_report.build(tx, await _get(tx, broadcast_id), clock.now())

    r = _in_tx(work)
    b = r.broadcast
    table = Table(title=f"Report for {b.kind} #{b.id} ({b.status})", show_header=False)
    table.add_column("", style="bold")
    table.add_column("", justify="right")
    rows = [("Recipients", r.recipients), ("Group chats", r.chats), ("Sent", r.count("sent")),
            ("Delivered", "—" if r.delivered is None else r.delivered), ("Unknown", r.count("unknown")),
            ("Waiting", r.pending), ("Cancelled", r.count("cancelled"))]
    rows += [(f"Failed ({code})", n) for code, n in r.failed.items()]
    rows += [("Opt-outs within 24 h", r.opt_outs), ("Replies", r.replies)]
    if b.kind == "alert":
        rows += [("Done", r.responses.get("done", 0)), ("Can't", r.responses.get("cant", 0))]
    for name, value in rows:
        table.add_row(name, f"{value:,}" if isinstance(value, int) else str(value))
    console.print(table)
    for failure in r.failures:  # what each error code means and what to do, as the web report says
        console.print(f"{failure.code} ({failure.means.short}): {failure.means.meaning} {failure.means.action}")
    if r.funnel and r.funnel.telegram:
        console.print(broadcast_report.NO_TELEGRAM_RECEIPTS)
    if r.count("unknown"):
        console.print(f"{r.count('unknown'):,} messages are in doubt (the service stopped or the provider did not "
                      f"answer mid-send): some may have arrived. `muster broadcast resend-unknown {b.id}` sends them "
                      "again to those still reachable.")
    if r.by_group:
        groups = Table("local group", "recipients", "done", "can't", "completion", title="Completion by group")
        for name, people, done, cant in r.by_group:
            groups.add_row(name, str(people), str(done), str(cant), f"{100 * done // people}%" if people else "—")
        console.print(groups)


def _follow(broadcast_id: int, poll: float = 1.0, stalled_after: float = 3.0) -> None:
    """A live progress bar from the outbox (the running service does the sending). When nothing
    has moved for a few seconds it says why it is waiting: quiet hours, or no service running."""
    cfg = settings()
    flow = cfg.flow_settings()

    async def running(tx: Tx) -> bool:
        if cfg.shared_database:  # PostgreSQL: workers beat in the database while they run
            return bool(await instances.alive(tx, clock.now() - timedelta(seconds=LEASE_SECONDS)))
        return holder(cfg.db_path) is not None  # SQLite: the one service holds the file's lock

    async def why(tx: Tx) -> str:
        held, until = await store.held_back(tx, broadcast_id, clock.now())
        if held and until:
            return f"{plural('sms_waits', held)} for quiet hours to end at {local(parse_ts(until), flow.timezone)}"
        if not await running(tx):
            return "waiting: no service is running to send them (start it with `muster run`)"
        return "waiting for the service to send them"

    async def go() -> None:
        db = await open_database(cfg.database)
        said = ""
        try:
            with Progress(TextColumn("#{task.fields[id]}"), BarColumn(), MofNCompleteColumn(),
                          TimeRemainingColumn(), TextColumn("{task.description}"), console=console) as bar:
                task = bar.add_task("", total=None, id=broadcast_id)
                done, moved, note = -1, time.monotonic(), ""
                while True:
                    async with db.transaction() as tx:
                        counts = await store.delivery_counts(tx, broadcast_id)
                        total = sum(counts.values())
                        pending = counts.get("queued", 0) + counts.get("sending", 0)
                        if total - pending != done:
                            done, moved, note = total - pending, time.monotonic(), ""
                        elif time.monotonic() - moved >= stalled_after:
                            note = await why(tx)
                    bar.update(task, total=total, completed=total - pending, description=note)
                    if not console.is_terminal and note and note != said:
                        print(f"#{broadcast_id}: {total - pending:,} of {total:,} done; {note}", flush=True)
                        said = note  # no live bar without a terminal: say each new reason once
                    if pending == 0:
                        return
                    await asyncio.sleep(poll)
        finally:
            await db.close()

    run_async(go)
