"""What organiser operations refuse, and why: each message tells the organiser what to change."""
from __future__ import annotations


class BroadcastError(ValueError):
    """The request cannot be done as asked; the message tells the organiser why."""


class BodyError(BroadcastError):
    """The message text itself needs changing (empty, unknown placeholder, too long)."""


class ScopeError(BroadcastError):
    """The organiser asked to reach people outside their own groups."""
