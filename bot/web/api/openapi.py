"""The OpenAPI 3.1 description of the API, served at /api/openapi.json, built from one table of
routes (ROUTES) so that a test can hold it to the routes the app really has."""
from __future__ import annotations

from typing import Any

# (method, path, scope, summary, what it answers). Paths as OpenAPI writes them.
ROUTES: list[tuple[str, str, str, str, str]] = [
    ("get", "/api/v1/", "any", "The API entry point", "Links to every collection and the signup helper."),
    ("get", "/api/v1/people", "read", "People, in the order they joined",
     "Supporters (never erased ones), with phone number, email, postcode, consent per channel, local group "
     "and interests (muster:tags)."),
    ("get", "/api/v1/people/{person_id}", "read", "One person", "A supporter, as in the collection."),
    ("post", "/api/v1/people/person_signup_helper", "signup", "Sign someone up (OSDI Person Signup Helper)",
     "Texts the number a confirmation; nothing is theirs until they reply YES (double opt-in). 202 whatever "
     "is known of the number; 'pending' when one was sent within the hour (nothing new is sent)."),
    ("post", "/api/v1/people", "signup", "Sign someone up (the same helper at Action Network's path)",
     "As POST /api/v1/people/person_signup_helper."),
    ("get", "/api/v1/events", "read", "Published and cancelled events, by start time",
     "upcoming=true: only those still to end. An address is given only when it is public."),
    ("get", "/api/v1/events/{event_id}", "read", "One event", "As in the collection."),
    ("get", "/api/v1/events/{event_id}/attendances", "read", "An event's RSVPs",
     "status in OSDI's words (accepted, tentative, declined, needs action) and muster:rsvp in Muster's "
     "(going, maybe, can't go, waitlist); attended once checked in."),
    ("get", "/api/v1/events/{event_id}/attendances/{person_id}", "read", "One RSVP", "As in the collection."),
    ("get", "/api/v1/tags", "read", "The interests offered at sign-up", "Each with how many people hold it."),
    ("get", "/api/v1/tags/{tag}", "read", "One interest", "As in the collection."),
    ("get", "/api/v1/tags/{tag}/taggings", "read", "The people holding an interest", "Links to each person."),
]

_ERROR = {"$ref": "#/components/schemas/Error"}
_PAGED = [
    {"name": "per_page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}},
    {"name": "page_token", "in": "query", "description": "From a next or prev link: pages are keyset, so "
     "follow the links rather than asking for page=N.", "schema": {"type": "string"}},
]
_SIGNUP_BODY = {
    "type": "object", "required": ["person"],
    "properties": {
        "person": {"type": "object", "properties": {
            "given_name": {"type": "string", "maxLength": 40},
            "family_name": {"type": "string", "description": "Accepted and not kept."},
            "phone_numbers": {"type": "array", "items": {"type": "object", "properties": {
                "number": {"type": ["string", "integer"], "description": "07700 900123, +447700900123 or "
                           "447700900123; the primary one (else the first) is used."},
                "primary": {"type": "boolean"}}}},
            "email_addresses": {"type": "array", "items": {"type": "object", "properties": {
                "address": {"type": "string"}, "primary": {"type": "boolean"}}}},
            "postal_addresses": {"type": "array", "items": {"type": "object", "properties": {
                "postal_code": {"type": "string", "description": "A UK postcode: places them in a local group."}}}},
        }},
        "add_tags": {"type": "array", "items": {"type": "string"},
                     "description": "Not applied (echoed as ignored_tags): interests are the person's own answer."},
        "muster:consent": {"type": "object", "properties": {
            "campaign": {"type": "boolean", "default": False,
                         "description": "They ticked the box for campaign messages."},
            "wording": {"type": "string", "maxLength": 2000, "description": "The exact words shown beside that box "
                        "(required when campaign is true); each distinct text is kept once, as a version, and the "
                        "consent record names it."}}},
        "muster:event_id": {"type": "integer", "description": "RSVP (going, or the waitlist when full) on YES."},
        "muster:group_id": {"type": "integer", "description": "Their local group, when the postcode does not say."},
        "muster:referral": {"type": "string", "description": "A supporter's referral code (?r=CODE)."},
    },
}


def _operation(method: str, path: str, scope: str, summary: str, what: str) -> dict[str, Any]:
    parameters = [{"name": p.strip("{}"), "in": "path", "required": True, "schema": {"type": "string"}}
                  for p in path.split("/") if p.startswith("{")]
    collection = method == "get" and not path.endswith("}") and path != "/api/v1/"
    operation: dict[str, Any] = {
        "summary": summary, "description": what,
        "security": [{"OsdiToken": []}, {"Bearer": []}],
        "x-muster-scope": scope,
        "parameters": parameters + (_PAGED if collection and not path.endswith("/tags") else [])
        + ([{"name": "upcoming", "in": "query", "schema": {"type": "boolean"}}] if path == "/api/v1/events" else []),
        "responses": {
            "401": {"description": "No token, not one of ours, or revoked.", "content": {"application/hal+json":
                                                                                          {"schema": _ERROR}}},
            "403": {"description": f"A token of another scope (this needs '{scope}')." if scope != "any"
                    else "Not returned: any live token may read the entry point."},
            "429": {"description": "Over the token's rate; Retry-After says when to try again.",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        },
    }
    if method == "post":
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _SIGNUP_BODY}}}
        operation["responses"] |= {
            "202": {"description": "Accepted: see muster:signup.outcome (sent, pending, not_stored).",
                    "content": {"application/hal+json": {"schema": {"$ref": "#/components/schemas/SignupAnswer"}}}},
            "400": {"description": "What to change, with the property at fault.",
                    "content": {"application/hal+json": {"schema": _ERROR}}},
            "413": {"description": "A body over 16 KiB."},
        }
    else:
        operation["responses"] |= {
            "200": {"description": "HAL+JSON" + (": total_pages, per_page, page, total_records, _links (self, "
                                                  "next, prev) and _embedded." if collection else "."),
                    "content": {"application/hal+json": {"schema": {"type": "object"}}}},
            "400": {"description": "A bad per_page or a damaged page_token.",
                    "content": {"application/hal+json": {"schema": _ERROR}}},
            "404": {"description": "No such item (erased people are never found)."},
        }
    return operation


def document(base: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for method, path, scope, summary, what in ROUTES:
        paths.setdefault(path, {})[method] = _operation(method, path, scope, summary, what)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Muster OSDI API", "version": "1",
                 "description": "OSDI-shaped (HAL+JSON) access for the movement's website and tools. Tokens are "
                                "made by an admin with `muster api-token create --name NAME --scope signup|read`. "
                                "Read answers carry personal data, phone numbers among them: call over https."},
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "OsdiToken": {"type": "apiKey", "in": "header", "name": "OSDI-API-Token"},
                "Bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": {
                "Error": {"type": "object", "properties": {
                    "error": {"type": "string", "description": "What to change, in words."},
                    "osdi:error": {"type": "object", "description": "OSDI's error: request_type, response_code and "
                                   "resource_status[].error_descriptions[] (error_code, description, properties)."}}},
                "SignupAnswer": {"type": "object", "properties": {"muster:signup": {"type": "object", "properties": {
                    "outcome": {"enum": ["sent", "pending", "not_stored"]}, "message": {"type": "string"},
                    "ignored_tags": {"type": "array", "items": {"type": "string"}}}}}},
            },
        },
    }
