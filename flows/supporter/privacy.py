"""Data rights: MYDATA shows what we hold; DELETE (after a yes) erases it.

Erasure keeps an anonymous supporter row for the counts, anonymises the consent log,
and puts salted hashes of the phone number and Telegram id on the suppression list, so
no import or organiser can re-add the person. Coming back is their own choice: texting
JOIN creates a fresh record, and `rejoined()` lifts the hash once they opt in again.
"""
from __future__ import annotations

import json
import logging
from typing import Any

from flows.core.context import Context
from flows.core.texts import LANGUAGE_NAMES
from flows.core.types import Choice, Document, Reply
from flows.supporter import answers
from flows.supporter.interests import label_in
from flows.values import dates
from storage import consent, privacy, supporters, suppression
from storage.db import parse_ts

log = logging.getLogger(__name__)

FLOW = "privacy"
YES, NO = f"{FLOW}:yes", f"{FLOW}:no"
# Welsh: "dileu" (delete), "dileu'r cyfan" (delete it all), "cadw" (keep), and yes and no.
_YES_WORDS = {"YES", "Y", "DELETE", "ERASE", "CONFIRM", "DELETE EVERYTHING", "DILEU", "DILEUR CYFAN",
              *answers.YES_CY} - {"IAWN", "SIWR", "DO"}
_NO_WORDS = {"NO", "N", "KEEP", "DONT", "DO NOT", "CADW", *answers.NO_CY}


# -- MYDATA ----------------------------------------------------------------------------
async def mydata(ctx: Context) -> None:
    """KEYWORDS["MYDATA"]: a summary in the chat, and on Telegram the whole record as JSON."""
    data = await privacy.export(ctx.tx, ctx.supporter.id) or {}
    text = summary(ctx, data)
    if ctx.channel == "telegram":
        body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
        document = Document("muster-data.json", body, "application/json")
        ctx.replies.append(Reply(f"{text}\n\n{ctx.t('privacy.mydata_document')}", document=document,
                                 lang=ctx.supporter.language))
    else:
        ctx.reply(text)


def _date(ctx: Context, stamp: str | None) -> str:
    if not stamp:
        return ""
    return dates.day(parse_ts(stamp), ctx.settings.timezone, ctx.supporter.language)


def summary(ctx: Context, data: dict[str, Any]) -> str:
    """The chat version of the record, one line per thing we hold."""
    none = ctx.t("privacy.none")

    def line(key: str, value: Any) -> str:
        return ctx.t(key, value=none if value in (None, "", []) else value)

    lines = [
        ctx.t("privacy.mydata_title", movement=ctx.settings.movement),
        line("privacy.field.name", " ".join(n for n in (data.get("first_name"), data.get("last_name")) if n)),
        line("privacy.field.phone", data.get("phone")),
        line("privacy.field.telegram", data.get("telegram_id")),
        line("privacy.field.email", data.get("email")),
        line("privacy.field.postcode", data.get("postcode")),
        line("privacy.field.group", data.get("local_group")),
        line("privacy.field.language", LANGUAGE_NAMES.get(data.get("language") or "", data.get("language"))),
        line("privacy.field.interests", ", ".join(label_in(ctx.supporter.language, key)
                                                  for key in data.get("interests") or [])),
    ]
    for channel, state in (data.get("consent") or {}).items():
        status = ctx.t(f"privacy.status.{state['status']}")
        since = _date(ctx, state.get("since"))
        lines.append(ctx.t(
            "privacy.field.consent_since" if since else "privacy.field.consent",
            channel=ctx.t(f"privacy.channel.{channel}"), status=status, since=since,
        ))
    lines.append(line("privacy.field.referral_code", data.get("referral_code")))
    if "rsvps" in data:
        events = [
            ctx.t("privacy.rsvp", title=r.get("event_title") or f"#{r.get('event_id', '?')}",
                  date=_date(ctx, r.get("event_starts_at")), answer=_answer(ctx, r.get("status")))
            for r in data["rsvps"]
        ]
        lines.append(line("privacy.field.rsvps", "; ".join(events)))
    lines.append(ctx.t("privacy.mydata_footer", privacy_url=ctx.settings.privacy_url))
    return "\n".join(lines)


def _answer(ctx: Context, status: Any) -> str:
    key = f"privacy.rsvp.{status}"
    try:
        return ctx.t(key)
    except KeyError:  # an answer this catalogue does not know yet: show it as stored
        return str(status or "")


# -- DELETE ----------------------------------------------------------------------------
def _choices(ctx: Context) -> list[Choice]:
    return [Choice(YES, ctx.t("privacy.delete_yes")), Choice(NO, ctx.t("privacy.delete_no"))]


async def delete(ctx: Context) -> None:
    """KEYWORDS["DELETE"]: ask first; nothing is erased without a clear yes."""
    ctx.begin(FLOW, "confirm")
    ctx.say("privacy.delete_confirm", _choices(ctx), movement=ctx.settings.movement)


async def confirm(ctx: Context) -> None:
    word = ctx.word
    if ctx.choice == YES or (ctx.choice is None and word in _YES_WORDS):
        await erase(ctx)
    elif ctx.choice == NO or (ctx.choice is None and word in _NO_WORDS):
        ctx.finish()
        ctx.say("privacy.delete_kept")
    elif ctx.miss() >= 2:
        ctx.finish()
        ctx.say("privacy.delete_unclear")
    else:
        ctx.say("privacy.delete_reprompt", _choices(ctx))


async def erase(ctx: Context) -> None:
    """Erase the sender's record now; the one confirmation still goes to this chat."""
    person = ctx.supporter
    for channel in supporters.CHANNELS:
        if person.consent(channel) == "opted_in":
            consent.record(ctx.tx, person, channel, "opt_out", "keyword", ctx.now)
    was = await privacy.erase(ctx.tx, person.id, ctx.now)
    suppression.add(ctx.tx, ctx.settings.erasure_salt, ctx.now, was["phone"], was["telegram_id"])
    log.info("supporter %s erased at their request on %s", person.id, ctx.channel)
    erased = await supporters.get(ctx.tx, person.id)
    assert erased is not None
    ctx.supporter = erased
    ctx.finish()
    ctx.send_when_opted_out = True
    ctx.say("privacy.deleted", movement=ctx.settings.movement)


def rejoined(ctx: Context) -> None:
    """Call when the sender opts in again by their own choice: their identity leaves the list."""
    person = ctx.supporter
    suppression.lift(ctx.tx, ctx.settings.erasure_salt, person.phone, person.telegram_id)
