"""The console's organisers pages (admins only): every organiser role and its scope; adding,
changing and removing a role; each organiser's sessions, with a button to end one."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext
from flows.organiser import signin, team
from flows.organiser.errors import ScopeError, TeamError
from flows.organiser.signin import SignedIn
from storage import groups as group_store
from storage.organisers import ROLES, Role

SHOWN_ROLES = sorted(ROLES, key=lambda r: r == "admin")  # organiser first: the usual choice


def held_by(role: Role, known_as: str | None) -> str:
    """Who holds a role, for the admins who manage roles: a first name where known, and the number
    and Telegram id the role is held under."""
    address = " · ".join(a for a in (role.phone, f"Telegram {role.telegram_id}" if role.telegram_id else None) if a)
    return f"{known_as} ({address})" if known_as else address


def scope_of(role: Role) -> str:
    if role.role == "admin":
        return gettext("Everything")
    if role.group_id is None:
        return gettext("National (every group)")
    return role.group_name or gettext("Group #%(id)s", id=role.group_id)


def parse_scope(raw: str) -> int | None:
    """'national' → None; a group id → that id; anything else is refused (no one is national by accident)."""
    if raw == "national":
        return None
    if raw.isdigit():
        return int(raw)
    raise TeamError(gettext("Choose National (every group) or one local group."))


def routes(console: Console) -> list[BaseRoute]:
    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        return console.refused(request, who, status, message, heading=gettext("Organisers"))

    async def listing(request: Request, who: SignedIn, status: int = 200, **form: Any) -> Response:
        async with console.transaction() as tx:
            members = await team.everyone(tx, who.actor)
            choices = await group_store.list_all(tx)
        for key, default in (("identity", ""), ("role", "organiser"), ("scope", "")):
            form.setdefault(key, default)
        return console.render(request, "organisers/list.html", status, who=who, members=members, groups=choices,
                              roles=SHOWN_ROLES, held_by=held_by, scope_of=scope_of, **form)

    async def page(request: Request, who: SignedIn) -> Response:
        try:
            return await listing(request, who)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))

    async def add(request: Request, who: SignedIn) -> Response:
        if not who.actor.is_admin:
            return refused(request, who, 403, gettext("Only an admin can see and change organiser roles."))
        form = await request.form()
        raw, role, scope = str(form.get("identity", ""))[:64], str(form.get("role", "")), str(form.get("scope", ""))
        identity = signin.parse_identity(raw, console.settings.sms_default_region)
        try:
            if identity is None:
                raise TeamError(gettext("Enter a phone number (starting 07 or +44) or a Telegram user id."))
            phone, telegram_id = identity.lookup()
            async with console.transaction() as tx:
                added, new = await team.add(tx, who.actor, console.now(), role, parse_scope(scope),
                                            phone=phone, telegram_id=telegram_id)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except TeamError as exc:
            return await listing(request, who, 400, identity=raw, role=role, scope=scope, error=why(exc))
        said = gettext("Role added.") if new else gettext("They already held that role.")
        return back(f"/console/organisers/{added.id}", said)

    async def show(request: Request, who: SignedIn, status: int = 200, **form: Any) -> Response:
        async with console.transaction() as tx:
            try:
                member = await team.one(tx, who.actor, request.path_params["role_id"], console.now())
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, gettext("There is no such organiser role."))
            choices = await group_store.list_all(tx)
        role = member.role
        form.setdefault("role", role.role)
        form.setdefault("scope", "national" if role.group_id is None else str(role.group_id))
        return console.render(request, "organisers/organiser.html", status, who=who, member=member, groups=choices,
                              roles=SHOWN_ROLES, held_by=held_by, scope_of=scope_of, **form)

    async def one(request: Request, who: SignedIn) -> Response:
        return await show(request, who)

    async def change(request: Request, who: SignedIn) -> Response:
        form = await request.form()
        role, scope = str(form.get("role", "")), str(form.get("scope", ""))
        try:
            async with console.transaction() as tx:
                await team.change(tx, who.actor, console.now(), request.path_params["role_id"], role,
                                  parse_scope(scope))
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except LookupError:
            return refused(request, who, 404, gettext("There is no such organiser role."))
        except TeamError as exc:
            return await show(request, who, 400, role=role, scope=scope, error=why(exc))
        return back(f"/console/organisers/{request.path_params['role_id']}", gettext("Role saved."))

    async def remove(request: Request, who: SignedIn) -> Response:
        try:
            async with console.transaction() as tx:
                await team.remove(tx, who.actor, console.now(), request.path_params["role_id"])
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except LookupError:
            return refused(request, who, 404, gettext("There is no such organiser role."))
        except TeamError as exc:
            return await show(request, who, 400, error=why(exc))
        return back("/console/organisers", gettext("Role removed; if it was their last, they are signed out."))

    async def end(request: Request, who: SignedIn) -> Response:
        role_id, session_id = request.path_params["role_id"], request.path_params["session_id"]
        try:
            async with console.transaction() as tx:
                await team.end_session(tx, who.actor, console.now(), role_id, session_id)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except LookupError:
            return refused(request, who, 404, gettext("There is no such session."))
        return back(f"/console/organisers/{role_id}", gettext("Session ended."))

    return [
        Route("/organisers", signed_in(console, page), methods=["GET"]),
        Route("/organisers", signed_in(console, add), methods=["POST"]),
        Route("/organisers/{role_id:int}", signed_in(console, one), methods=["GET"]),
        Route("/organisers/{role_id:int}", signed_in(console, change), methods=["POST"]),
        Route("/organisers/{role_id:int}/remove", signed_in(console, remove), methods=["POST"]),
        Route("/organisers/{role_id:int}/sessions/{session_id:int}/end", signed_in(console, end), methods=["POST"]),
    ]
