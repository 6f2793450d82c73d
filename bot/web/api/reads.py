"""The read-only OSDI routes (scope 'read'): the entry point, people, events, their attendances,
tags and the people holding each. Every answer is audited: which collection or item, which page."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.api import hal
from bot.web.api.base import CURIES, MAX_PER_PAGE, Api, BadInput, Call, Paging, bad_input, error, guarded
from bot.web.api.base import hal as answer
from bot.web.api.base import paging as paging_of
from flows.organiser import api_tokens
from flows.supporter.interests import label_in
from storage import osdi
from storage.db import Tx
from storage.osdi import Page

Reader = Callable[[Request, Call, Tx], Awaitable[tuple[dict[str, Any], str, str | None]]]


def routes(api: Api) -> list[BaseRoute]:
    configured = api.settings.flow_settings().interests

    def reading(action: str, read: Reader) -> Callable[[Request], Awaitable[Response]]:
        """A read route: `read` answers (body, what was read, target) in the transaction that audits it."""
        async def handler(request: Request, call: Call) -> Response:
            try:
                async with api.transaction() as tx:
                    body, detail, target = await read(request, call, tx)
                    api_tokens.called(tx, call.token, call.origin, api.now(), action, target=target, detail=detail)
            except BadInput as exc:
                return bad_input(exc)
            except LookupError as exc:
                return error(404, str(exc), code="NOT_FOUND")
            return answer(body)

        return guarded(api, "read", handler)

    def number(request: Request, name: str) -> int:
        raw = request.path_params[name]
        if not raw.isdigit() or len(raw) > 15:
            raise LookupError(f"There is no such {name.removesuffix('_id')} ({raw!r} is not a number of ours).")
        return int(raw)

    async def entry(request: Request, call: Call) -> Response:
        async with api.transaction() as tx:
            api_tokens.called(tx, call.token, call.origin, api.now(), "api.entry")
        return answer({
            "motd": f"{api.settings.movement}: the OSDI API of Muster. Described at /api/openapi.json.",
            "vendor_name": "Muster", "product_name": "Muster", "osdi_version": "1.1", "max_pagesize": MAX_PER_PAGE,
            "namespace": "muster",
            "_links": {"curies": CURIES, "self": {"href": call.url("/")},
                       "osdi:people": {"href": call.url("/people"), "title": "The supporters (scope read)"},
                       "osdi:events": {"href": call.url("/events"), "title": "Published and cancelled events"},
                       "osdi:tags": {"href": call.url("/tags"), "title": "The interests supporters chose"},
                       "osdi:person_signup_helper": {"href": call.url("/people/person_signup_helper"),
                                                     "title": "Sign someone up (scope signup; double opt-in)"},
                       "docs": {"href": f"{call.base}/api/openapi.json", "title": "OpenAPI description"}},
        })

    async def people(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        pages = paging_of(request, (int,))
        rows, has_prev, has_next = hal.window(await osdi.people(tx, pages.page, pages.per_page + 1), pages)
        body = hal.collection(call, "osdi:people", "/people", rows, lambda p: hal.person(call, p), lambda p: (p.id,),
                              pages, has_prev, has_next, await osdi.count_people(tx))
        return body, _counted(body["page"], len(rows), "person", "people"), "people"

    async def person(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        supporter_id = number(request, "person_id")
        found = await osdi.person(tx, supporter_id)
        if found is None:
            raise LookupError(f"There is no person {supporter_id}.")
        return hal.person(call, found), "read", f"supporter:{supporter_id}"

    async def events(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        pages = paging_of(request, (str, int))
        upcoming = request.query_params.get("upcoming", "")
        if upcoming not in ("", "true", "false", "1", "0"):
            raise BadInput("upcoming should be true (only events still to end) or false.", "upcoming")
        since = api.now() if upcoming in ("true", "1") else None
        found = await osdi.events(tx, pages.page, pages.per_page + 1, since)
        rows, has_prev, has_next = hal.window(found, pages)
        body = hal.collection(call, "osdi:events", "/events", rows, lambda e: hal.event(call, e, browser_url(e)),
                              lambda e: (e.starts_at, e.id), pages, has_prev, has_next,
                              await osdi.count_events(tx, since), {"upcoming": "true"} if since else None)
        return body, _counted(body["page"], len(rows), "event", "events"), "events"

    def browser_url(e: osdi.Event) -> str | None:
        """The event's public page, where the web pages serve one (None: no page to link to)."""
        return api.event_page(e.public_id) if api.event_page else None

    async def event(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        event_id = number(request, "event_id")
        found = await osdi.event(tx, event_id)
        if found is None:
            raise LookupError(f"There is no published or cancelled event {event_id}.")
        return hal.event(call, found, browser_url(found)), "read", f"event:{event_id}"

    async def attendances(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        event_id = number(request, "event_id")
        if await osdi.event(tx, event_id) is None:
            raise LookupError(f"There is no published or cancelled event {event_id}.")
        pages = paging_of(request, (int,))
        found = await osdi.attendances(tx, event_id, pages.page, pages.per_page + 1)
        rows, has_prev, has_next = hal.window(found, pages)
        body = hal.collection(call, "osdi:attendances", f"/events/{event_id}/attendances", rows,
                              lambda a: hal.attendance(call, a), lambda a: (a.supporter_id,), pages, has_prev,
                              has_next, await osdi.count_attendances(tx, event_id))
        return body, _counted(body["page"], len(rows), "attendance", "attendances"), f"event:{event_id}"

    async def attendance(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        event_id, supporter_id = number(request, "event_id"), number(request, "person_id")
        found = await osdi.attendance(tx, event_id, supporter_id) if await osdi.event(tx, event_id) else None
        if found is None:
            raise LookupError(f"Person {supporter_id} has no RSVP to event {event_id}.")
        return hal.attendance(call, found), "read", f"event:{event_id}/supporter:{supporter_id}"

    def offered(key: str) -> str:
        if key not in configured:
            raise LookupError(f"There is no tag {key!r}: /api/v1/tags lists the ones offered.")
        return key

    async def tags(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        counts = await osdi.tag_counts(tx, configured)  # a handful, configured: one page holds them all
        body = hal.collection(call, "osdi:tags", "/tags", list(configured),
                              lambda k: hal.tag(call, k, label_in("en", k), counts.get(k, 0)), lambda k: (k,),
                              Paging(max(1, len(configured)), 1, Page()), False, False, len(configured))
        return body, _counted(1, len(configured), "tag", "tags"), "tags"

    async def tag(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        key = offered(request.path_params["tag"])
        counts = await osdi.tag_counts(tx, [key])
        return hal.tag(call, key, label_in("en", key), counts.get(key, 0)), "read", f"tag:{key}"

    async def taggings(request: Request, call: Call, tx: Tx) -> tuple[dict[str, Any], str, str | None]:
        key = offered(request.path_params["tag"])
        pages = paging_of(request, (int,))
        rows, has_prev, has_next = hal.window(await osdi.tagged(tx, key, pages.page, pages.per_page + 1), pages)
        body = hal.collection(call, "osdi:taggings", f"/tags/{key}/taggings", rows,
                              lambda sid: hal.tagging(call, key, sid), lambda sid: (sid,), pages, has_prev, has_next,
                              await osdi.count_tagged(tx, key))
        return body, _counted(body["page"], len(rows), "tagging", "taggings"), f"tag:{key}"

    return [
        Route("/v1/", guarded(api, "any", entry), methods=["GET"]),
        Route("/v1/people", reading("api.people", people), methods=["GET"]),
        Route("/v1/people/{person_id}", reading("api.person", person), methods=["GET"]),
        Route("/v1/events", reading("api.events", events), methods=["GET"]),
        Route("/v1/events/{event_id}", reading("api.event", event), methods=["GET"]),
        Route("/v1/events/{event_id}/attendances", reading("api.attendances", attendances), methods=["GET"]),
        Route("/v1/events/{event_id}/attendances/{person_id}", reading("api.attendance", attendance),
              methods=["GET"]),
        Route("/v1/tags", reading("api.tags", tags), methods=["GET"]),
        Route("/v1/tags/{tag}", reading("api.tag", tag), methods=["GET"]),
        Route("/v1/tags/{tag}/taggings", reading("api.taggings", taggings), methods=["GET"]),
    ]


def _counted(page: int, n: int, one: str, many: str) -> str:
    """'page 2: 25 people' (what was read, never who)."""
    return f"page {page}: {n} {one if n == 1 else many}"
