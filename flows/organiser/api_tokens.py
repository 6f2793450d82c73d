"""API tokens: made, listed and revoked by an admin; checked on every API call, which is audited.

A token is `mst_` and 43 random URL-safe characters (32 bytes from `secrets`). It is shown once,
when it is made; the database keeps only its SHA-256, so a copy of the database lets no one call
the API. Each token has one scope: 'signup' may only post sign-ups (the website's form), 'read'
may only read people, events, attendances and tags (a tool that syncs them). A token is an admin's
integration: it reaches every supporter (never an erased one), as an admin would. Each has its own
rate (calls a minute), and every call it makes is in the audit log as 'api:<name>'.
"""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from flows.organiser import audit
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from storage import api_tokens as store
from storage.api_tokens import SCOPES, Token
from storage.db import Tx

PREFIX = "mst_"
# The token as presented: the prefix and 43 URL-safe characters (anything else is not ours).
_SHAPE = re.compile(r"^mst_[A-Za-z0-9_-]{43}$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,39}$")
DEFAULT_PER_MINUTE = {"signup": 60, "read": 120}
MAX_PER_MINUTE = 6000


class ApiTokenError(ValueError):
    """A token cannot be made or revoked as asked: the message says why."""


@dataclass(frozen=True)
class Made:
    token: Token
    secret: str  # the token itself: shown once, never stored


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ScopeError("Only an admin can make, list or revoke API tokens.")


async def create(tx: Tx, actor: Actor, name: str, scope: str, now: datetime,
                 per_minute: int | None = None) -> Made:
    """A new token for an integration; the secret in the answer is the only copy there will be."""
    _admin(actor)
    if not _NAME.match(name):
        raise ApiTokenError("The name should be 1 to 40 lower-case letters, digits, '.', '_' or '-', "
                            "starting with a letter or digit (e.g. 'website').")
    if scope not in SCOPES:
        raise ApiTokenError(f"The scope is one of {' or '.join(SCOPES)}, not {scope!r}.")
    rate = DEFAULT_PER_MINUTE[scope] if per_minute is None else per_minute
    if not 1 <= rate <= MAX_PER_MINUTE:
        raise ApiTokenError(f"Calls a minute should be between 1 and {MAX_PER_MINUTE:,}.")
    if await store.live_named(tx, name) is not None:
        raise ApiTokenError(f"A live token is called {name!r} already: revoke it first, or choose another name.")
    secret = PREFIX + secrets.token_urlsafe(32)
    token = await store.create(tx, name, scope, digest(secret), rate, actor.label, now)
    audit.note(tx, actor, now, "api_token.create", target=f"api_token:{token.id}",
               detail=f"{name}, scope {scope}, {rate} a minute")
    return Made(token, secret)


async def listing(tx: Tx, actor: Actor, include_revoked: bool = False) -> list[Token]:
    _admin(actor)
    return await store.listing(tx, include_revoked)


async def revoke(tx: Tx, actor: Actor, token_id: int, now: datetime) -> Token:
    """Revoke a token at once: its next call is refused (401)."""
    _admin(actor)
    token = await store.get(tx, token_id)
    if token is None:
        raise ApiTokenError(f"There is no API token #{token_id} (see `muster api-token list`).")
    if not token.live:
        when = (token.revoked_at or "")[:16].replace("T", " ")
        raise ApiTokenError(f"API token #{token_id} ({token.name}) was revoked already, at {when} UTC.")
    store.revoke(tx, token.id, now)
    audit.note(tx, actor, now, "api_token.revoke", target=f"api_token:{token.id}", detail=token.name)
    return token


# -- on each call --------------------------------------------------------------------------------
def well_formed(presented: str) -> bool:
    """Whether a presented token has our shape at all (a malformed one is not looked up)."""
    return bool(_SHAPE.match(presented))


async def find(tx: Tx, presented: str) -> Token | None:
    """The token presented, live or revoked; None when it is none of ours."""
    if not well_formed(presented):
        return None
    return await store.by_hash(tx, digest(presented))


def actor_of(token: Token, origin: str | None) -> Actor:
    """Who an API call is, to the audit log: 'api:<name>' from the client's address."""
    return Actor(label=f"api:{token.name}", origin=origin)


def check(token: Token, scope: str) -> None:
    """May this token make a call of this scope? ScopeError if not (a revoked one is refused by
    the caller first, as unauthenticated)."""
    if token.scope != scope:
        raise ScopeError(f"This token's scope is {token.scope!r}; this call needs a {scope!r} token.")


def refused(tx: Tx, token: Token, origin: str | None, now: datetime, why: str, target: str | None = None) -> None:
    """Record a refused call of a known token (revoked, out of scope, over its rate)."""
    audit.note(tx, actor_of(token, origin), now, "api.refused", target=target, detail=why)


def called(tx: Tx, token: Token, origin: str | None, now: datetime, action: str, *, target: str | None = None,
           detail: str | None = None) -> None:
    """Record a call that was answered, and when the token was last used."""
    audit.note(tx, actor_of(token, origin), now, action, target=target, detail=detail)
    store.used(tx, token.id, now)
