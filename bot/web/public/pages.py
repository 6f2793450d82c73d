"""The public pages' routes: an event's page with its RSVP form, the listings, the sign-up form.

A form only asks for a confirmation text (flows.supporter.web_signup): the page never says whether
a number is known, never names anyone who RSVPed, and shows a private address only to the browser
whose RSVP was confirmed (a cookie holding the number's salted hash, checked against the
confirmed request). Bad input is a 400 that keeps what was typed and says what to change. Every
page is in the visitor's language (bot.web.public.base.language_of), what its Python says too.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web import i18n
from bot.web.public import views
from bot.web.public.base import Handler, Public, client_address, gettext, localised, ngettext
from flows.supporter import web_signup
from flows.supporter.web_signup import Requested, Signup
from flows.values import phones
from storage import events as event_store
from storage import public_pages as store
from storage import suppression
from storage import web_signups as wordings
from storage.db import Tx
from storage.events import Event

log = logging.getLogger(__name__)

_PUBLIC_ID = re.compile(r"^[a-z0-9]{4,32}$")
RSVP_COOKIE = "muster_rsvp"
FIELDS = ("first_name", "phone", "email", "postcode")
MAX_FIELD = 254
LISTING_CACHE = "public, max-age=60"
# The fields a refusal can be shown beside; anything else is said above the form.
SHOWN_AT = {"first_name", "phone", "email", "postcode"}


def N_(text: str) -> str:
    """A sentence marked for the catalogue, translated later (gettext) when it is shown."""
    return text


# The refusals flows.supporter.web_signup gives, as the pages show them (see _sentence), so that
# the catalogue holds them: one of these is shown in the page's language, any other as it came.
REFUSALS = (
    N_("Give a mobile number, like 07700 900123 or +44 7700 900123."),
    N_("Give a first name in letters, up to 40 characters."),
    N_("Give an email address like name@example.org, or leave it empty."),
    N_("Give a UK postcode like LS6 1AN, or leave it empty."),
    N_("Campaign consent needs the version of the words shown (wording_version)."),
    N_("No such event."),
    N_("This event is no longer taking RSVPs."),
    N_("Please check the form."),
)


def routes(public: Public) -> list[BaseRoute]:
    def campaign_words() -> str:
        """The tick box's words in the page's language (its version is theirs: the words a YES agrees to)."""
        return web_signup.campaign_words(public.settings.movement, i18n.current.get())

    def form_context(values: dict[str, str], errors: dict[str, str] | None = None) -> dict[str, Any]:
        words = campaign_words()
        return {"form": values, "errors": errors or {}, "campaign_words": words,
                "wording": wordings.version_of(words, "web"), "form_page": True}

    def not_found(request: Request, what: str = "event") -> Response:
        if what == "event":
            heading = gettext("No such event")
            message = gettext("We couldn't find that event. It may have been taken down, or the link may be "
                              "missing a character.")
        else:
            heading = gettext("No such local group")
            message = gettext("We couldn't find that local group. It may have been taken down, or the link may be "
                              "missing a character.")
        return public.render(request, "gone.html", 404, heading=heading, message=message)

    async def event_for(tx: Tx, public_id: str) -> Event | None:
        if not _PUBLIC_ID.match(public_id):
            return None
        event = await event_store.by_public_id(tx, public_id)
        return None if event is None or event.status == "draft" else event

    def revealed_hash(request: Request) -> str | None:
        value = request.cookies.get(RSVP_COOKIE, "")
        return value if re.fullmatch(r"[0-9a-f]{64}", value) else None

    # -- an event -------------------------------------------------------------------------
    async def event_page(request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                         status: int = 200, notice: str | None = None) -> Response:
        public_id = request.path_params["public_id"]
        async with public.transaction() as tx:
            event = await event_for(tx, public_id)
            if event is None:
                return not_found(request)
            hashed = revealed_hash(request)
            going = hashed is not None and await store.confirmed_going(tx, hashed, event.id)
            view = await views.event(tx, event, public.now(), public.base_url(request), public.flow_settings,
                                     revealed=going, lang=i18n.current.get())
        if event.status == "cancelled":
            return public.render(request, "cancelled.html", 410, e=view)
        context = form_context(values or _blank(), errors)
        return public.render(request, "event.html", status, e=view, you_going=going, notice=notice, **context)

    async def rsvp(request: Request) -> Response:
        values, honeypot = await _form(request)
        public_id = request.path_params["public_id"]
        async with public.transaction() as tx:
            event = await event_for(tx, public_id)
        if event is None:
            return not_found(request)
        if event.status != "confirmed" or event.start <= public.now():
            return await event_page(request, values, {"form": gettext("This event is no longer taking RSVPs.")}, 400)
        if honeypot:
            return await sent_page(request, Requested("sent"), values, event)
        if (limited := limit(request, values)) is not None:
            page = await event_page(request, values, {"form": limited[1]}, 429)
            page.headers["retry-after"] = limited[0]
            return page
        missing = _missing(values, ("first_name", "phone"))
        if missing:
            return await event_page(request, values, missing, 400)
        result = await ask(request, values, event_id=event.id)
        if isinstance(result, dict):
            return await event_page(request, values, result, 400)
        return await sent_page(request, result, values, event)

    async def sent_page(request: Request, result: Requested, values: dict[str, str], event: Event | None) -> Response:
        phone = phones.normalise(values.get("phone", ""), public.settings.sms_default_region)
        context: dict[str, Any] = {"outcome": result.outcome, "campaign": values.get("campaign") == "1",
                                   "shown_phone": views.masked_phone(phone), "e": None}
        if event is not None:
            async with public.transaction() as tx:
                context["e"] = await views.event(tx, event, public.now(), public.base_url(request),
                                                 public.flow_settings, revealed=False, lang=i18n.current.get())
        response = public.render(request, "sent.html", **context)
        if event is not None and phone:
            hashed = suppression.digest(public.flow_settings.erasure_salt, "phone", phone)
            response.set_cookie(RSVP_COOKIE, hashed, max_age=int(timedelta(days=60).total_seconds()),
                                path=f"/e/{event.public_id}", httponly=True, samesite="lax",
                                secure=public.secure_cookies)
        return response

    def limit(request: Request, values: dict[str, str]) -> tuple[str, str] | None:
        """None within the limits; else (seconds to wait, what to say)."""
        phone = phones.normalise(values.get("phone", ""), public.settings.sms_default_region) or values.get("phone")
        for limiter, key in ((public.per_client, client_address(request)), (public.per_phone, phone or "")):
            if key and not limiter.allow(key):
                wait = limiter.retry_after(key)
                minutes = max(1, round(wait / 60))
                log.info("public form refused: over the rate limit (%s)", "client" if limiter is public.per_client
                         else "number")
                return str(wait), ngettext(
                    "Too many forms sent from here just now. Please try again in %(num)d minute.",
                    "Too many forms sent from here just now. Please try again in %(num)d minutes.", minutes)
        return None

    async def ask(request: Request, values: dict[str, str], **where: Any) -> Requested | dict[str, str]:
        """Send the form to the double opt-in; a dict of refusals (by field) when it would not go."""
        campaign = values.get("campaign") == "1"
        async with public.transaction() as tx:
            now = public.now()
            current = await web_signup.wording(tx, campaign_words(), "web", now)
            if campaign and values.get("wording") != current:
                return {"campaign": gettext("The words beside the tick box have changed since this page was loaded: "
                                            "please read them again, and tick the box if you agree.")}
            result = await web_signup.request(tx, now, public.flow_settings, Signup(
                phone=values.get("phone", ""), source="web", campaign=campaign,
                wording_version=current if campaign else None, first_name=values.get("first_name") or None,
                email=values.get("email") or None, postcode=values.get("postcode") or None,
                referral=values.get("r") or None, language=i18n.current.get(), **where))
        if result.outcome == "refused":
            field = result.field if result.field in SHOWN_AT else "form"
            return {field: gettext(_sentence(result.reason or "please check the form"))}
        if result.outcome == "sent":
            public.wake()
        return result

    # -- listings ------------------------------------------------------------------------------
    async def national(request: Request) -> Response:
        async with public.transaction() as tx:
            found = await store.upcoming(tx, public.now())
            items = await views.listing(tx, found, i18n.current.get())
        return public.render(request, "listing.html", cache=LISTING_CACHE, items=items, group=None,
                             heading=gettext("Upcoming events"))

    async def group_page(request: Request) -> Response:
        async with public.transaction() as tx:
            group = await views.group(tx, request.path_params["group"])
            if group is None:
                return not_found(request, "local group")
            found = await store.upcoming(tx, public.now(), group.id, national=True)
            items = await views.listing(tx, found, i18n.current.get())
        return public.render(request, "listing.html", cache=LISTING_CACHE, items=items, group=group,
                             heading=gettext("Upcoming events: %(group)s", group=group.name))

    # -- sign-up ----------------------------------------------------------------------------------
    async def join_page(request: Request, values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                        status: int = 200) -> Response:
        group = None
        if "group" in request.path_params:
            async with public.transaction() as tx:
                group = await views.group(tx, request.path_params["group"])
            if group is None:
                return not_found(request, "local group")
        values = values or _blank(r=request.query_params.get("r", "")[:32])
        return public.render(request, "join.html", status, group=group, **form_context(values, errors))

    async def join(request: Request) -> Response:
        values, honeypot = await _form(request)
        group = None
        if "group" in request.path_params:
            async with public.transaction() as tx:
                group = await views.group(tx, request.path_params["group"])
            if group is None:
                return not_found(request, "local group")
        if honeypot:
            return await sent_page(request, Requested("sent"), values, None)
        if (limited := limit(request, values)) is not None:
            page = await join_page(request, values, {"form": limited[1]}, 429)
            page.headers["retry-after"] = limited[0]
            return page
        missing = _missing(values, ("first_name", "phone"))
        if missing:
            return await join_page(request, values, missing, 400)
        result = await ask(request, values, group_id=group.id if group else None)
        if isinstance(result, dict):
            return await join_page(request, values, result, 400)
        return await sent_page(request, result, values, None)

    async def stylesheet(request: Request) -> Response:
        return Response(public.css, media_type="text/css", headers={"cache-control": "public, max-age=86400"})

    def page(handler: Handler) -> Handler:
        return localised(public, handler)

    return [
        Route("/e/{public_id}", page(event_page), methods=["GET"]),
        Route("/e/{public_id}", page(rsvp), methods=["POST"]),
        Route("/events", page(national), methods=["GET"]),
        Route("/g/{group}", page(group_page), methods=["GET"]),
        Route("/g/{group}/join", page(join_page), methods=["GET"]),
        Route("/g/{group}/join", page(join), methods=["POST"]),
        Route("/join", page(join_page), methods=["GET"]),
        Route("/join", page(join), methods=["POST"]),
        Route("/static/public.css", stylesheet, methods=["GET"]),
    ]


def _blank(**values: str) -> dict[str, str]:
    return {**{name: "" for name in (*FIELDS, "r", "wording", "campaign")}, **values}


async def _form(request: Request) -> tuple[dict[str, str], bool]:
    """The form's fields as typed (trimmed, cut to a sane length) and whether the honeypot was filled."""
    form = await request.form()
    values = {name: str(form.get(name, "")).strip()[:MAX_FIELD] for name in (*FIELDS, "r", "wording")}
    values["campaign"] = "1" if form.get("campaign") == "1" else ""
    return values, bool(str(form.get("website", "")).strip())


def _missing(values: dict[str, str], required: tuple[str, ...]) -> dict[str, str]:
    said = {"first_name": gettext("Tell us your first name."),
            "phone": gettext("Give your mobile number, so we can text you to confirm.")}
    return {name: said[name] for name in required if not values.get(name)}


def _sentence(reason: str) -> str:
    text = reason.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "."

