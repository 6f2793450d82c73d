"""Organiser-written message templates: `{first_name}` and friends, substituted safely.

Only plain names from a fixed list are allowed. Anything that str.format would treat
as code is refused when composing: attribute or index access (`{first_name.__class__}`,
`{x[0]}`), positional fields (`{0}`, `{}`), conversions (`{first_name!r}`) and format
specs (`{first_name:>99999}`). Substitution never calls str.format on organiser text:
the template is split into literal parts and names, and each name is filled from a
value or its fallback.
"""
from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

# Placeholder → what is used when a recipient has no value for it.
PLACEHOLDERS: dict[str, str] = {
    "first_name": "friend",
    "group": "your local group",
}

Part = tuple[str, str, str]  # ("lit", text, "") or ("field", name, fallback)


class TemplateError(ValueError):
    """The template cannot be used; the message says what to change."""


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[Part, ...]

    @property
    def names(self) -> set[str]:
        return {value for kind, value, _ in self.parts if kind == "field"}

    def render(self, values: dict[str, str | None] | None = None) -> str:
        """The text for one recipient; a missing or blank value falls back (e.g. "friend")."""
        values = values or {}
        out = []
        for kind, value, fallback in self.parts:
            if kind == "lit":
                out.append(value)
            else:
                given = (values.get(value) or "").strip()
                out.append(given or fallback)
        return "".join(out)

    def then(self, literal: str) -> Template:
        """This template followed by fixed text (never parsed for placeholders)."""
        return Template(self.source, self.parts + (("lit", literal, ""),)) if literal else self


def _allowed() -> str:
    return ", ".join("{" + name + "}" for name in PLACEHOLDERS)


def compile_template(source: str) -> Template:
    """Parse and check a template; raises TemplateError naming the offending placeholder."""
    try:
        pieces = list(Formatter().parse(source))
    except ValueError as exc:
        raise TemplateError(
            f"The braces in the message don't match ({exc}). Use {{{{ and }}}} for literal braces; "
            f"placeholders are {_allowed()}."
        ) from None
    parts: list[Part] = []
    for literal, name, spec, conversion in pieces:
        if literal:
            parts.append(("lit", literal, ""))
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if conversion or spec:
            raise TemplateError(f"{shown}: conversions and formats are not allowed; write just {{{name}}}.")
        if name not in PLACEHOLDERS:
            raise TemplateError(f"{shown} is not a placeholder we know. You can use {_allowed()}.")
        parts.append(("field", name, PLACEHOLDERS[name]))
    return Template(source, tuple(parts))


def render(source: str, values: dict[str, str | None] | None = None) -> str:
    return compile_template(source).render(values)
