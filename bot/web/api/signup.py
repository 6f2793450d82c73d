"""OSDI's Person Signup Helper (scope 'signup'): the movement's website posts what its form took.

    POST /api/v1/people/person_signup_helper   (also POST /api/v1/people, as Action Network has it)
    {"person": {"given_name": "Siân", "phone_numbers": [{"number": "07700900123"}],
                "email_addresses": [{"address": "sian@example.org"}], "postal_addresses": [{"postal_code": "LS6 1AN"}]},
     "muster:consent": {"campaign": true, "wording": "Yes, text me about campaigns and events. Reply STOP to stop."},
     "muster:event_id": 7, "muster:group_id": 3, "muster:referral": "AB12CD"}

Nothing becomes the person's until they answer YES to the confirmation text Muster sends
(flows.supporter.web_signup): their details, campaign consent (source 'api', with the version of
the exact words the form showed), the RSVP and the referral. The answer is 202 Accepted either way
and never says whether the number was known; the same sign-up posted again within the hour sends
nothing new ('pending'). No phone number: no one can be asked to confirm, so nothing is kept
('not_stored'). `add_tags` are not applied: interests can say what someone thinks or lives with,
so they are only ever the person's own answer, given in the chat after they confirm.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.api.base import Api, BadInput, BodyTooLarge, Call, bad_input, guarded, hal, json_body, too_large
from flows.organiser import api_tokens
from flows.supporter import web_signup
from flows.supporter.web_signup import Signup

log = logging.getLogger(__name__)

MAX_TEXT = 254
MAX_WORDING = 2000
# Where a field the double opt-in refused sits in the body that was posted.
PROPERTY = {
    "phone": "person.phone_numbers[0].number", "email": "person.email_addresses[0].address",
    "postcode": "person.postal_addresses[0].postal_code", "first_name": "person.given_name",
    "wording_version": "muster:consent.wording", "group_id": "muster:group_id", "event_id": "muster:event_id",
}
MESSAGES = {
    "sent": "If this number can get our texts, its owner has been asked to confirm by replying YES. Nothing is "
            "kept as theirs, and no campaign message is sent, until they do.",
    "pending": "A confirmation text went to this number within the hour: nothing new was sent. Their YES to it "
               "confirms the sign-up.",
    "not_stored": "No phone number: Muster reaches people by text and Telegram, so no one can be asked to "
                  "confirm, and nothing was kept.",
}


def _text(value: Any, where: str, limit: int = MAX_TEXT) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadInput(f"{where} should be text.", where)
    text = str(value).strip()
    if len(text) > limit:
        raise BadInput(f"{where} is over {limit} characters.", where)
    return text or None


def _primary(person: dict[str, Any], name: str, field: str) -> str | None:
    """The primary (else the first) entry's `field` of one of the person's lists."""
    entries = person.get(name)
    if entries is None:
        return None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadInput(f"person.{name} should be a list of objects, like [{{\"{field}\": …}}].", f"person.{name}")
    if not entries:
        return None
    chosen = next((e for e in entries if e.get("primary") is True), entries[0])
    return _text(chosen.get(field), f"person.{name}[0].{field}")


def _whole(body: dict[str, Any], name: str) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**53:
        raise BadInput(f"{name} should be a whole number (an id of ours).", name)
    return value


def read(body: dict[str, Any]) -> tuple[Signup | None, str | None, list[str]]:
    """The sign-up a body asks for (None: it has no phone number), the consent wording shown (None
    when campaign messages were not ticked), and the tags it asked to add (not applied)."""
    person = body.get("person")
    if not isinstance(person, dict):
        raise BadInput("The body needs a person: {\"person\": {\"phone_numbers\": [{\"number\": …}]}}.", "person")
    consent = body.get("muster:consent", {})
    if not isinstance(consent, dict):
        raise BadInput("muster:consent should be an object: {\"campaign\": true, \"wording\": \"…\"}.",
                       "muster:consent")
    campaign = consent.get("campaign", False)
    if not isinstance(campaign, bool):
        raise BadInput("muster:consent.campaign should be true or false.", "muster:consent.campaign")
    wording = _text(consent.get("wording"), "muster:consent.wording", MAX_WORDING)
    if campaign and not wording:
        raise BadInput("Campaign consent needs the exact words the form showed beside its tick box, in "
                       "muster:consent.wording.", "muster:consent.wording", code="WORDING_MISSING")
    tags = body.get("add_tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise BadInput("add_tags should be a list of tag names.", "add_tags")
    phone = _primary(person, "phone_numbers", "number")
    email = _primary(person, "email_addresses", "address")
    if phone is None and email is None:
        raise BadInput("A person needs a phone number (person.phone_numbers) to be asked to confirm by text.",
                       "person.phone_numbers", code="PHONE_MISSING")
    signup = None if phone is None else Signup(
        phone=phone, source="api", campaign=campaign, first_name=_text(person.get("given_name"), "person.given_name"),
        email=email, postcode=_primary(person, "postal_addresses", "postal_code"),
        group_id=_whole(body, "muster:group_id"), event_id=_whole(body, "muster:event_id"),
        referral=_text(body.get("muster:referral"), "muster:referral", 64))
    return signup, wording if campaign else None, list(tags)


def routes(api: Api) -> list[BaseRoute]:
    settings = api.settings.flow_settings()

    async def signup(request: Request, call: Call) -> Response:
        try:
            asked, wording, tags = read(await json_body(request))
        except BodyTooLarge:
            return too_large()
        except BadInput as exc:
            return bad_input(exc, "osdi:person")
        now = api.now()
        async with api.transaction() as tx:
            if asked is None:
                outcome, refusal = "not_stored", None
            else:
                if wording is not None:
                    asked = replace(asked, wording_version=await web_signup.wording(tx, wording, "api", now))
                done = await web_signup.request(tx, now, settings, asked)
                outcome, refusal = done.outcome, done
            detail = f"{outcome}, campaign {'yes' if asked and asked.campaign else 'no'}" + (
                f", event {asked.event_id}" if asked and asked.event_id else "")
            api_tokens.called(tx, call.token, call.origin, now, "api.signup", detail=detail)
        if outcome == "refused" and refusal is not None:
            field = PROPERTY.get(refusal.field or "", refusal.field or "person")
            reason = (refusal.reason or "that sign-up cannot be taken").rstrip(".")
            return bad_input(BadInput(f"{field}: {reason}.", field), "osdi:person")
        if outcome == "sent":
            api.wake()
        return hal({"muster:signup": {"outcome": outcome, "message": MESSAGES[outcome],
                                      **({"ignored_tags": tags} if tags else {})}}, 202)

    return [Route("/v1/people/person_signup_helper", guarded(api, "signup", signup), methods=["POST"]),
            Route("/v1/people", guarded(api, "signup", signup), methods=["POST"])]
