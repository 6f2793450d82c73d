"""The inbox: supporters' messages the bot did not understand, answered by hand or marked done.

Which items an organiser sees is flows.organiser.inbox's rule (their groups' supporters; a
supporter with no group is for national organisers and admins). An item outside that scope is
a 404, whether it exists or not.
"""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.console.base import Console, back, signed_in, why
from bot.web.i18n import gettext
from flows.organiser import inbox
from flows.organiser.errors import InboxError, ScopeError
from flows.organiser.signin import SignedIn

PAGE = 50
HANDLED_FOR = timedelta(days=7)  # how far back "recently handled" looks
HANDLED_SHOWN = 20
MAX_OFFSET = 10_000
CHANNELS = {"sms": "SMS", "telegram": "Telegram"}


def _item_id(request: Request) -> int | None:
    raw = request.path_params["item_id"]
    return int(raw) if raw.isdigit() and len(raw) < 12 else None


def routes(console: Console) -> list[BaseRoute]:
    def context() -> dict[str, Any]:
        return {"channels": CHANNELS, "limits": inbox.MAX_ANSWER}

    def missing(request: Request, who: SignedIn) -> Response:
        return console.render(request, "inbox/missing.html", 404, who=who)

    async def listing(request: Request, who: SignedIn) -> Response:
        raw = request.query_params.get("from", "0")
        start = min(int(raw), MAX_OFFSET) if raw.isdigit() else 0
        try:
            async with console.transaction() as tx:
                now = console.now()
                found = await inbox.items(tx, who.actor, limit=PAGE + 1, offset=start)
                handled = [i for i in await inbox.items(tx, who.actor, limit=HANDLED_SHOWN,
                                                        handled_since=now - HANDLED_FOR) if not i.is_open]
                total = await inbox.open_count(tx, who.actor)
        except ScopeError as exc:
            return console.render(request, "inbox/missing.html", 403, who=who, error=why(exc))
        return console.render(request, "inbox/list.html", who=who, items=found[:PAGE], handled=handled,
                              total=total, start=start, more=len(found) > PAGE, page=PAGE, **context())

    async def one(request: Request, who: SignedIn) -> Response:
        item_id = _item_id(request)
        if item_id is None:
            return missing(request, who)
        try:
            async with console.transaction() as tx:
                item = await inbox.get(tx, who.actor, item_id)
        except (ScopeError, InboxError):
            return missing(request, who)
        return console.render(request, "inbox/item.html", who=who, item=item, draft="", **context())

    async def act(request: Request, who: SignedIn, answering: bool) -> Response:
        item_id = _item_id(request)
        if item_id is None:
            return missing(request, who)
        text = ""
        if answering:
            form = await request.form()
            text = str(form.get("answer", ""))[:5000]
        error: str | None = None
        flow_settings = console.settings.flow_settings()
        async with console.transaction() as tx:
            try:
                item = await inbox.get(tx, who.actor, item_id)
            except (ScopeError, InboxError):
                item = None
            if item is not None:
                try:
                    if answering:
                        await inbox.answer(tx, who.actor, item.id, text, console.now(), flow_settings)
                    else:
                        await inbox.mark_done(tx, who.actor, item.id, console.now())
                except InboxError as exc:
                    error = why(exc)
                    item = await inbox.get(tx, who.actor, item.id)
        if item is None:
            return missing(request, who)
        if error is not None:
            return console.render(request, "inbox/item.html", 400 if item.is_open else 409, who=who, item=item,
                                  draft=text, error=error, **context())
        if answering:
            console.wake()
        name = item.first_name or gettext("the supporter")
        return back("/console/inbox", gettext("Your answer to %(name)s is on its way.", name=name) if answering
                    else gettext("Message #%(id)s is marked done.", id=item.id))

    async def answer(request: Request, who: SignedIn) -> Response:
        return await act(request, who, answering=True)

    async def done(request: Request, who: SignedIn) -> Response:
        return await act(request, who, answering=False)

    return [
        Route("/inbox", signed_in(console, listing), methods=["GET"]),
        Route("/inbox/{item_id}", signed_in(console, one), methods=["GET"]),
        Route("/inbox/{item_id}/answer", signed_in(console, answer), methods=["POST"]),
        Route("/inbox/{item_id}/done", signed_in(console, done), methods=["POST"]),
    ]
