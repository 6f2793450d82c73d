"""Who may do what: the one authorisation rule every organiser operation checks, on every front.

Roles are read from our database at every use, never remembered. An admin, a national organiser
(no group) and the command line (its operator administers the deployment) reach everyone and
every group; a local-group organiser reaches only their own groups' supporters and events.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from flows.organiser.errors import ScopeError
from storage.broadcasts import Audience, Broadcast
from storage.organisers import Role


def scope(roles: list[Role] | tuple[Role, ...]) -> list[int] | None:
    """The local groups these roles may reach and manage; None means every group (and national events)."""
    if any(r.role == "admin" or r.group_id is None for r in roles):
        return None
    return sorted({r.group_id for r in roles if r.group_id is not None})


def allowed(roles: list[Role], group_id: int | None) -> bool:
    """May these roles manage something of this group (None: national)?"""
    limit = scope(roles)
    return bool(roles) and (limit is None or group_id in limit)


@dataclass(frozen=True)
class Actor:
    """Who is composing: their roles, and where progress and reports should reach them."""
    roles: tuple[Role, ...] = ()
    label: str = "cli"
    notify_channel: str | None = None
    notify_address: str | None = None
    trusted: bool = False  # the command line: whoever runs it administers the deployment
    origin: str | None = None  # where the action came from, for the audit log: a web client's address

    @property
    def is_admin(self) -> bool:
        return self.trusted or any(r.role == "admin" for r in self.roles)

    @property
    def is_organiser(self) -> bool:
        return self.trusted or bool(self.roles)

    def scope(self) -> tuple[int, ...] | None:
        """Group ids this actor may reach, or None for anyone."""
        limit = None if self.trusted else scope(self.roles)
        return None if limit is None else tuple(limit)


def scoped(actor: Actor, audience: Audience) -> Audience:
    """The audience limited to what the actor may reach; refuses groups outside their scope."""
    limit = actor.scope()
    if limit is None:
        return audience
    if not limit:
        raise ScopeError("broadcasts.error_no_groups")
    outside = set(audience.groups) - set(limit)
    if outside:
        raise ScopeError("broadcasts.error_own_groups")
    return audience if audience.groups else replace(audience, groups=limit)


def check_access(actor: Actor, b: Broadcast) -> None:
    """May this actor act on this broadcast (preview, send, cancel, report)? ScopeError if not."""
    limit = actor.scope()
    if limit is None:
        return
    if not limit or not set(b.filters.groups) or not set(b.filters.groups) <= set(limit):
        raise ScopeError("broadcasts.error_beyond", id=b.id)
