"""Opt-out, opt-in and help keywords, handled before anything else.

On SMS these agree with Twilio's own handling (it blocks a number after STOP whatever we
do): STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT opt out; START, UNSTOP
and YES (only from someone opted out) opt back in; HELP and INFO say who we are. On
Telegram the same words opt out, except CANCEL, which only leaves the current flow;
/start or START opts back in. An opt-out ends any flow and gets exactly one confirmation.
With Twilio Advanced Opt-Out, Twilio answers on SMS itself: we record, and stay quiet.
"""
from __future__ import annotations

from flows.core.context import Context, Handler
from flows.core.texts import DEFAULT_LANGUAGE, en, template
from flows.supporter import menu, privacy, signup, web_signup
from storage import consent as consent_log

OPT_OUT = (
    "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT", "/STOP",
)
OPT_IN = ("START", "UNSTOP", "/START")
HELP = ("HELP", "INFO")
# What a Welsh speaker would text: stop, unsubscribe, end; start, start again; help. Twilio's own
# opt-out handling knows only the English words, so these are always answered here.
OPT_OUT_CY = ("STOPIO", "DADDANYSGRIFIO", "DAD DANYSGRIFIO", "DIWEDD")
OPT_IN_CY = ("DECHRAU", "AILDDECHRAU")
HELP_CY = ("CYMORTH",)
# Welsh for the YES that opts an opted-out number back in (IE only: "Iawn", OK, is as often a
# shrug at the opt-out's confirmation as a wish to come back, and OK is not one in English either).
YES_CY = ("IE",)
WELSH = frozenset(OPT_OUT_CY + OPT_IN_CY + HELP_CY + YES_CY)
# The confirmation a keyword opt-in is answered with is what they were told: a version for each
# language it is written in (give one a new version when its wording changes).
RESTART_WORDINGS = {"en": "keyword-start-v1", "cy": "keyword-start-cy-v1"}
RESTART_WORDING = RESTART_WORDINGS["en"]


def _provider_answers(ctx: Context) -> bool:
    """Twilio Advanced Opt-Out answers SMS keywords itself; a second answer from us would be noise."""
    return ctx.channel == "sms" and ctx.settings.twilio_advanced_opt_out and ctx.word not in WELSH


async def stop(ctx: Context) -> None:
    """Opt out on this channel: record it, end any flow, confirm once; then silence."""
    if ctx.channel == "telegram" and ctx.word == "CANCEL":
        await cancel(ctx)
        return
    ctx.finish()
    person = ctx.supporter
    if person.consent(ctx.channel) == "opted_out" and not await web_signup.standing(ctx, ctx.channel):
        return  # already out: they have had their one confirmation (and hear about no event since)
    consent_log.record(ctx.tx, person, ctx.channel, "opt_out", "keyword", ctx.now)
    if _provider_answers(ctx):
        return
    ctx.send_when_opted_out = True
    ctx.say(f"consent.stopped.{_channel(ctx)}", movement=ctx.settings.movement)


def _opt_in(ctx: Context) -> None:
    lang = ctx.supporter.language
    shown = f"consent.started.{_channel(ctx)}"
    wording = RESTART_WORDINGS[lang] if lang in RESTART_WORDINGS and (
        lang == DEFAULT_LANGUAGE or template(shown, lang) != en.TEXTS[shown]) else RESTART_WORDING
    consent_log.record(ctx.tx, ctx.supporter, ctx.channel, "opt_in", "keyword", ctx.now, wording)
    privacy.rejoined(ctx)
    if not _provider_answers(ctx):
        ctx.say(f"consent.started.{_channel(ctx)}", movement=ctx.settings.movement)


async def start(ctx: Context) -> None:
    """START / UNSTOP / /start (with or without a deep-link payload)."""
    person = ctx.supporter
    state = person.consent(ctx.channel)
    if state == "opted_out":
        ctx.finish()
        _opt_in(ctx)
        if person.status != "active":  # back, but never finished signing up
            await signup.join(ctx)
        return
    if ctx.channel == "sms" and person.status == "active":
        if state == "opted_in":
            if not _provider_answers(ctx):
                ctx.say("consent.already_in", movement=ctx.settings.movement)
        else:  # signed up saying no to texts, now asking for them by name
            _opt_in(ctx)
        return
    await signup.join(ctx)


async def yes(ctx: Context) -> None:
    """YES opts back in on SMS only when opted out; otherwise it is an ordinary answer. The answer to
    a confirmation someone asked for on the web is that, even from an opted-out number: it confirms
    what they asked for (flows/supporter/web_signup.py), not every campaign text."""
    waiting_web = ctx.conversation.flow == web_signup.FLOW
    if ctx.channel == "sms" and ctx.supporter.consent("sms") == "opted_out" and not waiting_web:
        ctx.finish()
        _opt_in(ctx)
        return
    await ctx.router.pass_on(ctx)


async def stop_request(ctx: Context) -> None:
    """'Please stop texting me' and the like: one question naming the keyword, never the menu.

    Asked rather than honoured: on SMS only the exact keyword makes Twilio block the number, so
    an opt-out we recorded from other words would leave Twilio's state and ours apart; and a
    reading of free text can be wrong, where the cost of a question is one reply. The message is
    not kept for the organisers' inbox (flows/supporter/inbox.py). Any flow carries on.
    """
    if ctx.supporter.consent(ctx.channel) == "opted_out":
        return  # already out: nothing to ask
    ctx.say("consent.stop_question", movement=ctx.settings.movement)


async def help(ctx: Context) -> None:
    """HELP / INFO: who we are, how to stop, the privacy notice. Any flow carries on."""
    if _provider_answers(ctx):
        return
    ctx.reply(menu.help_text(ctx))  # the one help text, as /help and the menu's Help give


async def cancel(ctx: Context) -> None:
    """Telegram CANCEL: leave the current flow (on SMS, CANCEL is an opt-out)."""
    if ctx.conversation.flow:
        ctx.finish()
        ctx.say("consent.cancelled")
        return
    await menu.show(ctx)


def _channel(ctx: Context) -> str:
    return "telegram" if ctx.channel == "telegram" else "sms"


def handlers() -> dict[str, Handler]:
    """The CONSENT routing entries (whole message, normalised)."""
    table: dict[str, Handler] = {word: stop for word in OPT_OUT + OPT_OUT_CY}
    table.update({word: start for word in OPT_IN + OPT_IN_CY})
    table.update({word: help for word in HELP + HELP_CY})
    table.update({word: yes for word in ("YES", *YES_CY)})
    return table
