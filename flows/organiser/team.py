"""Organiser roles as every front manages them: who holds which role with which scope, adding,
changing and removing a role, and each organiser's console sessions.

Only an admin (or the command line) sees or changes roles. Removing someone's last role ends
their console sessions at once; the console also refuses to leave the movement with no admin
(the command line may: its operator can always add one back).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flows.organiser import signin
from flows.organiser.access import Actor
from flows.organiser.audit import note
from flows.organiser.errors import ScopeError, TeamError
from flows.organiser.signin import IDLE_LIMIT, Identity
from storage import console_sessions, organisers
from storage import groups as group_store
from storage.console_sessions import Session
from storage.db import Tx, parse_ts
from storage.organisers import ROLES, Role


@dataclass(frozen=True)
class Member:
    """One organiser role, who holds it, and (for one role's page) their sessions, newest first."""
    role: Role
    known_as: str | None
    sessions: tuple[tuple[Session, str], ...] = ()  # (session, 'live' | why it ended)

    @property
    def identities(self) -> tuple[Identity, ...]:
        return identities(self.role)


def identities(role: Role) -> tuple[Identity, ...]:
    """The sign-in identities a role is held under (a phone number, a Telegram id, or both)."""
    found = []
    if role.phone:
        found.append(Identity("sms", role.phone))
    if role.telegram_id:
        found.append(Identity("telegram", str(role.telegram_id)))
    return tuple(found)


def _admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise ScopeError("team.error_admin_only")


def _scope_of(role: str, group_id: int | None) -> str:
    return "everything" if role == "admin" else f"group:{group_id}" if group_id is not None else "national"


def state(session: Session, now: datetime) -> str:
    """'live', or why the session is over ('signed out', 'revoked', 'expired', 'idle', …)."""
    if session.ended_at is not None:
        return session.ended_why or "ended"
    if parse_ts(session.expires_at) <= now:
        return "expired"
    if parse_ts(session.last_seen_at) + IDLE_LIMIT <= now:
        return "idle"
    return "live"


async def _role(tx: Tx, role_id: int) -> Role:
    found = await organisers.get(tx, role_id)
    if found is None:
        raise LookupError(f"no organiser role #{role_id}")
    return found


async def _check(tx: Tx, role: str, group_id: int | None) -> None:
    if role not in ROLES:
        raise TeamError("team.error_role", roles=", ".join(ROLES), role=repr(role))
    if group_id is not None and await group_store.get(tx, group_id) is None:
        raise TeamError("team.error_no_group", id=group_id)


async def _last_admin(tx: Tx, actor: Actor, role: Role) -> None:
    if role.role == "admin" and not actor.trusted and await organisers.admin_count(tx) <= 1:
        raise TeamError("team.error_last_admin")


# -- seeing roles --------------------------------------------------------------------------------------
async def everyone(tx: Tx, actor: Actor) -> list[Member]:
    _admin(actor)
    names = await organisers.known_as(tx)
    return [Member(r, names.get(r.id)) for r in await organisers.list_all(tx)]


async def one(tx: Tx, actor: Actor, role_id: int, now: datetime) -> Member:
    """One role with the sessions of whoever holds it; LookupError when there is no such role."""
    _admin(actor)
    role = await _role(tx, role_id)
    sessions: list[Session] = []
    for identity in identities(role):
        sessions += await signin.sessions_of(tx, identity)
    sessions.sort(key=lambda s: s.id, reverse=True)
    return Member(role, (await organisers.known_as(tx)).get(role.id), tuple((s, state(s, now)) for s in sessions))


# -- changing roles ------------------------------------------------------------------------------------
async def add(
    tx: Tx, actor: Actor, now: datetime, role: str, group_id: int | None, *,
    phone: str | None = None, telegram_id: int | None = None,
) -> tuple[Role, bool]:
    """Give someone a role (None group: national, or everything for an admin); (role, False) when
    they already held exactly that one."""
    _admin(actor)
    await _check(tx, role, group_id)
    if phone is None and telegram_id is None:
        raise TeamError("team.error_no_address")
    before = {r.id for r in await organisers.roles_for(tx, phone, telegram_id)}
    added = await organisers.add(tx, role, now, phone, telegram_id, group_id)
    if added.id in before:
        return added, False
    note(tx, actor, now, "organiser.add", target=f"organiser:{added.id}", detail=_scope_of(role, group_id))
    return added, True


async def change(tx: Tx, actor: Actor, now: datetime, role_id: int, role: str, group_id: int | None) -> Role:
    """Change a role and its scope."""
    _admin(actor)
    current = await _role(tx, role_id)
    await _check(tx, role, group_id)
    if (role, group_id) == (current.role, current.group_id):
        return current
    if role != "admin":
        await _last_admin(tx, actor, current)
    if await organisers.holds(tx, current, role, group_id):
        raise TeamError("team.error_holds")
    organisers.change(tx, current.id, role, group_id)
    note(tx, actor, now, "organiser.change", target=f"organiser:{current.id}",
         detail=f"{_scope_of(current.role, current.group_id)} ({current.role}) → {_scope_of(role, group_id)} ({role})")
    return await _role(tx, role_id)


async def remove(tx: Tx, actor: Actor, now: datetime, role_id: int) -> Role:
    """Remove one role; if it was the holder's last, their console sessions end now."""
    _admin(actor)
    current = await _role(tx, role_id)
    await _last_admin(tx, actor, current)
    organisers.remove_one(tx, current.id)
    ended = await end_sessions_if_roleless(tx, current, now)
    note(tx, actor, now, "organiser.remove", target=f"organiser:{current.id}",
         detail=f"{_scope_of(current.role, current.group_id)} ({current.role})" + ("; sessions ended" if ended else ""))
    return current


async def remove_identity(tx: Tx, actor: Actor, now: datetime, phone: str | None, telegram_id: int | None) -> int:
    """Remove every role held by this phone number or Telegram id (the command line); how many."""
    _admin(actor)
    held = await organisers.roles_for(tx, phone, telegram_id)
    for role in held:
        await _last_admin(tx, actor, role)
    if not held:
        return 0
    await organisers.remove(tx, phone, telegram_id)
    for role in held:
        await end_sessions_if_roleless(tx, role, now)
        note(tx, actor, now, "organiser.remove", target=f"organiser:{role.id}",
             detail=f"{_scope_of(role.role, role.group_id)} ({role.role})")
    return len(held)


async def end_session(tx: Tx, actor: Actor, now: datetime, role_id: int, session_id: int) -> Session:
    """End one of this role holder's sessions; LookupError when the session is not theirs."""
    _admin(actor)
    role = await _role(tx, role_id)
    found = await console_sessions.get(tx, session_id)
    if found is None or Identity(found.channel, found.address) not in identities(role):
        raise LookupError(f"no session #{session_id} for organiser role #{role_id}")
    await signin.revoke(tx, actor, session_id, now)  # which records it in the audit log
    return found


async def end_sessions_if_roleless(tx: Tx, role: Role, now: datetime) -> bool:
    """After a role went: end the sessions of any identity it was held under that holds no role now."""
    ended = False
    for identity in identities(role):
        if not await signin.roles_of(tx, identity):
            console_sessions.end_all(tx, identity.channel, identity.address, "role removed", now)
            ended = True
    return ended
