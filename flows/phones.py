"""Phone numbers: everything stored in E.164, parsed with the regional default (GB)."""
from __future__ import annotations

import phonenumbers


def normalise(text: str, region: str = "GB") -> str | None:
    """'07400 123456' → '+447400123456'; None when it cannot be a phone number.

    "Possible" rather than "valid": Ofcom's drama range (07700 900xxx) and new
    allocations are possible but not in the library's list of valid numbers.
    """
    text = (text or "").strip()
    if text and text[0].isdigit() and len(text) > 10 and not text.startswith("0"):
        text = "+" + text  # Telegram clients sometimes share numbers without the '+'
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def masked(e164: str | None) -> str:
    """For logs: never a full number. '+447400123456' → '+44…456'."""
    if not e164:
        return "-"
    return f"{e164[:3]}…{e164[-3:]}"
