"""Double opt-in for sign-ups and RSVPs made on the web pages or through the API.

A form (or an API call) only asks: `request()` texts the number "Reply YES to confirm …" and leaves
the number's SMS conversation waiting in this flow's `confirm` step. Nothing is recorded as the
person's until they answer YES from that phone: then campaign consent (source 'web' or 'api', with
the version of the words they were shown), the RSVP (capacity and waitlist as in the chat), the
details they typed and the referral. NO, or anything unclear twice, leaves everything as it was.

What a caller is told never depends on whether the number is known: an erased number (on the
suppression list) is answered 'sent' with nothing queued; a number texted within the hour is
'pending' whoever it belongs to. A person opted out of SMS still gets the one confirmation they
asked for, and nothing else unless they answer it. Someone who RSVPs without ticking campaign
messages gets an event permission (storage.web_signups): that event's confirmation, reminders and
changes reach them (flows.supporter.events.reach), broadcasts never do.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from flows.core.context import Context
from flows.core.settings import FlowSettings
from flows.core.texts import available, t
from flows.core.types import Reply
from flows.supporter import answers, privacy, referrals
from flows.supporter import events as ev
from flows.values import calendar, phones, postcodes
from storage import consent as consent_log
from storage import conversations, groups, outbox, supporters, suppression
from storage import events as event_store
from storage import web_signups as store
from storage.db import Tx
from storage.events import Event

log = logging.getLogger(__name__)

FLOW = "web_signup"
SOURCES = ("web", "api")
# At most one confirmation text per number in this long (and a confirmation waits as long as a
# conversation does: MUSTER_CONVERSATION_TIMEOUT_MINUTES, an hour by default).
ONE_TEXT_PER = timedelta(hours=1)
MAX_NAME = 40

_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’.\-])*$", re.UNICODE)
# And in Welsh (flows/supporter/answers.py), with "nid fi" (not me) and "rhif anghywir" (wrong number).
_YES = frozenset({"YES", "Y", "YEP", "YEAH", "YES PLEASE", "OK", "OKAY", "CONFIRM", "SURE", *answers.YES_CY})
_NO = frozenset({"NO", "N", "NOPE", "NAH", "NO THANKS", "NOT ME", "WRONG NUMBER", "NID FI", "DIM FI",
                 "RHIF ANGHYWIR", *answers.NO_CY})


@dataclass(frozen=True)
class Signup:
    phone: str                     # as typed; normalised inside (flows.values.phones, settings.sms_default_region)
    source: str                    # 'web' or 'api' (consent_log sources allowed since migration 0014)
    campaign: bool = False         # ticked "send me campaign messages"
    wording_version: str | None = None  # consent_wordings.version of the words shown; required when campaign
    first_name: str | None = None
    email: str | None = None
    postcode: str | None = None
    group_id: int | None = None
    event_id: int | None = None    # an RSVP from an event page
    referral: str | None = None    # a referral code (?r=CODE)
    language: str | None = None    # the page's language: a supporter who never stated one gets it


@dataclass(frozen=True)
class Requested:
    # 'sent' (a confirmation text was queued), 'pending' (one was sent within the hour; nothing new sent), 'refused'
    outcome: str
    # for 'refused': what to tell the person (bad number, …), never whether the number is known
    reason: str | None = None
    field: str | None = None       # for 'refused': the field to change ('phone', 'email', …), when there is one


async def wording(tx: Tx, text: str, source: str, now: datetime) -> str:
    """Store (once) the exact words of a consent tick box shown on this front; return their version."""
    if source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}")
    return await store.wording(tx, text, source, now)


def campaign_words(movement: str, lang: str = "en") -> str:
    """The web pages' tick box for campaign messages, exactly as shown (its version is its hash)."""
    return t("web.campaign_box", lang, movement=movement)


async def standing(ctx: Context, channel: str) -> bool:
    """Whether the sender still hears about an event they confirmed on the web (an event permission
    on this channel with no opt-out since): a STOP then ends it, even from someone opted out."""
    return await store.any_standing(ctx.tx, ctx.supporter.id, channel)


# -- asking ---------------------------------------------------------------------------------------
def _refused(reason: str, field: str | None = None) -> Requested:
    return Requested("refused", reason, field)


async def _checked(tx: Tx, now: datetime, settings: FlowSettings, s: Signup) -> tuple[dict[str, Any], Event | None]:
    """What the confirmation will apply, or ValueError(reason, field) saying what to change."""
    if s.source not in SOURCES:
        raise ValueError(f"source must be one of {', '.join(SOURCES)}", "source")
    data: dict[str, Any] = {"source": s.source, "campaign": bool(s.campaign)}
    name = " ".join((s.first_name or "").split())
    if name:
        if len(name) > MAX_NAME or not _NAME.match(name):
            raise ValueError(f"give a first name in letters, up to {MAX_NAME} characters", "first_name")
        data["name"] = name
    if s.email and s.email.strip():
        try:
            text = s.email.strip()
            if " " in text or len(text) > 254:
                raise EmailNotValidError("not an address")
            data["email"] = validate_email(text, check_deliverability=False).normalized
        except (EmailNotValidError, ValueError, UnicodeError):
            raise ValueError("give an email address like name@example.org, or leave it empty", "email") from None
    if s.postcode and s.postcode.strip():
        found = postcodes.parse(s.postcode)
        if found is None:
            raise ValueError("give a UK postcode like LS6 1AN, or leave it empty", "postcode")
        data["postcode"] = found.postcode
    if s.campaign:
        if not s.wording_version or not await store.wording_known(tx, s.wording_version):
            raise ValueError("campaign consent needs the version of the words shown (wording_version)",
                             "wording_version")
        data["wording"] = s.wording_version
    if s.group_id is not None:
        if await groups.get(tx, s.group_id) is None:
            raise ValueError(f"no local group #{s.group_id}", "group_id")
        data["group"] = s.group_id
    event = None
    if s.event_id is not None:
        event = await event_store.get(tx, s.event_id)
        if event is None or event.status == "draft":
            raise ValueError("no such event", "event_id")
        if event.status != "confirmed" or event.start <= now:
            raise ValueError("this event is no longer taking RSVPs", "event_id")
        data["event"] = event.id
    code = referrals.clean(s.referral or "")
    if code:
        data["ref"] = code
    return data, event


async def request(tx: Tx, now: datetime, settings: FlowSettings, signup: Signup) -> Requested:
    """Text the number a confirmation for this sign-up or RSVP, at most once an hour; see the module."""
    phone = phones.normalise(signup.phone or "", settings.sms_default_region)
    if phone is None or not _textable(phone):
        return _refused("give a mobile number, like 07700 900123 or +44 7700 900123", "phone")
    try:
        data, event = await _checked(tx, now, settings, signup)
    except ValueError as exc:
        reason, field = exc.args if len(exc.args) == 2 else (str(exc), None)
        return _refused(str(reason), field)
    if await suppression.is_suppressed(tx, settings.erasure_salt, phone=phone):
        log.info("web sign-up for an erased number: nothing sent")
        return Requested("sent")
    phone_hash = suppression.digest(settings.erasure_salt, "phone", phone)
    if await store.last_sent(tx, phone_hash, now - ONE_TEXT_PER) is not None:
        return Requested("pending")
    person = (await supporters.find_or_create_many(tx, "sms", [phone], now))[phone]
    if (signup.language and signup.language in available() and not person.language_stated
            and signup.language != person.language):  # a Welsh page: the text and what follows in Welsh
        supporters.update(tx, person, language=signup.language)
    data["request"] = await store.add_request(
        tx, phone_hash=phone_hash, supporter_id=person.id, source=signup.source, campaign=bool(signup.campaign),
        wording_version=data.get("wording"), event_id=data.get("event"), group_id=data.get("group"), now=now)
    conv = (await conversations.load_many(tx, [person.id], "sms")).get(person.id) \
        or conversations.Conversation(person.id, "sms")
    conv.flow, conv.step, conv.data, conv.misses, conv.choices = FLOW, "confirm", data, 0, []
    conversations.save(tx, conv, now)
    text = _question(settings, person.language, data, event)
    # Interactive: it answers what they just did. Sent even to an opted-out number: they asked for it.
    outbox.enqueue(tx, "sms", phone, Reply(text).to_payload(), now, supporter_id=person.id,
                   priority=outbox.INTERACTIVE, dedupe_key=f"web-signup:{data['request']}")
    log.info("web sign-up %s: confirmation queued for %s (%s)", data["request"], phones.masked(phone), signup.source)
    return Requested("sent")


def _textable(e164: str) -> bool:
    """Long enough to be a mobile number where it is from (a short code or '12345' cannot be texted YES)."""
    return phonenumbers.is_possible_number_for_type(phonenumbers.parse(e164), phonenumbers.PhoneNumberType.MOBILE)


def _question(settings: FlowSettings, lang: str, data: dict[str, Any], event: Event | None) -> str:
    """'Muster: reply YES to confirm …': what a YES will do, and how to say it wasn't them."""
    what = (t("web.confirm_rsvp", lang, title=event.title, when=ev.when(event, lang)) if event is not None
            else t("web.confirm_join", lang, movement=settings.movement))
    scope = t("web.confirm_campaign" if data.get("campaign") else
              "web.confirm_event_only" if event is not None else "web.confirm_no_campaign", lang)
    return t("web.confirm", lang, movement=settings.movement, what=what, scope=scope)


# -- the answer ----------------------------------------------------------------------------------------
async def confirm(ctx: Context) -> None:
    """FLOWS[FLOW]['confirm']: the reply to the confirmation text."""
    word = ctx.word if ctx.choice is None else ""
    data = dict(ctx.conversation.data)
    if word in _YES:
        await _apply(ctx, data)
    elif word in _NO:
        ctx.finish()
        store.answer(ctx.tx, int(data.get("request") or 0), "no", ctx.now)
        ctx.say("web.declined", movement=ctx.settings.movement)
    elif ctx.miss() >= 2:
        ctx.finish()
        ctx.say("web.unclear_end")
    else:
        ctx.say("web.unclear")


async def _apply(ctx: Context, data: dict[str, Any]) -> None:
    """YES: everything the form asked for, as the person's own; twice is the same as once."""
    tx, person, now, lang = ctx.tx, ctx.supporter, ctx.now, ctx.supporter.language
    ctx.finish()
    request_id = int(data.get("request") or 0)
    store.answer(tx, request_id, "yes", now)
    source = str(data.get("source") or "web")
    changes: dict[str, Any] = {}
    if data.get("name"):
        changes["first_name"] = data["name"]
    if data.get("email"):
        changes["email"] = data["email"]
    if data.get("postcode") and (found := postcodes.parse(data["postcode"])):
        changes.update(postcode=found.postcode, area=found.outward)
        covering = await groups.covering(tx, [found.outward, found.area])
        if covering:
            changes["group_id"] = covering.id
    if "group_id" not in changes and data.get("group") and person.group_id is None:
        changes["group_id"] = int(data["group"])
    joining = data.get("event") is None or bool(data.get("campaign"))
    if joining and person.status != "active":
        changes["status"] = "active"
    if changes:
        supporters.update(tx, person, **changes)
    if data.get("campaign") and person.consent("sms") != "opted_in":
        consent_log.record(tx, person, "sms", "opt_in", source, now, data.get("wording"))
        privacy.rejoined(ctx)
    if data.get("ref"):
        await referrals.credit(ctx, str(data["ref"]))
    if person.consent("sms") == "opted_out":
        ctx.send_when_opted_out = True  # the answer to what they confirmed, and nothing after it
    if data.get("event") is None:
        name = person.first_name or t("signup.friend", lang)
        lines = [t("signup.welcome", lang, name=name, movement=ctx.settings.movement)]
        lines.append(t("web.joined_campaign" if person.consent("sms") == "opted_in" else "web.joined_no_campaign",
                       lang))
        ctx.reply("\n".join(lines))
        return
    await _rsvp(ctx, int(data["event"]), source, request_id)


async def _rsvp(ctx: Context, event_id: int, source: str, request_id: int) -> None:
    """The RSVP a YES confirmed: going, or the waitlist when full; an event gone since is said so."""
    tx, person, now, lang = ctx.tx, ctx.supporter, ctx.now, ctx.supporter.language
    event = await event_store.get(tx, event_id)
    if event is None or event.status == "draft":
        ctx.say("events.gone")
        return
    if event.status == "cancelled":
        ctx.say("events.cancelled_already", title=event.title)
        return
    if event.start <= now:
        ctx.say("events.started", title=event.title)
        return
    store.permit(tx, event.id, person.id, "sms", source, now, request_id or None)
    only = "" if person.consent("sms") == "opted_in" else "\n" + t("web.event_only", lang)
    current = await event_store.rsvp(tx, event.id, person.id)
    if current is not None and current.status in ("going", "waitlisted"):
        ctx.reply(t(f"web.already_{current.status}", lang, title=event.title) + only)
        return
    full = event.capacity is not None and await event_store.count_going(tx, event.id) >= event.capacity
    if full:
        await event_store.set_rsvp(tx, event.id, person.id, "waitlisted", "sms", now)
        ctx.reply(t("events.waitlisted", lang, title=event.title) + only)
        return
    await event_store.set_rsvp(tx, event.id, person.id, "going", "sms", now)
    reply = ev.confirmation(event, "sms", ctx.settings, now, lang, "events.going")
    private = "" if event.address_public or not (event.address or event.postcode) else \
        "\n" + t("web.address", lang, address=calendar.where(event, public_only=False))
    ctx.replies.append(Reply(reply.text + private + only, lang=lang))


STEPS = {"confirm": confirm}
