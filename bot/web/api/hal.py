"""Muster's people, events, attendances and tags in OSDI's HAL+JSON shape.

Identifiers are `muster:<kind>-<id>` (person-42, event-7, attendance-7-42, tag-housing), so a tool
keeping every kind in one table never mixes them. Times are UTC, to the second ('…Z'). Fields OSDI
has no name for are Muster's own, prefixed `muster:`; `family_name` is the last name an import kept.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urlencode

from bot.web.api.base import CURIES, Call, Paging, page_token
from storage.osdi import Attendance, Event, Person

T = TypeVar("T")

# RSVP answers in OSDI's words, and in Muster's own (the one vocabulary every front uses).
ATTENDANCE_STATUS = {"going": "accepted", "maybe": "tentative", "declined": "declined", "waitlisted": "needs action"}
RSVP_WORDS = {"going": "going", "maybe": "maybe", "declined": "can't go", "waitlisted": "waitlist"}
CONSENT_WORDS = {"opted_in": "opted_in", "opted_out": "opted_out", "none": "not_asked"}


def when(stamp: str | None) -> str | None:
    """'2026-03-31T14:05:09.123456Z' → '2026-03-31T14:05:09Z'."""
    return f"{stamp[:19]}Z" if stamp else None


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def person_url(call: Call, supporter_id: int) -> str:
    return call.url(f"/people/{supporter_id}")


def event_url(call: Call, event_id: int) -> str:
    return call.url(f"/events/{event_id}")


def person(call: Call, p: Person) -> dict[str, Any]:
    """A person, with their phone number (personal data: only read tokens are ever answered with one)."""
    consent = {"sms": CONSENT_WORDS[p.sms_consent]} if p.phone else {}
    if p.on_telegram:
        consent["telegram"] = CONSENT_WORDS[p.telegram_consent]
    modified = max(p.created_at, p.consent_changed_at or "")
    return _drop_none({
        "identifiers": [f"muster:person-{p.id}"],
        "origin_system": "Muster",
        "created_date": when(p.created_at),
        "modified_date": when(modified),
        "given_name": p.first_name,
        "family_name": p.last_name,
        "languages_spoken": [p.language],
        "email_addresses": [{"address": p.email, "primary": True}] if p.email else [],
        "phone_numbers": [{
            "number": p.phone.lstrip("+"), "primary": True, "number_type": "Mobile", "sms_capable": True,
            "status": "subscribed" if p.sms_consent == "opted_in" else "unsubscribed",
        }] if p.phone else [],
        "postal_addresses": [{"primary": True, "postal_code": p.postcode, "country": "GB"}] if p.postcode else [],
        "muster:status": p.status,
        "muster:consent": consent,
        "muster:group": {"id": p.group_id, "name": p.group_name} if p.group_id is not None else None,
        "muster:tags": list(p.tags),
        "_links": {"self": {"href": person_url(call, p.id)}},
    })


def event(call: Call, e: Event, browser_url: str | None) -> dict[str, Any]:
    """An event. Its address is given only when it is public (otherwise those going are told it),
    and then only its outward code ('M1') as `muster:area`."""
    location: dict[str, Any] = {"country": "GB"}
    if e.address_public:
        location |= _drop_none({"venue": e.venue, "address_lines": [e.address] if e.address else None,
                                "postal_code": e.postcode})
    elif e.postcode:
        location["muster:area"] = e.postcode.split(" ")[0]
    return _drop_none({
        "identifiers": [f"muster:event-{e.id}"],
        "origin_system": "Muster",
        "created_date": when(e.created_at),
        "modified_date": when(e.updated_at),
        "name": e.title,
        "title": e.title,
        "description": e.description,
        "instructions": e.instructions,
        "browser_url": browser_url,
        "type": "open",
        "status": e.status,
        "start_date": when(e.starts_at),
        "end_date": when(e.ends_at),
        "capacity": e.capacity,
        "total_accepted": e.going,
        "visibility": "public",
        "location": location,
        "muster:timezone": e.timezone,
        "muster:online": e.online,
        "muster:calendar_url": f"{call.base}/events/{e.public_id}.ics",
        "muster:group": {"id": e.group_id, "name": e.group_name} if e.group_id is not None else None,
        "_links": {"self": {"href": event_url(call, e.id)},
                   "osdi:attendances": {"href": call.url(f"/events/{e.id}/attendances")}},
    })


def attendance(call: Call, a: Attendance) -> dict[str, Any]:
    return _drop_none({
        "identifiers": [f"muster:attendance-{a.event_id}-{a.supporter_id}"],
        "origin_system": "Muster",
        "created_date": when(a.created_at),
        "modified_date": when(a.updated_at),
        "action_date": when(a.created_at),
        "status": ATTENDANCE_STATUS[a.status],
        "attended": None if a.attended is None else bool(a.attended),
        "muster:rsvp": RSVP_WORDS[a.status],
        "_links": {"self": {"href": call.url(f"/events/{a.event_id}/attendances/{a.supporter_id}")},
                   "osdi:event": {"href": event_url(call, a.event_id)},
                   "osdi:person": {"href": person_url(call, a.supporter_id)}},
    })


def tag(call: Call, key: str, label: str, people: int) -> dict[str, Any]:
    return {
        "identifiers": [f"muster:tag-{key}"],
        "origin_system": "Muster",
        "name": key,
        "description": label,
        "muster:people": people,
        "_links": {"self": {"href": call.url(f"/tags/{key}")},
                   "osdi:taggings": {"href": call.url(f"/tags/{key}/taggings")}},
    }


def tagging(call: Call, key: str, supporter_id: int) -> dict[str, Any]:
    return {
        "identifiers": [f"muster:tagging-{key}-{supporter_id}"],
        "origin_system": "Muster",
        "_links": {"osdi:tag": {"href": call.url(f"/tags/{key}")},
                   "osdi:person": {"href": person_url(call, supporter_id)}},
    }


def window(rows: list[T], paging: Paging) -> tuple[list[T], bool, bool]:
    """A page's rows from the one extra read past its end, and whether a page comes before and after."""
    n = paging.per_page
    if paging.page.before is not None:
        return rows[-n:], len(rows) > n, True
    return rows[:n], paging.page.after is not None, len(rows) > n


def collection(call: Call, rel: str, path: str, items: Sequence[T], render: Callable[[T], dict[str, Any]],
               key: Callable[[T], tuple[Any, ...]], paging: Paging, has_prev: bool, has_next: bool, total: int,
               query: dict[str, str] | None = None) -> dict[str, Any]:
    """A collection page: OSDI's page figures, self/next/prev links (page tokens over a keyset)
    and a link to each item, with the items embedded under `rel` ('osdi:people')."""
    number = paging.number if has_prev else 1
    base = {**(query or {}), **({"per_page": str(paging.per_page)} if paging.per_page != 25 else {})}

    def link(extra: dict[str, str]) -> dict[str, str]:
        args = {**base, **extra}
        return {"href": call.url(path) + (f"?{urlencode(args)}" if args else "")}

    rendered = [render(item) for item in items]
    links: dict[str, Any] = {"self": link({"page_token": paging.token} if paging.token else {})}
    if has_next and items:
        links["next"] = link({"page_token": page_token("a", key(items[-1]), number + 1)})
    if has_prev and items:
        links["prev"] = link({"page_token": page_token("b", key(items[0]), max(1, number - 1))})
    links[rel] = [r["_links"]["self"] if "self" in r["_links"] else r["_links"]["osdi:person"] for r in rendered]
    links["curies"] = CURIES
    return {
        "total_pages": max(1, math.ceil(total / paging.per_page)),
        "per_page": paging.per_page,
        "page": number,
        "total_records": total,
        "_links": links,
        "_embedded": {rel: rendered},
    }
