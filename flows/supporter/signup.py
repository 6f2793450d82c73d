"""Sign-up: first name → postcode → interests → email → consent → welcome.

Started by JOIN (SMS: `JOIN <referral code>`), Telegram /start and /start deep links
(`r_<code>` a referral, `g_<group id>` a local group; `e_<public id>`, an event page's RSVP
button, shows that event instead). Answers are saved as they come,
so a supporter who stops half-way keeps what they gave; they become "active" only at
the end. Consent is asked for this channel only, and a "no" records nothing.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Sequence
from functools import lru_cache
from typing import Any

from email_validator import EmailNotValidError, validate_email

from flows.core.context import Context
from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, en, t, template, translations
from flows.core.types import Choice
from flows.supporter import answers, events, interests, menu, privacy, referrals
from flows.values import postcodes, wales
from storage import consent as consent_log
from storage import events as event_store
from storage import groups, supporters
from storage import interests as interest_store

log = logging.getLogger(__name__)

FLOW = "signup"
# The version of the consent question's wording ("signup.consent.*") in each language it is asked
# in: give a language a new version whenever its wording changes (tests/flows/test_consent_wording.py
# holds each version's words). The consent log records the version of the words the supporter saw.
CONSENT_WORDINGS = {"en": "signup-consent-v1", "cy": "signup-consent-cy-v1"}
CONSENT_WORDING = CONSENT_WORDINGS["en"]

# SKIP, and what Welsh speakers would type for it ("hepgor", "dim", "dim un": skip, nothing, none).
_SKIP = frozenset({"SKIP", "NONE", "NO", "NOTHING", "NA", "N A", "PASS", "HEPGOR", "DIM", "DIM UN", "DIM BYD"})
_NOT_A_NAME = _SKIP | answers.YES_EN
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|[ '’.\-])*$", re.UNICODE)
_GROUP_PAYLOAD = re.compile(r"^g_(\d{1,12})$")
_EVENT_PAYLOAD = re.compile(r"^e_([a-z0-9]{4,32})$")


def _word(ctx: Context) -> str:
    return ctx.word


def _skipped(ctx: Context) -> bool:
    return ctx.choice is None and _word(ctx) in _SKIP


def _miss(ctx: Context, key: str, choices: Sequence[Choice] = (), multi: bool = False, **values: Any) -> None:
    """A specific re-prompt; from the second miss on, also offer HELP."""
    text = ctx.t(key, **values)
    if ctx.miss() >= 2:
        text = f"{text}\n{ctx.t('signup.offer_help')}"
    ctx.reply(text, choices, multi=multi)


# -- starting --------------------------------------------------------------------
async def join(ctx: Context) -> None:
    """JOIN, /start, /start <payload>: begin sign-up, or offer an active supporter an update."""
    if (page := _EVENT_PAYLOAD.match(ctx.args.strip())):  # an event page's "RSVP in Telegram" button
        await events.from_page(ctx, page.group(1))
        return
    data = await _payload(ctx, ctx.args.strip())
    if ctx.supporter.status == "active":
        await offer_update(ctx)
        return
    ctx.begin(FLOW, "name", data)
    ctx.reply(f"{ctx.t('signup.intro', movement=ctx.settings.movement)}\n{ctx.t('signup.ask_name')}")


async def offer_update(ctx: Context) -> None:
    """The menu, with "Update my details" where Join stands for others (the numbers stay the same)."""
    ctx.finish()
    name = ctx.supporter.first_name or ctx.t("signup.friend")
    update = Choice("join:update", ctx.t("signup.update_button"))
    ctx.reply(f"{ctx.t('signup.already', name=name)}\n{ctx.t('menu.title')}", menu.choices(ctx, last=update))


async def chosen(ctx: Context) -> None:
    """The 'update my details' button (join:update), wherever it was pressed."""
    if ctx.choice == "join:update" and ctx.supporter.status == "active":
        ctx.begin(FLOW, "name", {"update": True})
        ctx.say("signup.ask_name")
        return
    await join(ctx)


async def _payload(ctx: Context, payload: str) -> dict[str, Any]:
    """What a deep link or `JOIN <code>` carried: a referral code, or a local group."""
    data: dict[str, Any] = {}
    if not payload or len(payload) > 64:
        return data
    match = _GROUP_PAYLOAD.match(payload)
    if match:
        group = await groups.get(ctx.tx, int(match.group(1)))
        if group:
            data["group"], data["group_name"] = group.id, group.name
        return data
    data["ref"] = payload.split()[0][:32]
    return data


def _channel(ctx: Context) -> str:
    return "telegram" if ctx.channel == "telegram" else "sms"


# -- the steps ----------------------------------------------------------------------
async def name_step(ctx: Context) -> None:
    name = " ".join(ctx.text.split())
    if ctx.choice is not None or not name or len(name) > 40 or not _NAME.match(name) or _word(ctx) in _NOT_A_NAME:
        _miss(ctx, "signup.bad_name")
        return
    supporters.update(ctx.tx, ctx.supporter, first_name=name)
    ctx.goto("postcode")
    ctx.say("signup.ask_postcode", name=name)


async def postcode_step(ctx: Context) -> None:
    data = ctx.conversation.data
    if _skipped(ctx):
        if data.get("group") and ctx.supporter.group_id is None:  # the group whose link they followed
            supporters.update(ctx.tx, ctx.supporter, group_id=data["group"])
        ctx.goto("interests")
        _ask_interests(ctx)
        return
    found = _postcode(ctx)
    if found is None:
        _miss(ctx, "signup.bad_postcode")
        return
    group = await groups.covering(ctx.tx, [found.outward, found.area])
    group_id, group_name = (group.id, group.name) if group else (data.get("group"), data.get("group_name"))
    supporters.update(ctx.tx, ctx.supporter, postcode=found.postcode, area=found.outward, group_id=group_id)
    data["group_name"] = group_name
    if not group_name:
        log.info("sign-up: no local group covers %s", found.outward)
        data["no_group"] = True
    if wales.in_wales(found) and _language_unknown(ctx):
        ctx.goto("language")
        _ask_language(ctx)
        return
    ctx.goto("interests")
    _ask_interests(ctx, _found_line(ctx, ctx.supporter.language))


def _found_line(ctx: Context, lang: str) -> str:
    data = ctx.conversation.data
    if data.get("group_name"):
        return t("signup.group_found", lang, group=data["group_name"])
    return t("signup.no_group", lang, area=ctx.supporter.area or "")


# -- a Welsh postcode: which language? -------------------------------------------------------
WELSH, ENGLISH = "cy", DEFAULT_LANGUAGE
_LANGUAGE_WORDS = {"CY": WELSH, "C": WELSH, "W": WELSH, "CYM": WELSH, "EN": ENGLISH, "E": ENGLISH, "ENG": ENGLISH,
                   "SAES": ENGLISH}


def _language_unknown(ctx: Context) -> bool:
    """Nobody has said which language this supporter would like: not they (CYMRAEG or ENGLISH
    during this sign-up), nor their Telegram app (a language with a catalogue is taken at first
    contact). An update of details does not ask again. (Without a record of when a language was
    chosen, an ENGLISH sent before JOIN is not told apart from the default.)"""
    data = ctx.conversation.data
    return not data.get("update") and not data.get("language_chosen") and ctx.supporter.language == DEFAULT_LANGUAGE


def _ask_language(ctx: Context) -> None:
    """Greeted in Welsh and in English, Welsh first, and asked which to carry on in."""
    parts = []
    for lang in (WELSH, ENGLISH):
        greeting = t("signup.greet_wales", lang, name=ctx.supporter.first_name or t("signup.friend", lang))
        parts.append(f"{greeting} {_found_line(ctx, lang)}\n{t(f'signup.ask_language.{_channel(ctx)}', lang)}")
    choices = [Choice(f"su:lang:{lang}", LANGUAGE_NAMES[lang]) for lang in (WELSH, ENGLISH)]
    # On SMS the words CYMRAEG and ENGLISH answer it: a numbered list would be headed in one language.
    ctx.reply("\n\n".join(parts), choices if ctx.channel == "telegram" else ())


async def language_step(ctx: Context) -> None:
    """The answer to the language question (CYMRAEG and ENGLISH, typed, reach language_chosen too)."""
    lang = ctx.choice.removeprefix("su:lang:") if ctx.choice else _LANGUAGE_WORDS.get(_word(ctx))
    if lang in (WELSH, ENGLISH):
        if ctx.supporter.language != lang or not ctx.supporter.language_stated:
            supporters.update(ctx.tx, ctx.supporter, language=lang)
        await language_chosen(ctx)
    elif _skipped(ctx):
        await language_chosen(ctx)
    else:
        ctx.miss()
        _ask_language(ctx)


async def language_chosen(ctx: Context) -> None:
    """The supporter's language is set: say so in it, and carry on to the interests."""
    ctx.conversation.data["language_chosen"] = True
    ctx.goto("interests")
    ask = ctx.t(f"signup.ask_interests.{_channel(ctx)}")
    ctx.reply(f"{ctx.t('language.chosen')}\n{ask}", _interest_choices(ctx), multi=True)


def _interest_choices(ctx: Context) -> tuple[Choice, ...]:
    telegram = ctx.channel == "telegram"
    picked = frozenset(ctx.conversation.data.get("interests", ())) if telegram else frozenset()
    language = ctx.supporter.language
    return _choices(tuple(interests.configured(ctx)), language, translations(language), telegram, picked)


@lru_cache(maxsize=512)
def _choices(topics: tuple[str, ...], language: str, catalogue: object, telegram: bool,
             picked: frozenset[str]) -> tuple[Choice, ...]:
    """The interest buttons (or numbered lines), the same for everyone with the same picks in the
    same catalogue: made once."""
    choices = [Choice(f"su:i:{n}", ("✅ " if key in picked else "") + interests.label_in(language, key))
               for n, key in enumerate(topics)]
    if telegram:  # buttons toggle; Done moves on
        choices.append(Choice("su:done", t("signup.done", language)))
    return tuple(choices)


def _ask_interests(ctx: Context, before: str = "") -> None:
    ask = ctx.t(f"signup.ask_interests.{_channel(ctx)}")
    ctx.reply(f"{before}\n{ask}" if before else ask, _interest_choices(ctx), multi=True)


def _topic(ctx: Context, key: str) -> str | None:
    configured = interests.configured(ctx)
    if key.startswith("su:i:") and key[5:].isdigit() and int(key[5:]) < len(configured):
        return configured[int(key[5:])]
    return None


async def interests_step(ctx: Context) -> None:
    data = ctx.conversation.data
    topics = [t for t in (_topic(ctx, k) for k in ctx.picked) if t]
    pressed = ctx.inbound.choice is not None
    if pressed and len(ctx.picked) == 1 and topics:  # one button: toggle it and show the list again
        chosen = data.setdefault("interests", [])
        chosen.remove(topics[0]) if topics[0] in chosen else chosen.append(topics[0])
        ctx.reply(ctx.t(f"signup.ask_interests.{_channel(ctx)}"), _interest_choices(ctx), multi=True)
        return
    if pressed and "su:done" in ctx.picked:
        topics = list(data.get("interests", []))
    elif topics:
        pass  # numbers typed ("1 3"), or several buttons at once
    elif _skipped(ctx):
        if data.get("update"):  # updating: SKIP keeps what they chose before
            ctx.goto("email")
            ctx.say("signup.ask_email", movement=ctx.settings.movement)
            return
        topics = []
    else:
        topics = interests.by_words(ctx, ctx.text) if not pressed else []
        if not topics:
            _miss(ctx, f"signup.bad_interests.{_channel(ctx)}", _interest_choices(ctx), multi=True)
            return
    interest_store.replace(ctx.tx, ctx.supporter.id, topics)
    data.pop("interests", None)
    ctx.goto("email")
    ctx.say("signup.ask_email", movement=ctx.settings.movement)


async def email_step(ctx: Context) -> None:
    if not _skipped(ctx):
        text = ctx.text.strip()
        try:
            if ctx.choice is not None or " " in text or len(text) > 254:
                raise EmailNotValidError("not an address")
            address = validate_email(text, check_deliverability=False).normalized
        except (EmailNotValidError, ValueError, UnicodeError):
            _miss(ctx, "signup.bad_email")
            return
        supporters.update(ctx.tx, ctx.supporter, email=address)
    if ctx.conversation.data.get("update") and ctx.supporter.consent(ctx.channel) == "opted_in":
        await _complete(ctx, consented=True)
        return
    ctx.goto("consent")
    ctx.conversation.data["wording"] = consent_wording(ctx.supporter.language, f"signup.consent.{_channel(ctx)}")
    ctx.reply(ctx.t(f"signup.consent.{_channel(ctx)}", movement=ctx.settings.movement), _yes_no(ctx))


def consent_wording(lang: str, key: str) -> str:
    """The version of the consent question's words as shown in `lang`: the English version when
    that language's catalogue has no wording of its own for it (the English words were shown)."""
    if lang in CONSENT_WORDINGS and (lang == DEFAULT_LANGUAGE or template(key, lang) != en.TEXTS[key]):
        return CONSENT_WORDINGS[lang]
    return CONSENT_WORDING


def _yes_no(ctx: Context) -> list[Choice]:
    return [Choice("su:yes", ctx.t("signup.yes")), Choice("su:no", ctx.t("signup.no"))]


async def consent_step(ctx: Context) -> None:
    word = _word(ctx) if ctx.choice is None else ""
    if ctx.choice == "su:yes" or answers.is_yes(word):
        if ctx.supporter.consent(ctx.channel) != "opted_in":
            # The words they saw: asked before the version was kept with the question, the English.
            wording = ctx.conversation.data.get("wording") or CONSENT_WORDING
            consent_log.record(ctx.tx, ctx.supporter, ctx.channel, "opt_in", "flow", ctx.now, wording)
            privacy.rejoined(ctx)
        await _complete(ctx, consented=True)
    elif ctx.choice == "su:no" or answers.is_no(word):
        await _complete(ctx, consented=False)
    else:
        _miss(ctx, "signup.bad_consent", _yes_no(ctx))


# -- the end ----------------------------------------------------------------------
async def _complete(ctx: Context, consented: bool) -> None:
    person, data = ctx.supporter, dict(ctx.conversation.data)
    ctx.finish()
    name = person.first_name or ctx.t("signup.friend")
    if data.get("update"):
        ctx.say("signup.updated", name=name)
        return
    if person.status != "active":
        supporters.update(ctx.tx, person, status="active")
    if data.get("ref"):
        await referrals.credit(ctx, data["ref"])
    lines = [ctx.t("signup.welcome", name=name, movement=ctx.settings.movement)]
    group_name = data.get("group_name")
    if group_name is None and person.group_id is not None:
        group = await groups.get(ctx.tx, person.group_id)
        group_name = group.name if group else None
    if group_name:
        lines.append(ctx.t("signup.welcome_group", group=group_name))
    elif data.get("no_group"):
        lines.append(ctx.t("signup.welcome_no_group"))
    elif not person.postcode:
        lines.append(ctx.t("signup.welcome_no_postcode"))
    upcoming = await event_store.upcoming(ctx.tx, ctx.now, person.group_id, limit=1)
    if upcoming:
        lines.append(ctx.t("signup.welcome_event", event=events.label(upcoming[0], person.language)))
    if not consented:
        lines.append(ctx.t("signup.welcome_consent_no"))
    code = await referrals.code_for(ctx)
    lines.append(ctx.t("signup.welcome_referral", link=referrals.link_for(ctx, code)))
    lines.append(ctx.t("signup.welcome_menu"))
    # On Telegram, offer to share a phone number (links an SMS record to this account).
    ctx.reply("\n".join(lines), request_contact=ctx.channel == "telegram" and not person.phone)


# -- what the steps are about to read (flows.core.routes.Flow.ahead) ---------------------------------
def _postcode(ctx: Context) -> postcodes.Postcode | None:
    """The postcode typed, parsed once for the step and its read-ahead."""
    if "postcode" not in ctx.ahead:
        ctx.ahead["postcode"] = postcodes.parse(ctx.text) if ctx.choice is None else None
    found: postcodes.Postcode | None = ctx.ahead["postcode"]
    return found


def _postcode_ahead(ctx: Context) -> list[Awaitable[Any]]:
    found = _postcode(ctx)
    return [groups.covering(ctx.tx, [found.outward, found.area])] if found else []


def _consent_ahead(ctx: Context) -> list[Awaitable[Any]]:
    """An answer completes the sign-up (_complete): its welcome reads the events to come and gives
    out a referral code."""
    word = _word(ctx) if ctx.choice is None else ""
    if not (ctx.choice in ("su:yes", "su:no") or answers.is_yes(word) or answers.is_no(word)):
        return []
    if ctx.conversation.data.get("update"):
        return []
    return [event_store.upcoming(ctx.tx, ctx.now, ctx.supporter.group_id, limit=1), *referrals.code_ahead(ctx)]


AHEAD = {"postcode": _postcode_ahead, "consent": _consent_ahead}

STEPS = {
    "name": name_step,
    "postcode": postcode_step,
    "language": language_step,
    "interests": interests_step,
    "email": email_step,
    "consent": consent_step,
}
