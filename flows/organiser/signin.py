"""Signing organisers in without passwords: a one-time link (and a short code) sent through the bot,
and sessions that end by signing out, by revocation, when the role goes, or with time.

The link and the code go to the organiser over their own channel, through the outbox like any
message. Roles are read from the database on every request, never kept in the session: removing
an organiser's role ends their sessions at once.
"""
from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.core.texts import DEFAULT_LANGUAGE, plural, t
from flows.core.types import Reply
from flows.organiser import audit
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from flows.values import phones
from storage import console_sessions as store
from storage import organisers, outbox, supporters
from storage.console_sessions import Session
from storage.db import Tx, parse_ts
from storage.organisers import Role

LINK_LIFETIME = timedelta(minutes=10)
IDLE_LIMIT = timedelta(hours=8)
SESSION_LIFETIME = timedelta(days=30)
CODE_ATTEMPTS = 5  # wrong codes before the link is spent
TOUCH_EVERY = timedelta(minutes=1)  # how stale last_seen_at may get before a request writes it


@dataclass(frozen=True)
class Identity:
    """Who signs in: the channel and address an organiser's role is recorded under."""
    channel: str
    address: str

    def lookup(self) -> tuple[str | None, int | None]:
        """(phone, telegram_id) as the organisers table keys them."""
        if self.channel == "sms":
            return self.address, None
        return None, int(self.address)


def parse_identity(raw: str, region: str = "GB") -> Identity | None:
    """A phone number (with + or a leading 0) is SMS; other plain digits are a Telegram user id."""
    text = raw.strip().replace(" ", "")
    if not text:
        return None
    if text.startswith(("+", "0")):
        phone = phones.normalise(text, region)
        return Identity("sms", phone) if phone else None
    if text.isdigit() and 0 < int(text) < 10**15:
        return Identity("telegram", str(int(text)))
    return None


@dataclass(frozen=True)
class SignedIn:
    """A live session and the roles its organiser holds right now (and, for the audit log, the
    address the request came from)."""
    session: Session
    roles: tuple[Role, ...]
    origin: str | None = None

    @property
    def identity(self) -> Identity:
        return Identity(self.session.channel, self.session.address)

    @property
    def actor(self) -> Actor:
        return web_actor(self.roles, self.identity, self.origin)


def web_actor(roles: tuple[Role, ...], identity: Identity, origin: str | None = None) -> Actor:
    """The organiser acting through the web console: labelled by their first role's id, never their address."""
    label = f"web:organiser:{min(r.id for r in roles)}" if roles else "web:organiser:none"
    return Actor(roles=roles, label=label, notify_channel=identity.channel, notify_address=identity.address,
                 origin=origin)


async def roles_of(tx: Tx, identity: Identity) -> list[Role]:
    phone, telegram_id = identity.lookup()
    return await organisers.roles_for(tx, phone, telegram_id)


async def issue_link(tx: Tx, identity: Identity, now: datetime, base_url: str) -> tuple[str, str]:
    """A new link and code for this identity (the caller decides how they travel): (url, code)."""
    token = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(10**6):06d}"
    store.add_token(tx, identity.channel, identity.address, token, code, now, now + LINK_LIFETIME)
    return f"{base_url.rstrip('/')}/console/login/{token}", code


async def send_link(tx: Tx, identity: Identity, now: datetime, base_url: str) -> bool:
    """If this identity is an organiser, queue a sign-in link to them; say nothing either way to the
    person asking (the caller answers the same whatever this returns)."""
    if not await roles_of(tx, identity):
        return False
    url, code = await issue_link(tx, identity, now, base_url)
    person = await supporters.find(tx, identity.channel, identity.address)
    lang = (person.language if person else None) or DEFAULT_LANGUAGE  # the organiser's own language
    minutes = plural("minute", int(LINK_LIFETIME.total_seconds() // 60), lang)
    text = t("console.signin_link", lang, link=url, code=code, minutes=minutes)
    outbox.enqueue(tx, identity.channel, identity.address, Reply(text).to_payload(), now, priority=outbox.INTERACTIVE)
    return True


async def redeem_link(tx: Tx, token: str, now: datetime) -> Identity | None:
    """Spend a link: the identity it was sent to, or None (unknown, spent or expired)."""
    found = await store.token_by_secret(tx, token)
    if found is None or found.used_at is not None or parse_ts(found.expires_at) <= now:
        return None
    if not await store.use_token(tx, found.id, now):
        return None
    return Identity(found.channel, found.address)


async def redeem_code(tx: Tx, identity: Identity, code: str, now: datetime) -> bool:
    """The short code of the newest link sent to this identity, typed instead of following it."""
    found = await store.latest_token(tx, identity.channel, identity.address)
    if found is None or found.used_at is not None or parse_ts(found.expires_at) <= now:
        return False
    if found.attempts >= CODE_ATTEMPTS:
        return False
    if not hmac.compare_digest(found.code_hash, store.digest(code.strip())):
        store.count_attempt(tx, found.id)
        if found.attempts + 1 >= CODE_ATTEMPTS:
            await store.use_token(tx, found.id, now)
        return False
    return await store.use_token(tx, found.id, now)


async def start_session(tx: Tx, identity: Identity, user_agent: str | None, now: datetime, *,
                        origin: str | None = None, how: str = "link") -> str:
    """A new session for a signed-in organiser (recorded in the audit log: signed in by `how`, from
    `origin`); returns the secret for their cookie."""
    secret = secrets.token_urlsafe(32)
    store.add_session(tx, identity.channel, identity.address, secret, user_agent, now, now + SESSION_LIFETIME)
    session = await store.session_by_secret(tx, secret)
    actor = web_actor(tuple(await roles_of(tx, identity)), identity, origin)
    audit.note(tx, actor, now, "signin.start", target=f"session:{session.id}" if session else None,
               detail=f"by {how}")
    return secret


async def resolve(tx: Tx, secret: str | None, now: datetime) -> SignedIn | None:
    """The live session behind a cookie, with its organiser's roles now; ends it when it has run out."""
    if not secret:
        return None
    session = await store.session_by_secret(tx, secret)
    if session is None or session.ended_at is not None:
        return None
    why = ("expired" if parse_ts(session.expires_at) <= now
           else "idle" if parse_ts(session.last_seen_at) + IDLE_LIMIT <= now else None)
    roles = await roles_of(tx, Identity(session.channel, session.address))
    if why is None and not roles:
        why = "role removed"
    if why is not None:
        store.end(tx, session.id, why, now)
        return None
    if parse_ts(session.last_seen_at) + TOUCH_EVERY <= now:
        store.touch(tx, session.id, now)
    return SignedIn(session, tuple(roles))


def sign_out(tx: Tx, signed_in: SignedIn, now: datetime) -> None:
    store.end(tx, signed_in.session.id, "signed out", now)
    audit.note(tx, signed_in.actor, now, "signin.end", target=f"session:{signed_in.session.id}")


async def sessions_of(tx: Tx, identity: Identity) -> list[Session]:
    return await store.for_identity(tx, identity.channel, identity.address)


async def revoke(tx: Tx, actor: Actor, session_id: int, now: datetime) -> Session:
    """An admin ends someone's session."""
    if not actor.is_admin:
        raise ScopeError("Only an admin can end someone else's session.")
    found = await store.get(tx, session_id)
    if found is None:
        raise LookupError(f"no session #{session_id}")
    store.end(tx, session_id, "revoked", now)
    audit.note(tx, actor, now, "session.revoke", target=f"session:{session_id}",
               detail="already ended" if found.ended_at else None)
    return found
