"""The console's language, chosen by each organiser (a form in every page's header): English or
Cymraeg, kept on their roles; until they choose, their browser's Accept-Language decides."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web import i18n
from bot.web.console.base import Console, back, signed_in, why
from flows.organiser import preferences
from flows.organiser.errors import SupporterError
from flows.organiser.signin import SignedIn


def _local(target: str) -> str:
    """Back to a page of the console only (never another site)."""
    return target if target.startswith("/console/") and not target.startswith("//") else "/console/"


def routes(console: Console) -> list[BaseRoute]:
    async def choose(request: Request, who: SignedIn) -> Response:
        form = await request.form()
        wanted, target = str(form.get("lang", "")), _local(str(form.get("next", "/console/")))
        phone, telegram_id = who.identity.lookup()
        try:
            async with console.transaction() as tx:
                await preferences.set_console_language(tx, who.actor, phone, telegram_id, wanted, console.now())
        except SupporterError as exc:
            return console.refused(request, who, 400, i18n.gettext(why(exc)), heading=i18n.gettext("Language"))
        i18n.current.set(wanted)
        return back(target.split("?")[0], i18n.gettext("The console is in English now.") if wanted == "en"
                    else i18n.gettext("The console is in Welsh now."))

    return [Route("/language", signed_in(console, choose), methods=["POST"])]
