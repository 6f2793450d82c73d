"""What every console page shares: the database, the clock, templates, the signed-in organiser,
flash messages and the security headers (rate limits: bot.web.limits)."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from bot.web import i18n
from bot.web.front import Front
from flows.organiser import signin
from flows.organiser.errors import refusal
from flows.organiser.signin import SignedIn

COOKIE = "muster_session"
# No inline script or style anywhere in the console: everything it needs is served from 'self'.
SECURITY_HEADERS = [
    (b"content-security-policy", b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                 b"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def why(exc: BaseException) -> str:
    """What an organiser is told for a refusal, in the language of the page being answered."""
    return refusal(exc, i18n.current.get())


@dataclass
class Console(Front):
    """What the console's routes need from the running service, and nothing more."""
    templates: Jinja2Templates = field(init=False)
    by_language: dict[str, Jinja2Templates] = field(init=False)

    def __post_init__(self) -> None:
        def setup(env: jinja2.Environment) -> None:
            env.filters["urlquote"] = lambda v: quote(str(v), safe="")
        self.by_language = {lang: Jinja2Templates(env=env) for lang, env in i18n.environments(setup).items()}
        self.templates = self.by_language[i18n.LANGUAGES[0]]

    def render(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        csrf = request.scope.get("csrftoken")
        context.setdefault("who", None)
        context.setdefault("flash", request.query_params.get("done"))
        context.setdefault("error", None)
        lang = language_of(request, context["who"])
        i18n.current.set(lang)
        response = self.by_language[lang].TemplateResponse(
            request, f"console/{template}", {"csrftoken": csrf() if csrf else "", "movement": self.settings.movement,
                                             **context}, status_code=status)
        assert isinstance(response, HTMLResponse)
        return response


    def refused(self, request: Request, who: SignedIn, status: int, message: str, *, heading: str,
                back: str = "/console/", back_to: str | None = None) -> HTMLResponse:
        """A page that says why a request was refused (403, 404) or made no sense (400), and the way back."""
        return self.render(request, "refused.html", status, who=who, message=message, heading=heading,
                           back=back, back_to=back_to if back_to is not None else i18n.gettext("the overview"))


Page = Callable[[Request, SignedIn], Awaitable[Response]]


def language_of(request: Request, who: SignedIn | None) -> str:
    """The console's language for this request: the one the organiser chose, else their browser's
    (Welsh when it asks for Welsh, English otherwise)."""
    if who is not None:
        for role in who.roles:
            if i18n.chosen(role.language):
                return str(role.language)
    return i18n.from_header(request.headers.get("accept-language"))


def client_address(request: Request) -> str | None:
    """Where a request came from, as the audit log records it."""
    return request.client.host if request.client else None


def signed_in(console: Console, page: Page) -> Callable[[Request], Awaitable[Response]]:
    """The page, for a live session only; anyone else goes to the sign-in page (and back after)."""
    async def handler(request: Request) -> Response:
        async with console.transaction() as tx:
            who = await signin.resolve(tx, request.cookies.get(COOKIE), console.now())
        if who is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            response = RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
            response.delete_cookie(COOKIE, path="/console")
            return response
        i18n.current.set(language_of(request, who))
        return await page(request, replace(who, origin=client_address(request)))

    return handler


def back(url: str, done: str | None = None) -> RedirectResponse:
    """After a form: see the page again (303), with a word saying what was done."""
    return RedirectResponse(url + (f"?done={quote(done, safe='')}" if done else ""), status_code=303)
