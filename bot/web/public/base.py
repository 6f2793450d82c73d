"""What every public page shares: the database, the clock, settings, templates in the visitor's
language, rate limits and the stylesheet (served from memory, named by its hash so it can be cached
for a day).

The language of a page: `?lang=cy` or `?lang=en` when the visitor chose (kept in a cookie from then
on), else that cookie, else the browser's Accept-Language, else English. Texts come from the
gettext domain `public` (flows/core/texts/locale/<lang>/LC_MESSAGES/public.po)."""
from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from bot.web import i18n
from bot.web.front import Front
from bot.web.limits import Limiter
from flows.core.settings import FlowSettings
from flows.core.texts import LANGUAGE_NAMES

DOMAIN = "public"
LANGUAGE_COOKIE = "muster_lang"
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
# On every page: a cache must keep one copy per language, and the language follows both.
VARY = "Accept-Language, Cookie"


@dataclass
class Public(Front):
    """What the public pages need from the running service, and nothing more."""
    # Forms sent per client address, and per phone number, in their windows (seconds).
    per_client: Limiter = field(default_factory=lambda: Limiter(limit=30, window=10 * 60))
    per_phone: Limiter = field(default_factory=lambda: Limiter(limit=5, window=60 * 60))
    by_language: dict[str, jinja2.Environment] = field(init=False)

    def __post_init__(self) -> None:
        def setup(env: jinja2.Environment) -> None:
            env.globals.update(movement=self.settings.movement, css=self.css_url)
        self.by_language = i18n.environments(setup, DOMAIN)

    @cached_property
    def flow_settings(self) -> FlowSettings:
        return self.settings.flow_settings()

    @cached_property
    def css(self) -> bytes:
        return resources.files("bot.web").joinpath("static/public.css").read_bytes()

    @cached_property
    def css_url(self) -> str:
        return f"/static/public.css?v={hashlib.sha256(self.css).hexdigest()[:10]}"

    def render(self, request: Request, template: str, status: int = 200, *, cache: str | None = None,
               **context: Any) -> HTMLResponse:
        """A page from templates/public/; `cache` is its Cache-Control (none: no-store, as any page
        with a form must be)."""
        csrf = request.scope.get("csrftoken")
        context.setdefault("error", None)
        lang = language_of(request)
        # A language chosen in the address goes with the form, so its answer is in it too (cookies or not).
        lang_query = f"?lang={lang}" if i18n.chosen(request.query_params.get("lang")) else ""
        body = self.by_language[lang].get_template(f"public/{template}").render(
            request=request, csrftoken=csrf() if csrf and context.pop("form_page", False) else "",
            switch=switch(request, lang), lang_query=lang_query, **context)
        headers = {"cache-control": cache} if cache else {}
        return HTMLResponse(body, status_code=status, headers=headers)


Handler = Callable[[Request], Awaitable[Response]]


def localised(public: Public, handler: Handler) -> Handler:
    """The page in the visitor's language: the sentences its Python writes too (i18n.current), a
    `Vary` so caches keep each language apart, and the cookie that remembers a choice made by ?lang=."""
    async def page(request: Request) -> Response:
        i18n.current.set(language_of(request))
        response = await handler(request)
        vary = [v.strip() for v in response.headers.get("vary", "").split(",") if v.strip()]
        response.headers["vary"] = ", ".join(dict.fromkeys([*vary, *VARY.split(", ")]))
        if (asked := i18n.chosen(request.query_params.get("lang"))) is not None \
                and asked != request.cookies.get(LANGUAGE_COOKIE):
            response.set_cookie(LANGUAGE_COOKIE, asked, max_age=LANGUAGE_COOKIE_AGE, path="/", httponly=True,
                                samesite="lax", secure=public.secure_cookies)
        return response

    return page


def language_of(request: Request) -> str:
    """The page's language: asked for in the address, else chosen before (the cookie), else the browser's."""
    return (i18n.chosen(request.query_params.get("lang")) or i18n.chosen(request.cookies.get(LANGUAGE_COOKIE))
            or i18n.from_header(request.headers.get("accept-language")))


def switch(request: Request, lang: str) -> list[dict[str, Any]]:
    """The language switch: each language by its own name, a link to this page in it (its query
    alone, with whatever else the address asked for, '?r=CODE&lang=cy': the same page, however named)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [{"code": code, "name": name, "href": "?" + urlencode([*kept, ("lang", code)]), "current": code == lang}
            for code, name in LANGUAGE_NAMES.items()]


def gettext(text: str, **values: Any) -> str:
    """A sentence the pages' Python writes, in the page's language (see i18n.current)."""
    return i18n.gettext(text, domain=DOMAIN, **values)


def ngettext(one: str, other: str, n: int, **values: Any) -> str:
    """A counted sentence in the page's language, `%(num)d` filled with n (Welsh has six forms)."""
    return i18n.ngettext(one, other, n, domain=DOMAIN, **values)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"
