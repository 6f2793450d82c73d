"""Phone numbers: everything stored in E.164, parsed with the regional default (GB); and, for
logs, every channel address (phone number or Telegram id) masked."""
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


def country_prefix(region: str = "GB") -> str:
    """'+44' for GB: what a national number's leading 0 stands for in E.164."""
    return f"+{phonenumbers.country_code_for_region(region)}"


def masked(e164: str | None) -> str:
    """For logs: never a full number. '+447400123456' → '+44…456'."""
    if not e164:
        return "-"
    return f"{e164[:3]}…{e164[-3:]}"


def masked_id(telegram_id: int | str | None) -> str:
    """For logs: never a full Telegram user id, masked as a number is. '6071829354' → '60…354'.

    A negative id is a group chat's, not a person's, and is shown as it is.
    """
    if telegram_id is None or str(telegram_id).strip() == "":
        return "-"
    text = str(telegram_id).strip()
    if text.startswith("-"):
        return text
    if len(text) <= 6:  # too short to show both ends without showing it all
        return f"…{text[-1:]}"
    return f"{text[:2]}…{text[-3:]}"


def masked_address(channel: str, address: str | int | None) -> str:
    """For logs: a channel address (phone number, Telegram id, …) masked whatever the channel."""
    if channel == "telegram":
        return masked_id(address)
    return masked(None if address is None else str(address))
