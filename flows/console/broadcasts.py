"""`/broadcast` and `/alert` in the organiser console: compose, preview, confirm, schedule, cancel, report.

    /broadcast                      compose step by step
    /broadcast Hi {first_name}…     start with this text
    /broadcast list | preview N | report N | cancel N | followup N
    /alert                          an action alert: text, call to action, deadline, audience

With more than one language configured (MUSTER_LANGUAGES), the English text (and an alert's call
to action) is followed by the version in each other language; SKIP leaves that language to get
the English.
"""
from __future__ import annotations

import re
from datetime import datetime

from flows.core.context import Context
from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, plural
from flows.core.types import Choice
from flows.organiser import reports as broadcast_report
from flows.organiser import sending as broadcast_send
from flows.organiser.access import Actor, check_access
from flows.organiser.broadcasts import (
    compose,
    followup,
    headline,
    kind_word,
    language_name,
    local,
    parse_audience,
    parse_time,
    state,
    state_word,
)
from flows.organiser.errors import BodyError, BroadcastError, refusal
from flows.values import dates, segments
from flows.values.templates import TemplateError, compile_template
from storage import broadcasts as store
from storage import groups
from storage.db import parse_ts

FLOW = "broadcast"
_LINK = re.compile(r"(https?://\S+)\s*$")


def _lang(ctx: Context) -> str:
    """The organiser's language (English when they have none)."""
    return ctx.supporter.language or DEFAULT_LANGUAGE


def _kind(ctx: Context, kind: str) -> str:
    """'Broadcast', 'Action alert' ('Darllediad') at the start of a sentence, in the organiser's language."""
    word = kind_word(kind, _lang(ctx))
    return word[:1].upper() + word[1:]


async def actor(ctx: Context) -> Actor:
    roles = tuple(await ctx.roles())
    # The label is stored as the broadcast's author and logged: our record, never their address.
    return Actor(roles, f"{ctx.channel}:supporter:{ctx.supporter.id}", ctx.channel, ctx.inbound.address,
                 origin=ctx.channel)


async def broadcast(ctx: Context) -> None:
    await _command(ctx, "broadcast")


async def alert(ctx: Context) -> None:
    await _command(ctx, "alert")


async def _command(ctx: Context, kind: str) -> None:
    head, _, rest = ctx.args.strip().partition(" ")
    sub = head.lower()
    if kind == "broadcast" and sub in ("list", "preview", "report", "cancel", "followup"):
        await _manage(ctx, sub, rest.strip())
        return
    ctx.begin(FLOW, "body", {"kind": kind})
    if ctx.args.strip():
        ctx.conversation.data["body"] = ctx.args.strip()
        await _after_body(ctx)
    else:
        ctx.say("broadcasts.ask_body", first="{first_name}", group="{group}")


async def _manage(ctx: Context, sub: str, arg: str) -> None:
    who = await actor(ctx)
    if sub == "list":
        found = await store.recent(ctx.tx, 10, who.scope())
        lang = _lang(ctx)
        lines = [f"#{b.id} {kind_word(b.kind, lang)} {state_word(state(b), lang)} — {headline(b)}" for b in found]
        ctx.reply("\n".join(lines) if lines else ctx.t("broadcasts.none"))
        return
    b = await store.get(ctx.tx, int(arg)) if arg.isdigit() else None
    if b is None:
        ctx.say("broadcasts.not_found", command=sub)
        return
    try:
        check_access(who, b)
        if sub == "report":
            report = await broadcast_report.build(ctx.tx, b, ctx.now)
            ctx.reply(broadcast_report.describe(report, ctx.settings, _lang(ctx)))
        elif sub == "cancel":
            dropped = await broadcast_send.cancel(ctx.tx, b, who, ctx.now)
            ctx.say("broadcasts.cancelled", Kind=_kind(ctx, b.kind), id=b.id,
                    dropped=plural("message", dropped, _lang(ctx)))
        elif sub == "followup":
            draft = await followup(ctx.tx, who, b, ctx.now, settings=ctx.settings)
            ctx.begin(FLOW, "decide", {"kind": "alert", "id": draft.id})
            await _show_preview(ctx, draft.id)
        else:
            await _show_preview(ctx, b.id, offer=b.status == "draft")
    except BroadcastError as exc:
        ctx.reply(refusal(exc, _lang(ctx)))


# -- composing step by step ------------------------------------------------------------------
async def body(ctx: Context) -> None:
    if not ctx.text:
        ctx.say("broadcasts.ask_body", first="{first_name}", group="{group}")
        return
    ctx.conversation.data["body"] = ctx.text
    await _after_body(ctx)


async def _after_body(ctx: Context) -> None:
    if ctx.conversation.data["kind"] == "alert":
        ctx.goto("cta")
        ctx.say("broadcasts.ask_cta")
    else:
        await _next_version(ctx)


async def cta(ctx: Context) -> None:
    match = _LINK.search(ctx.text)
    text = ctx.text[: match.start()].strip() if match else ctx.text
    if not text:
        ctx.say("broadcasts.ask_cta")
        return
    ctx.conversation.data.update(cta=text, link=match.group(1) if match else None)
    await _next_version(ctx)


# -- the versions in other languages ---------------------------------------------------------------
_SKIP = ("skip", "none", "no")


def _others(ctx: Context) -> list[str]:
    """The configured languages beyond the default, in MUSTER_LANGUAGES's order."""
    return [lang for lang in ctx.settings.languages if lang != DEFAULT_LANGUAGE]


def _outside_gsm7(text: str) -> bool:
    """Whether this text, as it would be sent (tidied for SMS), goes as UCS-2."""
    return not segments.is_gsm7("".join(segments.normalise(text)[0].split()))


def _named(ctx: Context, lang: str) -> str:
    """A language as the organiser reads it: 'Welsh (Cymraeg)', or in a Welsh console 'Cymraeg'."""
    if ctx.supporter.language in (None, "", DEFAULT_LANGUAGE):
        return language_name(lang)
    return LANGUAGE_NAMES.get(lang, lang)


def _ask_version(ctx: Context, lang: str) -> None:
    ctx.reply(ctx.t("broadcasts.ask_body_in", language=_named(ctx, lang), hint="").strip())


async def _next_version(ctx: Context) -> None:
    """Ask for the next language's version not yet asked; when none is left, go on: an alert to
    its deadline, a broadcast to its audience."""
    data = ctx.conversation.data
    asked = data.setdefault("asked", [])
    waiting = [lang for lang in _others(ctx) if lang not in asked]
    if waiting:
        asked.append(waiting[0])
        data["lang"] = waiting[0]
        ctx.goto("version")
        _ask_version(ctx, waiting[0])
    elif data["kind"] == "alert":
        ctx.goto("deadline")
        ctx.say("broadcasts.ask_deadline")
    else:
        ctx.goto("audience")
        await _ask_audience(ctx)


async def version(ctx: Context) -> None:
    """The message in one other language (SKIP: those supporters get the English)."""
    data, lang, text = ctx.conversation.data, ctx.conversation.data["lang"], ctx.text.strip()
    if not text:
        _ask_version(ctx, lang)
        return
    if text.lower() in _SKIP:
        await _next_version(ctx)
        return
    try:
        compile_template(text)
    except TemplateError as exc:
        ctx.reply(f"{_named(ctx, lang)}: {exc}")
        _ask_version(ctx, lang)
        return
    data.setdefault("bodies", {})[lang] = text
    if _outside_gsm7(text):
        ctx.say("broadcasts.ucs2_hint")
    if data["kind"] == "alert":
        ctx.goto("version_cta")
        ctx.say("broadcasts.ask_cta_in", language=_named(ctx, lang))
    else:
        await _next_version(ctx)


async def version_cta(ctx: Context) -> None:
    """An alert's call to action in that language (SKIP: the English one); the link is the English
    call to action's, so a copy of it typed at the end is left out."""
    data, lang, text = ctx.conversation.data, ctx.conversation.data["lang"], ctx.text.strip()
    if not text:
        ctx.say("broadcasts.ask_cta_in", language=_named(ctx, lang))
        return
    if text.lower() not in _SKIP:
        match = _LINK.search(text)
        if match and match.group(1) == data.get("link"):
            text = text[: match.start()].strip() or text
        data.setdefault("ctas", {})[lang] = text
        if _outside_gsm7(text) and not _outside_gsm7(data.get("bodies", {}).get(lang, "")):
            ctx.say("broadcasts.ucs2_hint")
    await _next_version(ctx)


async def _restart(ctx: Context) -> None:
    """Back to the first question: the texts in every language are asked again."""
    for key in ("asked", "bodies", "ctas", "lang"):
        ctx.conversation.data.pop(key, None)
    ctx.goto("body")
    ctx.say("broadcasts.ask_body", first="{first_name}", group="{group}")


async def deadline(ctx: Context) -> None:
    if ctx.text.lower() not in ("skip", "none", "no"):
        try:
            when = dates.parse(ctx.text, ctx.now, ctx.settings.timezone)
        except dates.DateError:
            ctx.say("broadcasts.bad_deadline")
            return
        ctx.conversation.data["deadline"] = when.isoformat()
    ctx.goto("audience")
    await _ask_audience(ctx)


AUDIENCE_BUTTONS = 8  # more groups than this are typed by name


async def _ask_audience(ctx: Context) -> None:
    """Who should get it: typed filters, or a button for everyone in reach and for each of the
    organiser's groups (when they are few enough to list)."""
    limit = (await actor(ctx)).scope()
    found = [g for g in await groups.list_all(ctx.tx) if limit is None or g.id in limit]
    choices = [Choice("bcaud:all", ctx.t("broadcasts.audience_everyone" if limit is None
                                         else "broadcasts.audience_all_mine"))]
    if len(found) <= AUDIENCE_BUTTONS:
        choices += [Choice(f"bcaud:group:{g.id}", g.name) for g in found]
    ctx.say("broadcasts.ask_audience", choices)


async def audience(ctx: Context) -> None:
    data = ctx.conversation.data
    typed = ctx.choice.split(":", 1)[1] if ctx.choice and ctx.choice.startswith("bcaud:") else ctx.text
    try:
        filters, every = await parse_audience(ctx.tx, typed)
        draft = await compose(
            ctx.tx, await actor(ctx), ctx.now, body=data["body"], audience=filters, every=every,
            kind=data["kind"], cta_text=data.get("cta"), cta_link=data.get("link"),
            deadline=datetime.fromisoformat(data["deadline"]) if data.get("deadline") else None,
            bodies=data.get("bodies"), ctas=data.get("ctas"), settings=ctx.settings,
        )
    except BroadcastError as exc:
        ctx.reply(refusal(exc, _lang(ctx)))
        if isinstance(exc, BodyError):
            await _restart(ctx)
        else:
            await _ask_audience(ctx)
        return
    data["id"] = draft.id
    ctx.goto("decide")
    await _show_preview(ctx, draft.id)


async def _show_preview(ctx: Context, broadcast_id: int, offer: bool = True) -> None:
    b = await store.fetch(ctx.tx, broadcast_id)
    p = await broadcast_send.preview(ctx.tx, b, ctx.now, ctx.settings)
    choices = []
    if offer:
        choices = [Choice(f"bc:{b.id}:now", ctx.t("broadcasts.send_now")),
                   Choice(f"bc:{b.id}:later", ctx.t("broadcasts.send_later"))]
        who = await actor(ctx)
        if b.kind == "alert" and who.is_admin and p.quiet_until:
            choices.append(Choice(f"bc:{b.id}:urgent", ctx.t("broadcasts.send_urgent")))
        choices.append(Choice(f"bc:{b.id}:drop", ctx.t("broadcasts.discard")))
    ctx.reply(broadcast_send.describe(p, ctx.settings, _lang(ctx)), choices, about=p.about)


async def chosen(ctx: Context) -> None:
    """A preview button: bc:<id>:now|later|urgent|drop."""
    _, ident, action = (ctx.choice or "::").split(":", 2)
    if not await ctx.roles() or not ident.isdigit():
        ctx.say("console.refused", command="/broadcast")
        return
    b = await store.get(ctx.tx, int(ident))
    try:  # before anything else: "drop" changes the draft without reaching confirm()'s check
        if b is not None:
            check_access(await actor(ctx), b)
    except BroadcastError as exc:
        ctx.reply(refusal(exc, _lang(ctx)))
        return
    if b is None or b.status != "draft":
        ctx.say("broadcasts.not_draft")
        return
    conv = ctx.conversation
    if not (conv.flow == FLOW and conv.data.get("id") == b.id):
        ctx.begin(FLOW, "decide", {"kind": b.kind, "id": b.id})
    data = ctx.conversation.data
    if action == "now":  # the preview's "send now", even after a time was typed
        data.pop("when", None)
        data["repeat"] = "none"
    if action in ("now", "at"):  # urgent only ever follows the typed URGENT
        data["urgent"] = False
    if action not in ("now", "at", "later", "urgent", "drop") or (action == "at" and not data.get("when")):
        ctx.say("broadcasts.use_buttons")
        return
    if action == "drop":
        await broadcast_send.discard(ctx.tx, b, await actor(ctx), ctx.now)
        ctx.finish()
        ctx.say("broadcasts.discarded", id=b.id)
    elif action == "later":
        ctx.goto("when")
        ctx.say("broadcasts.ask_when")
    elif action == "urgent":
        ctx.goto("urgent")
        ctx.say("broadcasts.ask_urgent")
    else:
        await _confirm(ctx)


async def decide(ctx: Context) -> None:
    ctx.say("broadcasts.use_buttons")


async def urgent(ctx: Context) -> None:
    if ctx.text.strip().upper() != "URGENT":
        ctx.finish()
        ctx.say("broadcasts.urgent_declined")
        return
    ctx.conversation.data["urgent"] = True
    await _confirm(ctx)


async def when(ctx: Context) -> None:
    data, text = ctx.conversation.data, ctx.text.strip()
    head, _, rest = text.partition(" ")
    repeat = head.lower() if head.lower() in ("daily", "weekly") else "none"
    spoken = rest if repeat != "none" else text
    try:
        moment = parse_time(spoken, ctx.now, ctx.settings.timezone)
    except BroadcastError:
        moment = None
    if moment is None:
        ctx.say("broadcasts.bad_when")
        return
    data.update(when=moment.isoformat(), repeat=repeat)
    ctx.goto("when_ok")
    ctx.say("broadcasts.confirm_when", time=local(moment, ctx.settings.timezone, _lang(ctx)),
            repeat="" if repeat == "none" else ctx.t(f"broadcasts.repeat_{repeat}"),
            choices=[Choice(f"bc:{data['id']}:at", ctx.t("broadcasts.yes_schedule")),
                     Choice(f"bc:{data['id']}:drop", ctx.t("broadcasts.discard"))])


async def count(ctx: Context) -> None:
    ctx.conversation.data["typed"] = ctx.text
    await _confirm(ctx)


async def _confirm(ctx: Context) -> None:
    data = ctx.conversation.data
    b = await store.fetch(ctx.tx, data["id"])
    moment = datetime.fromisoformat(data["when"]) if data.get("when") else None
    try:
        p = await broadcast_send.preview(ctx.tx, b, ctx.now, ctx.settings)
        if p.needs_count and not data.get("typed"):
            ctx.goto("count")
            ctx.say("broadcasts.ask_count", people=plural("person", p.total, _lang(ctx)), total=p.total)
            return
        done = await broadcast_send.confirm(
            ctx.tx, b, await actor(ctx), ctx.now, ctx.settings, when=moment, repeat=data.get("repeat", "none"),
            typed=data.get("typed"), urgent=bool(data.get("urgent")),
        )
    except BroadcastError as exc:
        data.pop("typed", None)
        ctx.reply(refusal(exc, _lang(ctx)))
        return
    ctx.finish()
    if done.status == "scheduled" and done.send_at is not None:
        ctx.say("broadcasts.scheduled", Kind=_kind(ctx, done.kind), id=done.id,
                time=local(parse_ts(done.send_at), ctx.settings.timezone, _lang(ctx)))
    else:
        ctx.say("broadcasts.started", Kind=_kind(ctx, done.kind), id=done.id,
                total=plural("message", done.recipients + done.chats, _lang(ctx)))


STEPS = {"body": body, "cta": cta, "version": version, "version_cta": version_cta, "deadline": deadline,
         "audience": audience, "decide": decide, "urgent": urgent, "when": when, "when_ok": decide, "count": count}
