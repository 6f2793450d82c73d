"""Composing broadcasts and action alerts: the draft, its audience, its text and its time.

What the organiser typed is read here (audience filters, times, placeholders) and saved as a
draft; sending it is flows.organiser.sending's job. Every front (the CLI, the chat console)
calls these inside one transaction; who may reach whom is flows.organiser.access's rule.
"""
from __future__ import annotations

import difflib
import json
import logging
import shlex
import textwrap
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, available, has, t
from flows.organiser import audit
from flows.organiser.access import Actor, check_access, scoped
from flows.organiser.errors import BodyError, BroadcastError, ScopeError
from flows.organiser.events import check_view
from flows.values import dates, segments
from flows.values.templates import Template, TemplateError, compile_template
from storage import broadcasts as store
from storage import events as events_store
from storage import groups
from storage import suppression as suppression_list
from storage.broadcasts import Audience, Broadcast
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)

CONFIRM_BY_COUNT = 1000  # above this many messages, the organiser types the count to confirm
REPEATS = ("none", "daily", "weekly")
CHANNELS = ("sms", "telegram")
KIND_WORDS = {"broadcast": "broadcast", "alert": "action alert"}  # how each kind is named to organisers (English)


def kind_word(kind: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """'broadcast', 'action alert' ('darllediad', 'rhybudd gweithredu'): a kind as organisers read it."""
    return t(f"broadcasts.kind_{kind}", lang) if has(f"broadcasts.kind_{kind}") else KIND_WORDS.get(kind, kind)


def state_word(status: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A broadcast's status ('sent', 'discarded', …) in the organiser's language."""
    return t(f"broadcasts.state_{status}", lang) if has(f"broadcasts.state_{status}") else status


def _or(names: list[str]) -> Any:
    """'A' or 'B', in the reader's language."""
    return lambda lang: f" {t('broadcasts.or', lang)} ".join(names)


def state(b: Broadcast) -> str:
    """A broadcast's state in the words every front uses: a draft thrown away is "discarded"
    (stored as cancelled, never started or stopped), not "cancelled"."""
    if b.status == "cancelled" and not b.started_at and not b.finished_at:
        return "discarded"
    return b.status


def headline(b: Broadcast, width: int = 40) -> str:
    """The start of its text on one line, cut at a word with an ellipsis."""
    return textwrap.shorten(" ".join(b.body.split()), width, placeholder="…")


# -- reading what the organiser asked for --------------------------------------------------
AUDIENCE_HELP = (
    "all | group:NAME[,NAME] | interest:WORD[,WORD] | channel:sms|telegram | "
    "event:ID[:going,maybe,…] | alert:ID[:done|cant|not_yet] | chats | every"
)


_KEYS = ("group", "interest", "channel", "event", "rsvp", "alert")
_BARE = ("all", "everyone", "every", "every-channel", "chats")


def _tokens(text: str) -> list[str]:
    """'group:Manchester Central (demo),Leeds interest:housing chats' → one token per filter: a word
    that starts no filter of its own carries on the group names before it, so a name with spaces
    needs no quotes (quotes still work)."""
    try:
        words = shlex.split(text)
    except ValueError:  # an apostrophe in a name (King's Lynn) is not a quote
        words = text.split()
    tokens: list[str] = []
    for word in words:
        key, colon, _ = word.partition(":")
        starts = (colon and key.lower() in _KEYS) or word.lower() in _BARE
        if not starts and tokens and tokens[-1].lower().startswith("group:"):
            tokens[-1] += " " + word
        else:
            tokens.append(word)
    return tokens


async def find_group(tx: Tx, name: str) -> int:
    """A local group's id by its name (any case, spaces and all) or number; BroadcastError naming
    the closest names when there is no such group."""
    group = await groups.by_name(tx, name)
    if group is None and name.isdigit():
        group = await groups.get(tx, int(name))
    if group is not None:
        return group.id
    names = [g.name for g in await groups.list_all(tx)]
    folded = {n.casefold(): n for n in names}
    close = [n for n in names if name.casefold() in n.casefold()]
    close += [folded[n] for n in difflib.get_close_matches(name.casefold(), folded, n=3, cutoff=0.6)]
    close = list(dict.fromkeys(close))[:3]
    if close:
        raise BroadcastError("broadcasts.error_no_group_close", name=repr(name), names=_or([repr(n) for n in close]))
    raise BroadcastError("broadcasts.error_no_group", name=repr(name))


async def parse_audience(tx: Tx, text: str) -> tuple[Audience, bool]:
    """'group:Manchester Central (demo) interest:housing chats' → (Audience, every_channel)."""
    found: dict[str, Any] = {}
    every = False
    for token in _tokens(text or "all"):
        key, _, value = token.partition(":")
        key = key.lower()
        values = [v.strip() for v in value.split(",") if v.strip()]
        if key in ("all", "everyone") and not value:
            continue
        if key in ("every", "every-channel") and not value:
            every = True
        elif key == "chats" and not value:
            found["chats"] = True
        elif key == "group" and values:
            ids = list(found.get("groups", ()))
            for name in values:
                ids.append(await find_group(tx, name))
            found["groups"] = tuple(dict.fromkeys(ids))
        elif key == "interest" and values:
            found["interests"] = tuple(v.lower() for v in values)
        elif key == "channel" and value.lower() in CHANNELS:
            found["channel"] = value.lower()
        elif key in ("event", "rsvp") and value:
            event, _, statuses = value.partition(":")
            wanted = tuple(s.strip().lower() for s in statuses.split(",") if s.strip())
            if not event.isdigit() or set(wanted) - set(store.RSVP_FILTERS):
                raise BroadcastError("broadcasts.error_event_filter")
            found["event_id"], found["rsvp"] = int(event), wanted
        elif key == "alert" and value:
            alert, _, response = value.partition(":")
            response = (response or "not_yet").lower().replace("'", "")
            if not alert.isdigit() or response not in store.ALERT_FILTERS:
                raise BroadcastError("broadcasts.error_alert_filter")
            found["alert_id"], found["response"] = int(alert), response
        else:
            raise BroadcastError("broadcasts.error_audience", token=repr(token), help=AUDIENCE_HELP)
    return Audience(**found), every


def parse_time(text: str, now: datetime, tz: str) -> datetime | None:
    """'now' → None; otherwise the next such local time: '2026-11-05 18:00', 'tomorrow 18:30',
    'Mon 09:00' (next Monday once this one has passed), '18:00' (today, or tomorrow once passed)."""
    text = (text or "").strip()
    if text.lower() in ("", "now"):
        return None
    try:
        return dates.parse(text, now, tz)
    except dates.DateError as exc:
        words = set(text.lower().replace(",", " ").split())
        if exc.reason == "past" and exc.when is not None and words & set(dates.WEEKDAYS):
            return exc.when + timedelta(days=7)
        if exc.reason == "past":
            raise BroadcastError("broadcasts.error_time_past") from None
    try:
        return dates.parse(f"today {text}", now, tz)
    except dates.DateError as exc:
        if exc.reason == "past" and exc.when is not None:
            return exc.when + timedelta(days=1)
    raise BroadcastError("broadcasts.error_time_unreadable")


def local(moment: datetime, tz: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Thu 5 Nov 2026 18:00 GMT' ('Iau 5 Tach 2026 18:00 GMT' in Welsh): how a time is echoed
    back to the organiser and shown in a message."""
    value = moment.astimezone(ZoneInfo(tz))
    if lang != DEFAULT_LANGUAGE:
        return f"{format_datetime(value, 'EEE d MMM y HH:mm', locale=lang)} {value:%Z}"
    return f"{value:%a} {value.day} {value:%b %Y %H:%M %Z}"


def language_name(lang: str, reader: str = DEFAULT_LANGUAGE) -> str:
    """'Welsh (Cymraeg)': a language as organisers see it named; to a reader of another language,
    its own name ('Cymraeg', 'English')."""
    if reader != DEFAULT_LANGUAGE:
        return LANGUAGE_NAMES.get(lang, lang)
    english = {"en": "English", "cy": "Welsh"}.get(lang, lang)
    own = LANGUAGE_NAMES.get(lang, lang)
    return english if own == english else f"{english} ({own})"


def _named(lang: str) -> Any:
    """A language's name as a refusal's value: named in the reader's language."""
    return lambda reader: language_name(lang, reader)


def _offered(others: list[str]) -> Any:
    """The other languages a deployment offers, as a refusal's value ('English only' when none)."""
    return lambda reader: ", ".join(language_name(c, reader) for c in others) or t("broadcasts.english_only", reader)


# -- composing ------------------------------------------------------------------------------
def _versions(kind: str, bodies: Mapping[str, str] | None, ctas: Mapping[str, str] | None,
              settings: FlowSettings) -> dict[str, dict[str, str]]:
    """The versions in other languages, checked: each in a configured language, its template valid;
    a blank one is left out (those supporters get the default's)."""
    found: dict[str, dict[str, str]] = {}
    bodies, ctas = bodies or {}, (ctas or {}) if kind == "alert" else {}
    for lang in dict.fromkeys([*bodies, *ctas]):
        text, cta = (bodies.get(lang) or "").strip(), (ctas.get(lang) or "").strip()
        if not (text or cta):
            continue
        if lang == DEFAULT_LANGUAGE or lang not in settings.languages:
            raise BroadcastError("broadcasts.error_no_version", language=_named(lang),
                                 offered=_offered([c for c in settings.languages if c != DEFAULT_LANGUAGE]))
        if not text:
            raise BodyError("broadcasts.error_cta_without_body", language=_named(lang))
        try:
            compile_template(text)
        except TemplateError as exc:
            raise BodyError("broadcasts.error_version", language=_named(lang), problem=str(exc)) from None
        found[lang] = {"body": text, **({"cta_text": cta} if cta else {})}
    return found


def draft(
    actor: Actor, now: datetime, *, body: str, audience: Audience, every: bool = False,
    kind: str = "broadcast", cta_text: str | None = None, cta_link: str | None = None,
    deadline: datetime | None = None, normalise: bool = True, bodies: Mapping[str, str] | None = None,
    ctas: Mapping[str, str] | None = None, settings: FlowSettings | None = None,
) -> Broadcast:
    """The broadcast as typed so far, checked and scoped but not saved (id 0): what a live preview
    shows before anything is kept. `bodies` and `ctas` are its versions in other languages of
    `settings.languages` (by code). BroadcastError (BodyError for the text) says what to change."""
    if not actor.is_organiser:
        raise ScopeError("broadcasts.error_not_organiser_send")
    if kind not in KIND_WORDS:
        raise BroadcastError("broadcasts.error_kind")
    body = (body or "").strip()
    if not body:
        raise BodyError("broadcasts.error_empty")
    try:
        compile_template(body)
    except TemplateError as exc:
        raise BodyError(str(exc)) from None
    cta_text = (cta_text or "").strip() or None
    if kind == "alert" and not cta_text:
        raise BroadcastError("broadcasts.error_no_cta")
    cta_link = (cta_link or "").strip() or None
    if cta_link and not cta_link.startswith(("https://", "http://")):
        raise BroadcastError("broadcasts.error_link")
    if deadline is not None and deadline <= now:
        raise BroadcastError("broadcasts.error_deadline_past")
    audience = scoped(actor, audience)
    settings = settings or FlowSettings()
    versions = _versions(kind, bodies, ctas, settings)
    b = Broadcast(0, kind, body, audience.to_json(), "every" if every else "last", "draft", None, "none", None, 0,
                  int(normalise), cta_text, cta_link, ts(deadline) if deadline else None, actor.label,
                  actor.notify_channel, actor.notify_address, json.dumps(list(audience.groups)), 0, 0, 0, ts(now),
                  None, None, store.translations_json(versions))
    for lang in (DEFAULT_LANGUAGE, *versions):
        try:
            segments.check_body(message(b, "sms", settings, lang).render())
        except ValueError as exc:
            if versions:
                raise BodyError("broadcasts.error_version", language=_named(lang), problem=str(exc)) from None
            raise BodyError(str(exc)) from None
    if len(languages_of(b, settings)) > 1 and settings.unknown_language == "all":
        try:
            segments.check_body(together(b, "sms", settings).render())
        except ValueError as exc:
            raise BodyError("broadcasts.error_together_too_long", problem=str(exc)) from None
    return b


async def compose(
    tx: Tx, actor: Actor, now: datetime, *, body: str, audience: Audience, every: bool = False,
    kind: str = "broadcast", cta_text: str | None = None, cta_link: str | None = None,
    deadline: datetime | None = None, normalise: bool = True, bodies: Mapping[str, str] | None = None,
    ctas: Mapping[str, str] | None = None, settings: FlowSettings | None = None,
) -> Broadcast:
    """Check and save a draft; nothing is sent until it is confirmed."""
    b = draft(actor, now, body=body, audience=audience, every=every, kind=kind, cta_text=cta_text,
              cta_link=cta_link, deadline=deadline, normalise=normalise, bodies=bodies, ctas=ctas,
              settings=settings)
    await check_reach(tx, actor, b.filters)
    saved = await store.create(tx, now, **{k: v for k, v in b.__dict__.items()
                                           if k in store.EDITABLE and v is not None and k != "created_at"})
    groups_ = b.filters.groups
    reach = f"groups {','.join(map(str, groups_))}" if groups_ else "everyone"
    languages = f" in {', '.join([DEFAULT_LANGUAGE, *saved.versions])}" if saved.versions else ""
    audit.note(tx, actor, now, "broadcast.compose", target=f"broadcast:{saved.id}",
               detail=f"{kind} draft to {reach}{languages}")
    return saved


# -- the text each recipient gets ----------------------------------------------------------------
BOTH = "*"  # the version key of a message carrying every version (a recipient whose language is unknown)


def languages_of(b: Broadcast, settings: FlowSettings) -> list[str]:
    """The languages this broadcast has a version in and the deployment offers, in its order."""
    versions = b.versions
    return [lang for lang in settings.languages if lang == DEFAULT_LANGUAGE or lang in versions]


def version_for(b: Broadcast, settings: FlowSettings, language: str | None) -> str:
    """Which version a recipient whose language is `language` gets: that language's, the default's,
    or BOTH (their language unknown, and MUSTER_UNKNOWN_LANGUAGE=all)."""
    offered = languages_of(b, settings)
    if language in offered:
        return language
    if language in available() or settings.unknown_language != "all" or len(offered) < 2:
        return DEFAULT_LANGUAGE
    return BOTH


def _content(b: Broadcast, settings: FlowSettings, lang: str) -> Template:
    """One language's body and the alert's call to action, deadline and reply line."""
    version = b.versions.get(lang, {}) if lang != DEFAULT_LANGUAGE else {}
    body = version.get("body") or b.body
    cta = version.get("cta_text") or b.cta_text
    if b.normalise:
        body = segments.normalise(body)[0]
        cta = segments.normalise(cta)[0] if cta else cta
    template = compile_template(body)
    if lang != DEFAULT_LANGUAGE:  # "friend" in the recipient's language too
        template = Template(template.source, tuple(
            (kind, value, t(f"broadcasts.placeholder_{value}", lang)) if kind == "field" else (kind, value, fallback)
            for kind, value, fallback in template.parts))
    if b.kind == "alert":
        extra = "\n\n" + t("broadcasts.alert_cta", lang, cta=cta) + (f" {b.cta_link}" if b.cta_link else "")
        if b.deadline:
            when = local(parse_ts(b.deadline), settings.timezone, lang)
            extra += "\n" + t("broadcasts.alert_deadline", lang, deadline=when)
        extra += "\n" + t("broadcasts.alert_reply", lang)
        template = template.then(extra)
    return template


def message(b: Broadcast, channel: str, settings: FlowSettings, lang: str = DEFAULT_LANGUAGE) -> Template:
    """The template a recipient on `channel` gets in `lang` (BOTH: every version, one after the
    other): body, the alert's call to action, SMS stop line. A language the broadcast has no
    version in gets the default's."""
    if lang == BOTH:
        return together(b, channel, settings)
    lang = lang if lang in b.versions else DEFAULT_LANGUAGE
    template = _content(b, settings, lang)
    if channel == "sms":
        template = template.then("\n" + t("broadcasts.sms_stop", lang))
    return template


def together(b: Broadcast, channel: str, settings: FlowSettings) -> Template:
    """Every version the broadcast has, in the deployment's order, in one message: for a recipient
    whose language is unknown (MUSTER_UNKNOWN_LANGUAGE=all) and for group chats."""
    langs = languages_of(b, settings)
    parts: tuple[Any, ...] = ()
    for i, lang in enumerate(langs):
        parts += (("lit", "\n\n", ""),) if i else ()
        parts += _content(b, settings, lang).parts
    template = Template(b.body, parts)
    if channel == "sms":
        template = template.then("".join("\n" + t("broadcasts.sms_stop", lang) for lang in langs))
    return template


def alert_choices(
    b: Broadcast, lang: str = DEFAULT_LANGUAGE, settings: FlowSettings | None = None,
) -> list[list[str]] | None:
    """An alert's Done and Can't buttons, labelled in `lang` (BOTH: every version's, "Wedi gwneud / Done")."""
    if b.kind != "alert":
        return None
    langs = languages_of(b, settings or FlowSettings()) if lang == BOTH else [lang]

    def label(key: str) -> str:
        return " / ".join(dict.fromkeys(t(key, one) for one in langs))

    return [[f"alert:{b.id}:done", label("alerts.done_button")], [f"alert:{b.id}:cant", label("alerts.cant_button")]]


async def suppressed_ids(tx: Tx, salt: str | None) -> list[int]:
    """Supporters whose phone or Telegram id is on the erasure suppression list."""
    hashes = await store.suppression_hashes(tx)
    if not hashes or not salt:
        return []
    found: set[int] = set()
    for kind in hashes:
        for sid, value in await store.addresses(tx, kind):
            if suppression_list.digest(salt, kind, value) in hashes[kind]:
                found.add(sid)
    return sorted(found)


async def followup(tx: Tx, actor: Actor, alert: Broadcast, now: datetime, body: str | None = None,
                   settings: FlowSettings | None = None, bodies: Mapping[str, str] | None = None) -> Broadcast:
    """A draft of the same alert, in the same languages, to everyone who got it and has not answered yet.
    `body` and `bodies` (by language) replace its texts; a language not given keeps its own."""
    if alert.kind != "alert":
        raise BroadcastError("broadcasts.error_not_alert", id=alert.id)
    check_access(actor, alert)
    original = alert.filters
    audience = Audience(groups=original.groups, channel=original.channel, alert_id=alert.id, response="not_yet")
    if not sum((await store.count(tx, audience, alert.channel_mode == "every")).values()):
        raise BroadcastError("broadcasts.error_no_followup", id=alert.id)
    deadline = parse_ts(alert.deadline) if alert.deadline else None
    # The versions in languages the deployment still offers (a language since dropped goes).
    kept = {lang: v for lang, v in alert.versions.items() if settings is None or lang in settings.languages}
    return await compose(
        tx, actor, now, body=body or alert.body, audience=audience, every=alert.channel_mode == "every",
        kind="alert", cta_text=alert.cta_text, cta_link=alert.cta_link,
        deadline=deadline if deadline and deadline > now else None, normalise=bool(alert.normalise),
        bodies={**{lang: v["body"] for lang, v in kept.items()}, **(bodies or {})},
        ctas={lang: v["cta_text"] for lang, v in kept.items() if v.get("cta_text")},
        settings=settings or FlowSettings(languages=(DEFAULT_LANGUAGE, *kept, *(bodies or {}))),
    )


# -- what the console lists and checks ------------------------------------------------------------
# The console's list filters: what each shows (a discarded draft and a missed one count as cancelled).
SHOWN = {"all": (), "draft": ("draft",), "scheduled": ("scheduled",), "sending": ("sending",), "sent": ("sent",),
         "cancelled": ("cancelled", "missed")}


def _seeing(actor: Actor) -> tuple[int, ...] | None:
    if not actor.is_organiser:
        raise ScopeError("broadcasts.error_not_organiser_see")
    return actor.scope()


async def listing(tx: Tx, actor: Actor, *, shown: str = "all", kind: str | None = None, before: int | None = None,
                  limit: int = 50) -> list[Broadcast]:
    """The broadcasts the actor may act on (check_access's rule), newest first, `limit` at a time."""
    if shown not in SHOWN:
        raise BroadcastError("broadcasts.error_shown", names=", ".join(SHOWN))
    return await store.listing(tx, groups=_seeing(actor), statuses=SHOWN[shown], kind=kind, before=before,
                               limit=limit)


async def tally(tx: Tx, actor: Actor) -> dict[str, int]:
    """How many of the actor's broadcasts each list filter shows."""
    counts = await store.status_counts(tx, _seeing(actor))
    return {name: sum(counts.get(s, 0) for s in statuses) if statuses else sum(counts.values())
            for name, statuses in SHOWN.items()}


async def one(tx: Tx, actor: Actor, broadcast_id: int) -> Broadcast:
    """A broadcast the actor may act on: LookupError when there is none, ScopeError when not theirs."""
    b = await store.get(tx, broadcast_id)
    if b is None:
        raise LookupError(f"no broadcast #{broadcast_id}")
    check_access(actor, b)
    return b


async def check_reach(tx: Tx, actor: Actor, audience: Audience) -> None:
    """The event and the action alert an audience names must be ones the actor may see (the
    recipients are limited to their groups anyway; this keeps others' RSVPs and answers private)."""
    if audience.event_id is not None:
        event = await events_store.get(tx, audience.event_id)
        if event is None:
            raise BroadcastError("broadcasts.error_no_event", id=audience.event_id)
        check_view(actor, event)
    if audience.alert_id is not None:
        alert = await store.get(tx, audience.alert_id)
        if alert is None or alert.kind != "alert" or alert.status not in ("sending", "sent"):
            raise BroadcastError("broadcasts.error_no_sent_alert", id=audience.alert_id)
        check_access(actor, alert)
