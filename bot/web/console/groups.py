"""The console's groups pages: the local groups in scope with their supporters, areas, organisers and
linked chats; an admin creates a group, renames it and changes its areas."""
from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext, ngettext
from flows.organiser import groups
from flows.organiser.errors import GroupError, ScopeError
from flows.organiser.signin import SignedIn
from flows.values import phones
from storage.organisers import Role


def who_is(role: Role, known_as: dict[int, str]) -> str:
    """An organiser as the groups pages show them: a first name where known, else a masked address."""
    if role.id in known_as:
        return known_as[role.id]
    return phones.masked(role.phone) if role.phone else f"Telegram {phones.masked_id(role.telegram_id)}"


def placed(change: groups.Change) -> str:
    if not change.placed:
        return ""
    return " " + ngettext("%(num)s supporter with no group joined it; %(told)s will be told on a channel they are "
                          "opted in on.", "%(num)s supporters with no group joined it; %(told)s will be told on a "
                          "channel they are opted in on.", change.placed, told=change.told)


def routes(console: Console) -> list[BaseRoute]:
    def refused(request: Request, who: SignedIn, status: int, message: str) -> Response:
        return console.refused(request, who, status, message, heading=gettext("Local groups"), back="/console/groups",
                               back_to=gettext("the local groups"))

    async def listing(request: Request, who: SignedIn, status: int = 200, **form: Any) -> Response:
        async with console.transaction() as tx:
            seen = await groups.in_scope(tx, who.actor)
        form.setdefault("name", "")
        form.setdefault("areas", "")
        return console.render(request, "groups/list.html", status, who=who, groups=seen, who_is=who_is, **form)

    async def page(request: Request, who: SignedIn) -> Response:
        try:
            return await listing(request, who)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))

    async def create(request: Request, who: SignedIn) -> Response:
        form = await request.form()
        name, areas = str(form.get("name", ""))[:200], str(form.get("areas", ""))[:1000]
        try:
            async with console.transaction() as tx:
                done = await groups.create(tx, who.actor, console.now(), name, areas, console.settings.flow_settings())
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except GroupError as exc:
            return await listing(request, who, 400, name=name, areas=areas, error=why(exc))
        if done.told:
            console.wake()
        return back(f"/console/groups/{done.group.id}",
                    gettext("Created %(group)s.", group=done.group.name) + placed(done))

    async def show(request: Request, who: SignedIn, status: int = 200, **form: Any) -> Response:
        async with console.transaction() as tx:
            try:
                view = await groups.one(tx, who.actor, request.path_params["group_id"])
            except ScopeError as exc:
                return refused(request, who, 403, why(exc))
            except LookupError:
                return refused(request, who, 404, gettext("There is no such local group, or it is not one of yours."))
        form.setdefault("name", view.group.name)
        form.setdefault("areas", " ".join(view.group.areas))
        return console.render(request, "groups/group.html", status, who=who, view=view, who_is=who_is, **form)

    async def one(request: Request, who: SignedIn) -> Response:
        return await show(request, who)

    async def edit(request: Request, who: SignedIn) -> Response:
        form = await request.form()
        name, areas = str(form.get("name", ""))[:200], str(form.get("areas", ""))[:1000]
        try:
            async with console.transaction() as tx:
                done = await groups.edit(tx, who.actor, console.now(), request.path_params["group_id"],
                                         console.settings.flow_settings(), name=name, areas=areas)
        except ScopeError as exc:
            return refused(request, who, 403, why(exc))
        except LookupError:
            return refused(request, who, 404, gettext("There is no such local group, or it is not one of yours."))
        except GroupError as exc:
            return await show(request, who, 400, name=name, areas=areas, error=why(exc))
        if done.told:
            console.wake()
        said = (gettext("Nothing changed.") if not done.changed
                else gettext("Saved %(group)s.", group=done.group.name) + placed(done))
        return back(f"/console/groups/{done.group.id}", said)

    return [
        Route("/groups", signed_in(console, page), methods=["GET"]),
        Route("/groups", signed_in(console, create), methods=["POST"]),
        Route("/groups/{group_id:int}", signed_in(console, one), methods=["GET"]),
        Route("/groups/{group_id:int}", signed_in(console, edit), methods=["POST"]),
    ]
