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
