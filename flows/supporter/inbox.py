"""Which messages the organisers' inbox keeps: a supporter's own words that the bot did not understand.

Kept: free text that reached the fallback (no keyword, no button, no step waiting for it), from
someone who is not an organiser. Not kept: a pressed button, or a number standing for a choice
offered earlier; a request to stop in words ("please stop texting me": routing answers it
with the STOP question before the fallback); a message with nothing to read (empty, or only punctuation and emoji); a
/command; anything from a sender being throttled for flooding (the engine routes only their
consent keywords, and a YES it passes on would otherwise end here); an organiser's own text
(their mistyped commands are not supporters' questions, and would show in colleagues' inboxes).
Each message is kept at most once: the engine runs a message once (a provider's retry is
deduplicated) and a batch that fails is rolled back with everything it kept.
"""
from __future__ import annotations

from flows.core import keywords
from flows.core.context import Context
from storage import inbox


async def keep(ctx: Context) -> bool:
    """Keep the message as an open inbox item when it is one the inbox keeps; True if kept."""
    if ctx.throttled or ctx.inbound.kind != "message" or ctx.inbound.choice is not None or ctx.choice:
        return False
    if not ctx.word or ctx.text.startswith("/"):
        return False
    if keywords.stop_request(ctx.word):  # answered with the STOP question, not a question for organisers
        return False
    if await ctx.roles():
        return False
    inbox.add(ctx.tx, ctx.supporter.id, ctx.channel, ctx.text, ctx.now)
    return True
