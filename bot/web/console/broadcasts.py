"""The console's broadcasts pages: the list, composing with an audience builder and a live preview,
and a broadcast's page (send now, schedule, discard, cancel, follow up an action alert).

Everything is decided by the organiser operations the CLI and the chat console call too:
flows.organiser.broadcasts reads and checks the draft (`draft` for the preview while typing,
`compose` to save it), flows.organiser.sending previews, confirms and cancels. This module turns
a form into those calls and their answers into pages. With MUSTER_LANGUAGES beyond English the
form has a message (and an alert's call to action) for each other language, `body_<code>` and
`cta_text_<code>`; one left empty leaves those supporters the English. A broadcast beyond the organiser's groups
is a 403, one that does not exist a 404; a form that makes no sense is a 400 that keeps what was
typed and says what to change.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import current, gettext
from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, plural, t
from flows.organiser import broadcasts as compose_ops
from flows.organiser import events as event_ops
from flows.organiser import groups as group_ops
from flows.organiser import people, sending
from flows.organiser.access import Actor
from flows.organiser.broadcasts import (
    KIND_WORDS,
    REPEATS,
    SHOWN,
    kind_word,
    language_name,
    local,
    parse_time,
    state,
    state_word,
)
from flows.organiser.errors import BroadcastError, ScopeError
from flows.organiser.signin import SignedIn
from flows.values.templates import PLACEHOLDERS
from storage.broadcasts import ALERT_FILTERS, RSVP_FILTERS, Audience, Broadcast
from storage.db import Tx, parse_ts

PAGE = 25
MAX_BODY = 5000
SHOWN_NAMES = {"all": "All", "draft": "Drafts", "scheduled": "Scheduled", "sending": "Sending", "sent": "Sent",
               "cancelled": "Cancelled"}
OTHER_LANGUAGES = tuple(code for code in LANGUAGE_NAMES if code != DEFAULT_LANGUAGE)  # a form may carry
CHANNEL_MODES = ("", "sms", "telegram")


def rsvp_names() -> dict[str, str]:
    return dict(zip(RSVP_FILTERS, (gettext("going"), gettext("maybe"), gettext("can't go"), gettext("waitlist"),
                                   gettext("came (checked in)")), strict=True))


def answer_names() -> dict[str, str]:
    return dict(zip(ALERT_FILTERS, (gettext("done"), gettext("can't"), gettext("not answered yet")), strict=True))


def channel_names() -> dict[str, str]:
    return dict(zip(CHANNEL_MODES, (gettext("Any channel"), gettext("SMS only"), gettext("Telegram only")),
                    strict=True))


def repeat_names() -> dict[str, str]:
    """How often a scheduled broadcast goes, in the reader's language."""
    return {"none": gettext("once"), "daily": gettext("every day"), "weekly": gettext("every week")}


def _is_id(text: str) -> bool:
    """Digits that can name a row (a longer number names none, and SQLite could not hold it)."""
    return text.isdigit() and len(text) < 12


@dataclass(frozen=True)
class Typed:
    """The compose form as the organiser left it: kept as typed, so a 400 shows it again."""
    kind: str = "broadcast"
    body: str = ""
    cta_text: str = ""
    cta_link: str = ""
    deadline_date: str = ""
    deadline_time: str = ""
    groups: tuple[str, ...] = ()
    interests: tuple[str, ...] = ()
    channel: str = ""
    every: str = "last"
    event_id: str = ""
    rsvp: tuple[str, ...] = ()
    alert_id: str = ""
    response: str = "not_yet"
    chats: bool = False
    keep_typography: bool = False
    bodies: tuple[tuple[str, str], ...] = ()  # (language, its message) beyond the default, as typed
    ctas: tuple[tuple[str, str], ...] = ()    # (language, its call to action)

    def body_in(self, lang: str) -> str:
        return dict(self.bodies).get(lang, "")

    def cta_in(self, lang: str) -> str:
        return dict(self.ctas).get(lang, "")

    @classmethod
    def read(cls, form: FormData | QueryParams) -> Typed:
        def one(name: str, limit: int = 200) -> str:
            value = form.get(name, "")
            return value[:limit] if isinstance(value, str) else ""

        def many(name: str) -> tuple[str, ...]:
            return tuple(str(v)[:100] for v in form.getlist(name) if isinstance(v, str))[:200]

        return cls(kind="alert" if one("kind") == "alert" else "broadcast", body=one("body", MAX_BODY),
                   cta_text=one("cta_text", 500), cta_link=one("cta_link", 500), deadline_date=one("deadline_date", 40),
                   deadline_time=one("deadline_time", 40), groups=many("groups"), interests=many("interests"),
                   channel=one("channel"), every=one("every") or "last", event_id=one("event_id"),
                   rsvp=many("rsvp"), alert_id=one("alert_id"), response=one("response") or "not_yet",
                   chats=bool(form.get("chats")), keep_typography=bool(form.get("keep_typography")),
                   bodies=tuple((code, one(f"body_{code}", MAX_BODY)) for code in OTHER_LANGUAGES
                                if one(f"body_{code}").strip()),
                   ctas=tuple((code, one(f"cta_text_{code}", 500)) for code in OTHER_LANGUAGES
                              if one(f"cta_text_{code}").strip()))

    def audience(self, interests: tuple[str, ...]) -> Audience:
        """The audience these controls describe (BroadcastError: a value no control offers)."""
        if not all(_is_id(g) for g in self.groups):
            raise BroadcastError("Choose the local groups from the list.")
        unknown = set(self.interests) - set(interests)
        if unknown:
            raise BroadcastError(f"{sorted(unknown)[0]!r} is not one of the interests supporters can choose.")
        if self.channel not in CHANNEL_MODES:
            raise BroadcastError("Choose any channel, SMS only or Telegram only.")
        found: dict[str, Any] = {"groups": tuple(dict.fromkeys(int(g) for g in self.groups)),
                                 "interests": tuple(dict.fromkeys(self.interests)), "channel": self.channel or None,
                                 "chats": self.chats}
        if self.event_id:
            if not _is_id(self.event_id) or set(self.rsvp) - set(RSVP_FILTERS):
                raise BroadcastError("Choose the event, and the RSVPs, from the lists.")
            found.update(event_id=int(self.event_id), rsvp=tuple(s for s in RSVP_FILTERS if s in self.rsvp))
        if self.alert_id:
            if not _is_id(self.alert_id) or self.response not in ALERT_FILTERS:
                raise BroadcastError("Choose the action alert, and the answer, from the lists.")
            found.update(alert_id=int(self.alert_id), response=self.response)
        return Audience(**found)

    def deadline(self, now: datetime, tz: str) -> datetime | None:
        """The alert's deadline in the movement's time zone (a date alone means the end of that day)."""
        if self.kind != "alert" or not (self.deadline_date.strip() or self.deadline_time.strip()):
            return None
        text = f"{self.deadline_date.strip()} {self.deadline_time.strip() or '23:59'}".strip()
        try:
            return parse_time(text, now, tz)
        except BroadcastError as exc:
            raise BroadcastError("broadcasts.error_deadline", problem=exc) from None

    def draft(self, actor: Actor, now: datetime, flow: FlowSettings) -> Broadcast:
        alert = self.kind == "alert"
        return compose_ops.draft(actor, now, body=self.body, audience=self.audience(flow.interests),
                                 every=self.every == "every", kind=self.kind,
                                 cta_text=self.cta_text if alert else None, cta_link=self.cta_link if alert else None,
                                 deadline=self.deadline(now, flow.timezone), normalise=not self.keep_typography,
                                 bodies=dict(self.bodies), ctas=dict(self.ctas) if alert else None, settings=flow)


@dataclass(frozen=True)
class Shown:
    """A preview as the pages show it, or why there is none yet (`problem`, or a `hint` before
    there is anything to preview)."""
    p: sending.Preview | None = None
    problem: str | None = None
    hint: str | None = None
    status: int = 200

    @property
    def counts(self) -> str:
        assert self.p is not None
        c = self.p.counts
        lang = current.get()
        return t("broadcasts.preview_counts", lang, sms=f"{c['sms']:,}", telegram=f"{c['telegram']:,}",
                 chats=plural("chat", c["chats"], lang), total=plural("message", self.p.total, lang))

    @property
    def figures(self) -> str:
        assert self.p is not None
        return sending.sms_figures(self.p, current.get())


status_of = state  # a broadcast's state in the words every front uses


def routes(console: Console) -> list[BaseRoute]:
    settings = console.settings
    tz = settings.timezone
    interests = settings.flow_settings().interests

    def when(stamp: str | None) -> str:
        return local(parse_ts(stamp), tz, current.get()) if stamp else "–"

    def words() -> dict[str, Any]:
        flow = settings.flow_settings()

        def per_language(p: sending.Preview) -> list[tuple[sending.Figures, str]]:
            """Each version's line (when the broadcast has more than one): who gets it, its SMS cost."""
            if not p.broadcast.versions:
                return []
            return [(f, sending.language_figures(f, p, flow, current.get())) for f in p.languages]

        def ucs2_notes(p: sending.Preview) -> list[tuple[str, str]]:
            reader = current.get()
            return [(lang, sending.ucs2_note(lang, chars, reader))
                    for lang, chars in sending.outside_gsm7(p.broadcast).items()]

        return {"other_languages": [code for code in flow.languages if code != DEFAULT_LANGUAGE],
                "language_name": language_name, "per_language": per_language, "ucs2_notes": ucs2_notes,
                "version_name": lambda version, p: sending.version_name(version, flow, p.broadcast, current.get()),
                "kind_words": {kind: kind_word(kind, current.get()) for kind in KIND_WORDS},
                "status_of": status_of, "when": when, "plural": lambda word, n: plural(word, n, current.get()),
                "rsvp_names": rsvp_names(), "answer_names": answer_names(), "channel_names": channel_names(),
                "state_word": lambda state: state_word(state, current.get()),
                "repeat_names": repeat_names(), "interest_label": lambda key: people.interest_label(key, current.get()),
                "placeholders": PLACEHOLDERS, "local": lambda moment: local(moment, tz),
                "confirm_by_count": compose_ops.CONFIRM_BY_COUNT, "quiet_hours": settings.sms_quiet_hours,
                "local_zone": tz}

    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        return console.refused(request, who, status, message, heading="Broadcasts", back="/console/broadcasts",
                               back_to="the broadcasts")

    async def names(tx: Tx, actor: Actor) -> dict[int, str]:
        return dict(await people.group_choices(tx, actor))

    # -- the list --------------------------------------------------------------------------------
    async def listing(request: Request, who: SignedIn) -> Response:
        shown = request.query_params.get("show", "all")
        shown = shown if shown in SHOWN else "all"
        raw = request.query_params.get("before", "")
        before = int(raw) if raw.isdigit() and len(raw) < 12 else None
        try:
            async with console.transaction() as tx:
                found = await compose_ops.listing(tx, who.actor, shown=shown, before=before, limit=PAGE + 1)
                tally = await compose_ops.tally(tx, who.actor)
                group_names = await names(tx, who.actor)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        more = found[PAGE - 1].id if len(found) > PAGE else None
        return console.render(request, "broadcasts/list.html", who=who, found=found[:PAGE], tally=tally,
                              shown=shown, shown_names=SHOWN_NAMES, before=before, more=more,
                              group_names=group_names, **words())

    # -- composing -------------------------------------------------------------------------------
    async def builder(tx: Tx, actor: Actor) -> dict[str, Any]:
        """What the audience builder offers: the organiser's groups (with their linked chats),
        the interests, events they may see, and action alerts they have sent."""
        now = console.now()
        events = [*await event_ops.in_scope(tx, actor, now, "upcoming", 50),
                  *await event_ops.in_scope(tx, actor, now, "past", 20)]
        alerts = await compose_ops.listing(tx, actor, shown="all", kind="alert", limit=100)
        views = await group_ops.in_scope(tx, actor)
        return {"group_views": views, "interests": interests,
                "linked_chats": [(c.title, v.group.name) for v in views for c in v.chats],
                "events": [e for e in events if e.event.status == "confirmed"],
                "alerts": [a for a in alerts if a.status in ("sending", "sent")],
                "national": actor.scope() is None}

    async def previewed(tx: Tx, actor: Actor, typed: Typed) -> Shown:
        if not typed.body.strip():
            return Shown(hint=gettext("Write the message to see who it reaches, what it costs and how it reads."))
        now = console.now()
        flow = settings.flow_settings()
        try:
            b = typed.draft(actor, now, flow)
            await compose_ops.check_reach(tx, actor, b.filters)
            return Shown(await sending.preview(tx, b, now, flow))
        except ScopeError as exc:
            return Shown(problem=why(exc), status=403)
        except BroadcastError as exc:  # an unfinished draft: the preview says what is missing (saving is a 400)
            return Shown(problem=why(exc))

    async def compose_page(request: Request, who: SignedIn, typed: Typed, status: int = 200,
                           shown: Shown | None = None, error: str | None = None) -> Response:
        async with console.transaction() as tx:
            try:
                offered = await builder(tx, who.actor)
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            if shown is None:
                shown = await previewed(tx, who.actor, typed)
        return console.render(request, "broadcasts/compose.html", status, who=who, typed=typed, shown=shown,
                              error=error, **offered, **words())

    async def new(request: Request, who: SignedIn) -> Response:
        """A blank form, or one started from a link (an event page's "alert the people who came")."""
        return await compose_page(request, who, Typed.read(request.query_params))

    async def save(request: Request, who: SignedIn) -> Response:
        form = await request.form()
        typed = Typed.read(form)
        if form.get("action") == "preview":
            async with console.transaction() as tx:
                shown = await previewed(tx, who.actor, typed)
            return await compose_page(request, who, typed, shown.status, shown)
        now = console.now()
        flow = settings.flow_settings()
        try:
            async with console.transaction() as tx:
                b = typed.draft(who.actor, now, flow)
                saved = await compose_ops.compose(
                    tx, who.actor, now, body=b.body, audience=b.filters, every=b.channel_mode == "every",
                    kind=b.kind, cta_text=b.cta_text, cta_link=b.cta_link,
                    deadline=parse_ts(b.deadline) if b.deadline else None, normalise=bool(b.normalise),
                    bodies={lang: v["body"] for lang, v in b.versions.items()},
                    ctas={lang: v["cta_text"] for lang, v in b.versions.items() if v.get("cta_text")},
                    settings=flow)
        except ScopeError as exc:
            return await compose_page(request, who, typed, 403, Shown(problem=why(exc), status=403))
        except BroadcastError as exc:
            return await compose_page(request, who, typed, 400, Shown(problem=why(exc)),
                                      error=gettext("Not saved: %(why)s", why=why(exc)))
        return back(f"/console/broadcasts/{saved.id}",
                    gettext("Draft #%(id)s saved. Nothing is sent until you send or schedule it.", id=saved.id))

    async def fragment(request: Request, who: SignedIn) -> Response:
        typed = Typed.read(await request.form())
        async with console.transaction() as tx:
            shown = await previewed(tx, who.actor, typed)
        return console.render(request, "broadcasts/_preview.html", shown.status, who=who, shown=shown, **words())

    # -- one broadcast ---------------------------------------------------------------------------
    def wanted(request: Request) -> int:
        """The broadcast id in the path (LookupError for a number no row can have)."""
        broadcast_id: int = request.path_params["broadcast_id"]
        if broadcast_id >= 2**63:
            raise LookupError(broadcast_id)
        return broadcast_id

    async def page(request: Request, who: SignedIn, status: int = 200, error: str | None = None,
                   asked: dict[str, str] | None = None) -> Response:
        async with console.transaction() as tx:
            try:
                b = await compose_ops.one(tx, who.actor, wanted(request))
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, "There is no such broadcast.")
            shown = None
            if b.status in ("draft", "scheduled"):
                shown = Shown(await sending.preview(tx, b, console.now(), settings.flow_settings()))
            group_names = await names(tx, who.actor)
            event = None
            if b.filters.event_id is not None:
                try:
                    event = (await event_ops.one(tx, who.actor, b.filters.event_id)).event
                except (LookupError, ScopeError):
                    event = None
        return console.render(request, "broadcasts/broadcast.html", status, who=who, b=b, shown=shown, error=error,
                              asked=asked or {}, group_names=group_names, event=event, repeats=REPEATS,
                              **words())

    async def show(request: Request, who: SignedIn) -> Response:
        return await page(request, who)

    def action(act: str) -> Route:
        async def handler(request: Request, who: SignedIn) -> Response:
            form = await request.form()
            asked = {k: v[:100] for k, v in form.items() if isinstance(v, str) and k != "csrftoken"}
            now = console.now()
            try:
                async with console.transaction() as tx:
                    b = await compose_ops.one(tx, who.actor, wanted(request))
                    done = await act_on(tx, who.actor, b, act, asked, now)
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, "There is no such broadcast.")
            except BroadcastError as exc:
                return await page(request, who, 400, why(exc), asked)
            url, said, woke = done
            if woke:
                console.wake()
            return back(url, said)

        return Route(f"/broadcasts/{{broadcast_id:int}}/{act}", signed_in(console, handler), methods=["POST"])

    async def act_on(tx: Tx, actor: Actor, b: Broadcast, act: str, asked: dict[str, str],
                     now: datetime) -> tuple[str, str, bool]:
        """Do one action; (where to go next, what to say there, whether something was queued)."""
        lang = current.get()
        kind = kind_word(b.kind, lang).capitalize()
        here = f"/console/broadcasts/{b.id}"
        flow = settings.flow_settings()
        urgent = asked.get("urgent") == "yes"
        if act == "send":
            started = await sending.confirm(tx, b, actor, now, flow, typed=asked.get("typed"), urgent=urgent)
            total = started.recipients + started.chats
            return here, gettext("%(kind)s #%(id)s is on its way: %(messages)s queued.", kind=kind, id=b.id,
                                 messages=plural("message", total, lang)), True
        if act == "schedule":
            moment = when_asked(asked, now)
            repeat = asked.get("repeat", "none")
            done = await sending.confirm(tx, b, actor, now, flow, when=moment, repeat=repeat,
                                         typed=asked.get("typed"), urgent=urgent)
            if repeat == "none":
                return here, gettext("%(kind)s #%(id)s is scheduled for %(when)s.", kind=kind, id=b.id,
                                     when=when(done.send_at)), False
            return here, gettext("%(kind)s #%(id)s is scheduled for %(when)s, then %(repeat)s at that time.", kind=kind,
                                 id=b.id, when=when(done.send_at), repeat=repeat_names().get(repeat, repeat)), False
        if act == "cancel":
            dropped = await sending.cancel(tx, b, actor, now)
            return here, gettext("%(kind)s #%(id)s is cancelled; %(messages)s not yet sent dropped.", kind=kind,
                                 id=b.id, messages=plural("message", dropped, lang)), False
        if act == "discard":
            await sending.discard(tx, b, actor, now)
            return "/console/broadcasts", gettext("Draft #%(id)s discarded.", id=b.id), False
        assert act == "followup"
        draft = await compose_ops.followup(tx, actor, b, now, settings=flow)
        return (f"/console/broadcasts/{draft.id}",
                gettext("Draft #%(id)s: action alert #%(alert)s again, to those who have not answered it yet.",
                        id=draft.id, alert=b.id), False)

    def when_asked(asked: dict[str, str], now: datetime) -> datetime:
        day, time = asked.get("date", "").strip(), asked.get("time", "").strip()
        if not day or not time:
            raise BroadcastError("Give the date and the time to send it.")
        moment = parse_time(f"{day} {time}", now, tz)
        if moment is None:
            raise BroadcastError("Give the date and the time to send it.")
        return moment

    return [
        Route("/broadcasts", signed_in(console, listing), methods=["GET"]),
        Route("/broadcasts/new", signed_in(console, new), methods=["GET"]),
        Route("/broadcasts/new", signed_in(console, save), methods=["POST"]),
        Route("/broadcasts/preview", signed_in(console, fragment), methods=["POST"]),
        Route("/broadcasts/{broadcast_id:int}", signed_in(console, show), methods=["GET"]),
        *(action(act) for act in ("send", "schedule", "cancel", "discard", "followup")),
    ]

