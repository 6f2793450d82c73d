"""Signing in and out: ask for a link, follow it (or type its code), sign out."""
from __future__ import annotations

from urllib.parse import urlparse

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from bot.web import i18n
from bot.web.console.base import COOKIE, Console, client_address, language_of, signed_in
from bot.web.limits import Limiter
from flows.organiser import signin
from flows.organiser.signin import SESSION_LIFETIME, SignedIn


def ask_hint(request: Request) -> str:
    """What to type to sign in, in the browser's language (nobody is signed in yet)."""
    i18n.current.set(language_of(request, None))
    return i18n.gettext("Enter the phone number (starting 07 or +44) or the Telegram user id your organiser role "
                        "is under.")


def _next(raw: str | None) -> str:
    """Where to go after signing in: a console path only, never another site."""
    target = urlparse(raw or "")
    if target.scheme or target.netloc or not target.path.startswith("/console/"):
        return "/console/"
    return target.path + (f"?{target.query}" if target.query else "")


def routes(console: Console) -> list[BaseRoute]:
    per_client = Limiter(limit=20, window=15 * 60)
    per_identity = Limiter(limit=5, window=15 * 60)

    def signed_in_as(secret: str, next_url: str) -> Response:
        response = RedirectResponse(_next(next_url), status_code=303)
        response.set_cookie(COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), path="/console",
                            httponly=True, samesite="lax", secure=console.secure_cookies)
        return response

    async def ask(request: Request) -> Response:
        return console.render(request, "login.html", next=_next(request.query_params.get("next")), value="")

    async def send(request: Request) -> Response:
        i18n.current.set(language_of(request, None))
        form = await request.form()
        raw = str(form.get("identity", ""))[:64]
        next_url = _next(str(form.get("next", "")))
        identity = signin.parse_identity(raw, console.settings.sms_default_region)
        if identity is None:
            return console.render(request, "login.html", 400, next=next_url, value=raw, error=ask_hint(request))
        client = request.client.host if request.client else "unknown"
        if not per_client.allow(client) or not per_identity.allow(f"{identity.channel}:{identity.address}"):
            return console.render(request, "login.html", 429, next=next_url, value=raw,
                                  error=i18n.gettext("Too many sign-in requests. Wait a few minutes and try again."))
        async with console.transaction() as tx:
            sent = await signin.send_link(tx, identity, console.now(), console.base_url(request))
        if sent:
            console.wake()
        # The same answer whether or not this is an organiser: the page tells no one who is.
        return console.render(request, "login_sent.html", channel=identity.channel, identity=raw, next=next_url)

    async def code(request: Request) -> Response:
        i18n.current.set(language_of(request, None))
        form = await request.form()
        raw, typed = str(form.get("identity", ""))[:64], str(form.get("code", ""))[:12]
        next_url = _next(str(form.get("next", "")))
        identity = signin.parse_identity(raw, console.settings.sms_default_region)
        client = request.client.host if request.client else "unknown"
        if identity is None or not per_client.allow(client):
            return console.render(request, "login.html", 400, next=next_url, value=raw, error=ask_hint(request))
        async with console.transaction() as tx:
            ok = await signin.redeem_code(tx, identity, typed, console.now())
            secret = await signin.start_session(tx, identity, request.headers.get("user-agent"), console.now(),
                                                origin=client_address(request), how="code") if ok else None
        if secret is None:
            return console.render(request, "login_sent.html", 400, channel=identity.channel, identity=raw,
                                  next=next_url,
                                  error=i18n.gettext("That code is wrong or has expired. Ask for a new link."))
        return signed_in_as(secret, next_url)

    async def link(request: Request) -> Response:
        # Following the link only shows a button: link previews (Telegram fetches every link it is
        # sent) must not spend it.
        return console.render(request, "login_link.html", token=request.path_params["token"],
                              next=_next(request.query_params.get("next")))

    async def redeem(request: Request) -> Response:
        i18n.current.set(language_of(request, None))
        async with console.transaction() as tx:
            identity = await signin.redeem_link(tx, request.path_params["token"], console.now())
            secret = await signin.start_session(tx, identity, request.headers.get("user-agent"), console.now(),
                                                origin=client_address(request), how="link") if identity else None
        if identity is None or secret is None:
            return console.render(request, "login.html", 400, next="/console/", value="",
                                  error=i18n.gettext("That sign-in link has expired or was already used. Ask for a new "
                                                     "one."))
        return signed_in_as(secret, request.query_params.get("next", ""))

    async def sign_out(request: Request, who: SignedIn) -> Response:
        async with console.transaction() as tx:
            signin.sign_out(tx, who, console.now())
        response = RedirectResponse("/console/login", status_code=303)
        response.delete_cookie(COOKIE, path="/console")
        return response

    return [
        Route("/login", ask, methods=["GET"]),
        Route("/login", send, methods=["POST"]),
        Route("/login/code", code, methods=["POST"]),
        Route("/login/{token}", link, methods=["GET"]),
        Route("/login/{token}", redeem, methods=["POST"]),
        Route("/logout", signed_in(console, sign_out), methods=["POST"]),
    ]
