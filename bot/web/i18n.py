"""The web pages in the reader's language: English or Welsh, from gettext catalogues: the
`console` domain for the console, `public` for the public pages
(flows/core/texts/locale/<lang>/LC_MESSAGES/<domain>.po, compiled at load).

One Jinja2 environment per language, each with its catalogue installed (newstyle gettext, so
`{{ _("%(n)s supporters", n=n) }}` escapes and formats, and `ngettext` uses the language's plural
rule: Welsh has six forms). The language of the request being answered is also kept in a context
variable, for the few sentences the pages' Python code writes (`gettext` below)."""
from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

import jinja2

from flows.core.texts import DEFAULT_LANGUAGE, LANGUAGE_NAMES, translations

DOMAIN = "console"
LANGUAGES = tuple(LANGUAGE_NAMES)  # en, cy
current: ContextVar[str] = ContextVar("web_language", default=DEFAULT_LANGUAGE)


def from_header(header: str | None) -> str:
    """The best of our languages for an Accept-Language header ('cy-GB,cy;q=0.9,en;q=0.8' → 'cy');
    English when the browser prefers none of them."""
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for part in (header or "").split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        code = tag.strip().lower().split("-")[0]
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        if code in LANGUAGES and q > best_q:
            best, best_q = code, q
    return best


def chosen(value: str | None) -> str | None:
    """A language asked for by name ('cy', 'en'), or None when it is not one of ours."""
    return value if value in LANGUAGES else None


def environments(setup: Callable[[jinja2.Environment], None], domain: str = DOMAIN) -> dict[str, jinja2.Environment]:
    """One environment per language over the same templates, each with its `domain`'s catalogue installed."""
    made = {}
    for lang in LANGUAGES:
        env = jinja2.Environment(loader=jinja2.PackageLoader("bot.web", "templates"), autoescape=True,
                                 undefined=jinja2.StrictUndefined, extensions=["jinja2.ext.i18n"])
        env.install_gettext_translations(translations(lang, domain), newstyle=True)  # type: ignore[attr-defined]
        env.globals.update(lang=lang, language_names=LANGUAGE_NAMES)
        setup(env)
        made[lang] = env
    return made


def gettext(text: str, *, domain: str = DOMAIN, **values: Any) -> str:
    """`text` in the language of the request being answered, with %(names)s filled in."""
    translated = translations(current.get(), domain).gettext(text)
    return translated % values if values else translated


def ngettext(one: str, other: str, n: int, *, domain: str = DOMAIN, **values: Any) -> str:
    translated = translations(current.get(), domain).ngettext(one, other, n)
    return translated % {"num": n, **values}
