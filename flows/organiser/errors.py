"""What organiser operations refuse, and why: each message tells the organiser what to change.

A refusal is said in the asker's language: it carries a catalogue key and its values
(`BroadcastError("broadcasts.error_empty")`), `str()` is its English (the command line's, and
the log's), and `text(lang)` its sentence in another language, which every front that knows its
reader's language shows (`refusal(exc, lang)`). A value may itself depend on the language: a
callable of the language, or another refusal. A refusal made from a plain sentence (not a key)
stays as it is in every language.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flows.core.texts import DEFAULT_LANGUAGE, has, t


class Said(ValueError):
    """A refusal whose words come from the catalogue (or, given a plain sentence, are that sentence)."""

    def __init__(self, message: str, /, **values: Any) -> None:
        self.key = message if has(message) else None
        self.plain = message
        self.values = values
        super().__init__(self.text())

    def text(self, lang: str = DEFAULT_LANGUAGE) -> str:
        """The refusal in `lang` (English where the catalogue has none)."""
        if self.key is None:
            return self.plain
        return t(self.key, lang, **{name: _value(v, lang) for name, v in self.values.items()})


def _value(value: Any, lang: str) -> Any:
    if isinstance(value, Said):
        return value.text(lang)
    if callable(value):
        return value(lang)
    return value


def refusal(exc: BaseException, lang: str | None = DEFAULT_LANGUAGE) -> str:
    """What a front shows the organiser for `exc`, in their language."""
    return exc.text(lang or DEFAULT_LANGUAGE) if isinstance(exc, Said) else str(exc)


InLanguage = Callable[[str], str]  # a value that depends on the reader's language


class BroadcastError(Said):
    """The request cannot be done as asked; the message tells the organiser why."""


class BodyError(BroadcastError):
    """The message text itself needs changing (empty, unknown placeholder, too long)."""


class ScopeError(BroadcastError):
    """The organiser asked to reach people outside their own groups."""


class InboxError(Said):
    """An inbox item cannot be answered or closed as asked: the message says why (gone, already
    handled, the supporter cannot be reached on that channel, an empty answer)."""


class GroupError(Said):
    """A local group cannot be created, changed or removed as asked: the message says why (a name
    or an area already taken, an area that is no postcode area, organisers or events still in it)."""


class TeamError(Said):
    """An organiser role cannot be added, changed or removed as asked: the message says why."""


class SupporterError(Said):
    """A supporter cannot be listed, shown or changed as asked (a filter that makes no sense, an
    interest that is not offered, an opt-out without a reason): the message says why."""


class UnknownSupporter(SupporterError, LookupError):
    """No such supporter within the organiser's reach: unknown, erased, or outside their local
    groups. To them these are the same: a page never confirms that someone exists elsewhere."""


class EventError(Said):
    """An event cannot be created, changed or cancelled as asked: a title, venue or details too long,
    a start already past, a link that is no web address, a capacity out of range, an unknown group,
    an event already cancelled. `field` names the event field at fault (None when it is the event
    as a whole); the message reads on after that field's name ("title: at most 120 characters")."""

    def __init__(self, message: str, field: str | None = None, /, **values: Any) -> None:
        super().__init__(message, **values)
        self.field = field
