"""Choosing a language: CYMRAEG or ENGLISH (and their Telegram commands) at any time.

The choice is stored on the supporter and used for every text from then on; the answer comes
in the language just chosen, whatever the supporter was doing (their flow carries on).
"""
from __future__ import annotations

from flows.core.context import Context
from flows.core.texts import available
from flows.supporter import signup
from storage import supporters


def first_contact(ctx: Context) -> None:
    """Someone new whose app speaks a language we have (Telegram's language_code) starts in it."""
    wanted = ctx.inbound.extra.get("language")
    if ctx.supporter.last_seen_at is None and wanted and wanted != ctx.supporter.language and wanted in available():
        supporters.update(ctx.tx, ctx.supporter, language=wanted)


async def _choose(ctx: Context, lang: str) -> None:
    if ctx.supporter.language != lang or not ctx.supporter.language_stated:  # English, now chosen
        supporters.update(ctx.tx, ctx.supporter, language=lang)
    if ctx.conversation.flow == signup.FLOW:
        ctx.conversation.data["language_chosen"] = True  # a Welsh postcode will not ask again
        if ctx.conversation.step == "language":  # the answer to the sign-up's question
            await signup.language_chosen(ctx)
            return
    # Each catalogue's sentence names its own language, so one text answers both choices.
    ctx.say("language.chosen")


async def cymraeg(ctx: Context) -> None:
    await _choose(ctx, "cy")


async def english(ctx: Context) -> None:
    await _choose(ctx, "en")


# The keywords, as normalised, in either language.
KEYWORDS = {"CYMRAEG": cymraeg, "/CYMRAEG": cymraeg, "WELSH": cymraeg,
            "ENGLISH": english, "/ENGLISH": english, "SAESNEG": english}
