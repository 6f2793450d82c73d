"""One cell of an imported file read as a value Muster keeps, or refused with a reason the organiser can
act on: phone numbers (E.164, never guessed from a spreadsheet's rounded number), emails, dates,
consent states, interests and languages. No I/O; each function is called for every row, so the
common shapes take a fast path that gives what the general one would."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from uk_postcodes_parsing.postcode_utils import is_valid

from flows.values import phones, postcodes

LANGUAGES = {"en": "en", "english": "en", "cy": "cy", "welsh": "cy", "cymraeg": "cy"}
STATES = {
    "opted_in": ("opted in", "opted_in", "opt in", "yes", "y", "true", "1", "subscribed", "consented"),
    "opted_out": ("opted out", "opted_out", "opt out", "unsubscribed", "stop", "stopped"),
    "none": ("", "none", "not asked", "not_asked", "no", "n", "false", "0"),
}
_STATE_OF = {word: state for state, words in STATES.items() for word in words}
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+$")
_DECIMAL = re.compile(r"^\+?\d{6,}[.,]\d+$")
_GB_MOBILE = re.compile(r"^(?:\+44|0044|0)(7\d{9})$")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_INTEREST_SPLIT = re.compile(r"[,;|/]")
_POSTCODE = re.compile(r"^([A-Z]{1,2})(\d[A-Z\d]?) (\d[A-Z]{2})$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class RowError(ValueError):
    """This row cannot be imported: the message says why (and the line is given beside it)."""


def phone(text: str, region: str = "GB") -> str:
    """A phone number in E.164; a spreadsheet's rounded or decimal number is refused, never guessed."""
    if _SCIENTIFIC.match(text):
        raise RowError(f"phone number {text!r} is in scientific notation, so its last digits are lost: format the "
                       "column as text in the original spreadsheet and export it again")
    if _DECIMAL.match(text):
        raise RowError(f"phone number {text!r} was saved as a number with decimals: format the column as text "
                       "and export it again")
    compact = text.replace(" ", "").replace("-", "")
    if compact.startswith(("+44(0)", "0044(0)")):
        compact = compact.replace("(0)", "", 1)
    if region == "GB" and (mobile := _GB_MOBILE.match(compact)):
        return f"+44{mobile.group(1)}"  # what phonenumbers gives for every UK mobile number
    found = phones.normalise(text, region)
    if found is None:
        raise RowError(f"{text!r} is not a phone number")
    return found


def telegram_id(text: str) -> int:
    if not text.isdigit() or len(text) > 18 or int(text) == 0:
        raise RowError(f"Telegram id {text!r} should be a whole number (the user's numeric id)")
    return int(text)


@lru_cache(maxsize=4096)
def _domain(domain: str) -> str | None:
    try:
        return validate_email(f"x@{domain}", check_deliverability=False).domain
    except (EmailNotValidError, ValueError, UnicodeError):
        return None


def email(text: str) -> str:
    """An email address as sign-up would keep it (email_validator's normalised form)."""
    if " " in text or len(text) > 254:
        raise RowError(f"{text!r} is not an email address")
    local, at, domain = text.rpartition("@")
    if at and len(local) <= 64 and _LOCAL.match(local):
        found = _domain(domain)
        if found is not None:
            return f"{local}@{found}"
    try:
        return validate_email(text, check_deliverability=False).normalized
    except (EmailNotValidError, ValueError, UnicodeError):
        raise RowError(f"{text!r} is not an email address") from None


@lru_cache(maxsize=1024)
def _known_outward(outward: str) -> bool:
    return postcodes.parse(f"{outward} 1AA") is not None


def postcode(text: str) -> postcodes.Postcode:
    """As flows.values.postcodes reads it; a postcode already written as one ('M1 1AE') is checked directly."""
    upper = " ".join(text.upper().split())
    shaped = _POSTCODE.match(upper)
    if shaped and is_valid(upper) and _known_outward(shaped.group(1) + shaped.group(2)):
        return postcodes.Postcode(upper, shaped.group(1) + shaped.group(2), shaped.group(1))
    found = postcodes.parse(text)
    if found is None:
        raise RowError(f"{text!r} is not a UK postcode")
    return found


def moment(text: str, zone: str, now: datetime, what: str = "consent date") -> datetime:
    """A date (2025-03-01, 01/03/2025) or date and time (2025-03-01T10:00:00Z), in the movement's time
    zone unless it says its own; never in the future."""
    found = _UK_DATE.match(text)
    try:
        if found:
            day, month, year, hour, minute, second = (int(g) if g else 0 for g in found.groups())
            when = datetime(year, month, day, hour, minute, second)
        else:
            when = datetime.fromisoformat(text)
    except ValueError:
        raise RowError(f"{what} {text!r} is not a date (write it as 2025-03-01 or 01/03/2025)") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone))
    when = when.astimezone(UTC)
    if when > now + timedelta(minutes=5):
        raise RowError(f"{what} {text!r} is in the future")
    return when


def state(text: str, channel: str) -> str:
    found = _STATE_OF.get(" ".join(text.lower().split()))
    if found is None:
        raise RowError(f"{channel} consent {text!r} should be 'opted in', 'opted out' or 'none'")
    return found


def interests(text: str, configured: dict[str, str]) -> list[str]:
    """Interests by key or label ('housing; Jobs and pay'); `configured` is lower-cased name → key."""
    found = []
    for part in (p.strip() for p in _INTEREST_SPLIT.split(text)):
        if not part:
            continue
        key = configured.get(part.lower())
        if key is None:
            known = ", ".join(sorted(set(configured.values())))
            raise RowError(f"unknown interest {part!r} (the interests offered are: {known})")
        found.append(key)
    return list(dict.fromkeys(found))


def language(text: str) -> str:
    found = LANGUAGES.get(text.strip().lower())
    if found is None:
        raise RowError(f"language {text!r} should be en (English) or cy (Welsh)")
    return found


def name(text: str, what: str) -> str:
    text = " ".join(text.split())
    if len(text) > 100:
        raise RowError(f"{what} is longer than 100 characters")
    if _CONTROL.search(text):
        raise RowError(f"{what} holds control characters")
    return text
