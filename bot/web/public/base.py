"""What every public page shares: the database, the clock, settings, templates, rate limits and the
stylesheet (served from memory, named by its hash so it can be cached for a day)."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.web.front import Front
from bot.web.limits import Limiter
from flows.core.settings import FlowSettings


@dataclass
class Public(Front):
    """What the public pages need from the running service, and nothing more."""
    # Forms sent per client address, and per phone number, in their windows (seconds).
    per_client: Limiter = field(default_factory=lambda: Limiter(limit=30, window=10 * 60))
    per_phone: Limiter = field(default_factory=lambda: Limiter(limit=5, window=60 * 60))
    env: jinja2.Environment = field(init=False)

    def __post_init__(self) -> None:
        self.env = jinja2.Environment(loader=jinja2.PackageLoader("bot.web", "templates"), autoescape=True,
                                      undefined=jinja2.StrictUndefined)
        self.env.globals.update(movement=self.settings.movement, css=self.css_url)

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
        body = self.env.get_template(f"public/{template}").render(
            request=request, csrftoken=csrf() if csrf and context.pop("form_page", False) else "", **context)
        headers = {"cache-control": cache} if cache else {}
        return HTMLResponse(body, status_code=status, headers=headers)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"
