"""Referrals: every supporter's short code, the link that carries it, and crediting the recruiter."""
from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Awaitable

from flows.core.context import Context
from storage import referrals, supporters

log = logging.getLogger(__name__)

# No 0/O, 1/I/L, 5/S or 2/Z: a code read aloud or copied from a poster survives.
ALPHABET = "346789ABCDEFGHJKMNPQRTUVWXY"
LENGTH = 6  # 27**6 ≈ 387 million codes
_CODE = re.compile(rf"^[{ALPHABET}]{{{LENGTH}}}$")


def clean(code: str) -> str | None:
    """'r_k7mx4q' / ' K7MX4Q ' → 'K7MX4Q'; None when it cannot be one of our codes."""
    code = (code or "").strip()
    if code[:2].lower() == "r_":
        code = code[2:]
    code = code.upper()
    return code if _CODE.match(code) else None


async def code_for(ctx: Context) -> str:
    """The supporter's referral code, created on first use (the candidate read ahead first)."""
    person = ctx.supporter
    if person.referral_code:
        return person.referral_code
    code = ctx.ahead.pop(_CANDIDATE, None) or _new_code()
    while await referrals.code_taken(ctx.tx, code):
        code = _new_code()
    supporters.update(ctx.tx, person, referral_code=code)
    return code


def code_ahead(ctx: Context) -> list[Awaitable[bool]]:
    """For a step about to give out a code (code_for): a candidate, and the read of whether it is taken."""
    if ctx.supporter.referral_code:
        return []
    return [referrals.code_taken(ctx.tx, ctx.ahead.setdefault(_CANDIDATE, _new_code()))]


_CANDIDATE = "referral_code"


def _new_code() -> str:
    n = secrets.randbelow(len(ALPHABET) ** LENGTH)  # one draw from the OS, not one for each character
    letters = []
    for _ in range(LENGTH):
        n, i = divmod(n, len(ALPHABET))
        letters.append(ALPHABET[i])
    return "".join(letters)


def link_for(ctx: Context, code: str) -> str:
    """How this supporter passes their code on: a Telegram deep link, or 'JOIN <code>' by text."""
    if ctx.channel == "telegram":
        return f"https://t.me/{ctx.settings.telegram_bot_username}?start=r_{code}"
    return f"JOIN {code}"


async def credit(ctx: Context, code: str) -> None:
    """Record who recruited this supporter: once, never themselves; an unknown code does nothing."""
    person = ctx.supporter
    wanted = clean(code)
    if wanted is None or person.referred_by is not None or person.referral_code == wanted:
        return
    owner = await referrals.owner_of(ctx.tx, wanted)
    if owner is None:
        return
    referrer_id, referrers_referrer, status = owner
    # Never self, never an erased record, and no pair crediting each other.
    if referrer_id == person.id or status == "erased" or referrers_referrer == person.id:
        return
    supporters.update(ctx.tx, person, referred_by=referrer_id)
    log.info("referral: supporter %s recruited by %s", person.id, referrer_id)


async def invite_text(ctx: Context) -> str:
    """The sentence that hands a supporter their own link (the welcome and INVITE use it)."""
    code = await code_for(ctx)
    key = "referrals.invite" if ctx.channel == "telegram" else "referrals.invite_sms"
    return ctx.t(key, link=link_for(ctx, code))


async def invite(ctx: Context) -> None:
    """KEYWORDS["INVITE"]: your link or code, and how many have joined with it."""
    text = await invite_text(ctx)
    count = await referrals.count_for(ctx.tx, ctx.supporter.id)
    ctx.reply(f"{text}\n{ctx.t('referrals.count', count=count)}")
