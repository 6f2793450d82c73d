"""The audit log (admins only): every organiser action from any front, newest first, paged by id."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, signed_in, why
from bot.web.i18n import gettext
from flows.organiser import audit
from flows.organiser.errors import ScopeError
from flows.organiser.signin import SignedIn

PAGE = 50


def fronts() -> dict[str, str]:
    """Where an action was taken, in the reader's language."""
    return {"cli": gettext("Command line"), "chat": gettext("Chat"), "web": gettext("Web"), "api": "API"}


def routes(console: Console) -> list[BaseRoute]:
    async def page(request: Request, who: SignedIn) -> Response:
        raw = request.query_params.get("before", "")
        before = int(raw) if raw.isdigit() and len(raw) < 16 else None
        if raw and before is None:
            return console.refused(request, who, 400, gettext("The page asked for does not exist: 'before' must be an "
                                                              "entry number."),
                                   heading=gettext("Audit log"), back="/console/audit",
                                   back_to=gettext("the audit log"))
        try:
            async with console.transaction() as tx:
                found = await audit.entries(tx, who.actor, before_id=before, limit=PAGE + 1)
        except ScopeError as exc:
            return console.refused(request, who, 403, why(exc), heading=gettext("Audit log"))
        return console.render(request, "audit/list.html", who=who, entries=found[:PAGE], more=len(found) > PAGE,
                              before=before, fronts=fronts())

    return [Route("/audit", signed_in(console, page), methods=["GET"])]
