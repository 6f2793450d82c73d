"""Pictures and other attachments: we only read text, so say so kindly."""
from __future__ import annotations

from flows.core.context import Context


async def received(ctx: Context) -> None:
    """A message with media and no text (an MMS picture, a Telegram photo without caption)."""
    ctx.say("media.text_only")
