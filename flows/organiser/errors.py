"""What organiser operations refuse, and why: each message tells the organiser what to change."""
from __future__ import annotations


class BroadcastError(ValueError):
    """The request cannot be done as asked; the message tells the organiser why."""


class BodyError(BroadcastError):
    """The message text itself needs changing (empty, unknown placeholder, too long)."""


class ScopeError(BroadcastError):
    """The organiser asked to reach people outside their own groups."""


class InboxError(ValueError):
    """An inbox item cannot be answered or closed as asked: the message says why (gone, already
    handled, the supporter cannot be reached on that channel, an empty answer)."""


class GroupError(ValueError):
    """A local group cannot be created, changed or removed as asked: the message says why (a name
    or an area already taken, an area that is no postcode area, organisers or events still in it)."""


class TeamError(ValueError):
    """An organiser role cannot be added, changed or removed as asked: the message says why."""


class SupporterError(ValueError):
    """A supporter cannot be listed, shown or changed as asked (a filter that makes no sense, an
    interest that is not offered, an opt-out without a reason): the message says why."""


class UnknownSupporter(SupporterError, LookupError):
    """No such supporter within the organiser's reach: unknown, erased, or outside their local
    groups. To them these are the same: a page never confirms that someone exists elsewhere."""


class EventError(ValueError):
    """An event cannot be created, changed or cancelled as asked: a title, venue or details too long,
    a start already past, a link that is no web address, a capacity out of range, an unknown group,
    an event already cancelled. `field` names the event field at fault (None when it is the event
    as a whole); the message reads on after that field's name ("title: at most 120 characters")."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
