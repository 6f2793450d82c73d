"""The console's supporters pages: the search (GET, so a page of results has an address), one
supporter's page, and the changes an organiser may make there (POST forms, audited by the
operations in flows.organiser.people, which decide who may do what).

A supporter beyond the organiser's reach, unknown or erased is a 404, the same page for all three;
a group beyond it is a 403; input that makes no sense is a 400 that says what to change.
"""
from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console import dates
from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext
from flows.organiser import people
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError, SupporterError, UnknownSupporter
from flows.organiser.signin import SignedIn
from flows.values.phones import masked, masked_id
from storage.db import Tx, parse_ts

QUERY_FIELDS = ("q", "group", "interest", "channel", "consent", "language", "joined_from", "joined_to", "sort")
FILTER_FIELDS = ("group", "interest", "channel", "consent", "language", "joined_from", "joined_to")


def match_names() -> dict[str, str]:
    """What the search box was read as, in the reader's language."""
    return {"name": gettext("names starting"), "email": gettext("email addresses"),
            "phone": gettext("phone numbers"), "postcode": gettext("postcodes"),
            "outward": gettext("the postcode district")}


def consent_labels() -> dict[str, str]:
    return {"opted_in": gettext("opted in"), "opted_out": gettext("opted out"), "none": gettext("not asked")}


def source_labels() -> dict[str, str]:
    return {"keyword": gettext("keyword (STOP/START)"), "flow": gettext("sign-up"),
            "carrier": gettext("provider signal"), "import": gettext("import"),
            "organiser": gettext("organiser, on their behalf"),
            "import-opt-out": gettext("opt-out list from another platform")}


def _query(request: Request) -> people.Query:
    p = request.query_params
    return people.Query(
        text=p.get("q", ""), group=p.get("group", ""), interest=p.get("interest", ""),
        channel=p.get("channel", ""), consent=p.get("consent", ""), joined_from=p.get("joined_from", ""),
        joined_to=p.get("joined_to", ""), language=p.get("language", ""), sort=p.get("sort", "") or "newest",
        after=p.get("after", ""),
        after_id=p.get("after_id", ""))


def routes(console: Console) -> list[BaseRoute]:
    zone = ZoneInfo(console.settings.timezone)
    configured = console.settings.flow_settings().interests
    region = console.settings.flow_settings().sms_default_region

    def when(stamp: str | None, with_time: bool = True) -> str:
        """A stored UTC time as the organiser reads it, in the movement's time zone."""
        if not stamp:
            return "–"
        moment = parse_ts(stamp).astimezone(zone)
        return dates.day(moment, with_time)

    def shared(request: Request) -> dict[str, object]:
        return {"when": when, "interest_label": people.interest_label, "channel_names": people.CHANNEL_NAMES,
                "consent_labels": consent_labels(), "masked": masked, "masked_id": masked_id}

    async def listing(request: Request, who: SignedIn) -> Response:
        query = _query(request)
        asked = {k: request.query_params.get(k, "") for k in QUERY_FIELDS}
        error, status, results = None, 200, None
        async with console.transaction() as tx:
            try:
                results = await people.search(tx, who.actor, query, configured, region)
            except ScopeError as exc:
                error, status = why(exc), 403
            except SupporterError as exc:
                error, status = why(exc), 400
            groups = results.groups if results else await people.group_choices(tx, who.actor)
        kept = {k: v for k, v in asked.items() if v}
        first_url = "/console/supporters" + (f"?{urlencode(kept)}" if kept else "")
        next_url = None
        if results and results.next:
            next_url = "/console/supporters?" + urlencode({**kept, "after": results.next.key,
                                                           "after_id": results.next.id})
        return console.render(
            request, "supporters/list.html", status=status, who=who, error=error, results=results, asked=asked,
            groups=groups, national=who.actor.scope() is None, interests=configured, next_url=next_url,
            first_url=first_url, paged=bool(query.after_id), filtered=any(asked[k] for k in FILTER_FIELDS),
            match_names=match_names(), **shared(request))

    async def page(request: Request, who: SignedIn, *, error: str | None = None, status: int = 200) -> Response:
        supporter_id = int(request.path_params["supporter_id"])
        async with console.transaction() as tx:
            try:
                seen = await people.profile(tx, who.actor, supporter_id, configured)
            except UnknownSupporter:
                return missing(request, who)
        return console.render(request, "supporters/page.html", status=status, who=who, error=error, p=seen,
                              source_labels=source_labels(), reason_length=people.REASON_LENGTH, **shared(request))

    def missing(request: Request, who: SignedIn) -> Response:
        return console.render(request, "supporters/missing.html", status=404, who=who)

    async def change(request: Request, who: SignedIn, act: str) -> Response:
        """Run one change from a form; the page again after it (or with what was wrong)."""
        supporter_id = int(request.path_params["supporter_id"])
        form = await request.form()
        values = {k: v for k, v in form.items() if isinstance(v, str)}
        actor, now = who.actor, console.now()
        try:
            async with console.transaction() as tx:
                done = await _act(tx, actor, act, supporter_id, values, now)
        except UnknownSupporter:
            return missing(request, who)
        except ScopeError as exc:
            return await page(request, who, error=why(exc), status=403)
        except SupporterError as exc:
            return await page(request, who, error=why(exc), status=400)
        return back(f"/console/supporters/{supporter_id}", done=done)

    async def _act(tx: Tx, actor: Actor, act: str, supporter_id: int, values: dict[str, str], now: datetime) -> str:
        if act == "group":
            raw = values.get("group", "")
            if raw != "none" and not raw.isdigit():
                raise SupporterError(gettext("Choose a group from the list."))
            name = await people.move(tx, actor, supporter_id, None if raw == "none" else int(raw), now)
            return gettext("Moved to %(group)s.", group=name) if name else gettext("Taken out of every local group.")
        if act == "interests":
            interest = values.get("interest", "")
            label = people.interest_label(interest)
            if values.get("action") == "remove":
                removed = await people.remove_interest(tx, actor, supporter_id, interest, now)
                return (gettext("Removed: %(interest)s.", interest=label) if removed
                        else gettext("They did not have that interest."))
            added = await people.add_interest(tx, actor, supporter_id, interest, configured, now)
            return (gettext("Added: %(interest)s.", interest=label) if added
                    else gettext("They had that interest already."))
        if act == "language":
            changed = await people.set_language(tx, actor, supporter_id, values.get("language", ""), now)
            return gettext("Language saved.") if changed else gettext("That was their language already.")
        assert act == "opt-out"
        channel = values.get("channel", "")
        await people.opt_out(tx, actor, supporter_id, channel, values.get("reason", ""), now)
        return gettext("Opted out of %(channel)s on their behalf.", channel=people.CHANNEL_NAMES[channel])

    def form_route(act: str) -> Route:
        async def handler(request: Request, who: SignedIn) -> Response:
            return await change(request, who, act)
        return Route(f"/supporters/{{supporter_id:int}}/{act}", signed_in(console, handler), methods=["POST"])

    async def show(request: Request, who: SignedIn) -> Response:
        return await page(request, who)

    return [
        Route("/supporters", signed_in(console, listing), methods=["GET"]),
        Route("/supporters/{supporter_id:int}", signed_in(console, show), methods=["GET"]),
        form_route("group"), form_route("interests"), form_route("opt-out"), form_route("language"),
    ]
