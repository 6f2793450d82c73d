"""Reading the dates organisers type ("Sat 14:00", "3 Oct 7pm", "tomorrow 18:30") and showing them back.

Every form is read in the event's timezone. A date without a year is the next such
date (today included); an explicit date in the past is refused, never guessed.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MONTHS = {name: n for n, names in enumerate((
    ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",),
    ("jun", "june"), ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"),
    ("oct", "october"), ("nov", "november"), ("dec", "december"),
), 1) for name in names}
WEEKDAYS = {name: n for n, names in enumerate((
    ("mon", "monday"), ("tue", "tues", "tuesday"), ("wed", "weds", "wednesday"),
    ("thu", "thur", "thurs", "thursday"), ("fri", "friday"), ("sat", "saturday"), ("sun", "sunday"),
)) for name in names}

_TIME = re.compile(
    r"(?:\bat\s+)?\b(?:(?P<h>\d{1,2})(?:[:.](?P<m>\d{2}))?\s*(?P<ampm>am|pm)\b|(?P<h24>\d{1,2})[:.](?P<m24>\d{2})\b"
    r"|(?P<word>noon|midday|midnight)\b)"
)
_ISO = re.compile(r"\b(?P<y>\d{4})-(?P<mo>\d{1,2})-(?P<d>\d{1,2})(?:t|\b)")
_NUMERIC = re.compile(r"\b(?P<d>\d{1,2})/(?P<mo>\d{1,2})(?:/(?P<y>\d{2}|\d{4}))?\b")
_DAY_MONTH = re.compile(r"\b(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<mon>[a-z]+)\.?(?:\s+(?P<y>\d{4}))?\b")
_MONTH_DAY = re.compile(r"\b(?P<mon>[a-z]+)\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?\b")


class DateError(ValueError):
    """Why a date was refused: `reason` is 'unreadable', 'no_time' or 'past'."""

    def __init__(self, reason: str, when: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.when = when


def _time_of(text: str) -> tuple[time | None, str]:
    match = _TIME.search(text)
    if not match:
        return None, text
    rest = (text[:match.start()] + " " + text[match.end():]).strip()
    if match["word"]:
        return (time(0, 0) if match["word"] == "midnight" else time(12, 0)), rest
    if match["ampm"]:
        hour, minute = int(match["h"]), int(match["m"] or 0)
        if not 1 <= hour <= 12 or minute > 59:
            raise DateError("unreadable")
        hour = hour % 12 + (12 if match["ampm"] == "pm" else 0)
        return time(hour, minute), rest
    hour, minute = int(match["h24"]), int(match["m24"])
    if hour > 23 or minute > 59:
        raise DateError("unreadable")
    return time(hour, minute), rest


def _year_for(day: int, month: int, today: date) -> date:
    """The next such day from today on (a date without a year)."""
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _date_of(text: str, today: date) -> date | None:
    words = text.split()
    if not words:
        return None
    if text in ("today", "tonight"):
        return today
    if text == "tomorrow":
        return today + timedelta(days=1)
    if (match := _ISO.search(text)):
        return date(int(match["y"]), int(match["mo"]), int(match["d"]))
    if (match := _NUMERIC.search(text)):
        day, month = int(match["d"]), int(match["mo"])
        if match["y"]:
            year = int(match["y"])
            return date(year + 2000 if year < 100 else year, month, day)
        return _year_for(day, month, today)
    for pattern in (_DAY_MONTH, _MONTH_DAY):
        match = pattern.search(text)
        if match and match["mon"] in MONTHS:
            day, month = int(match["d"]), MONTHS[match["mon"]]
            return date(int(match["y"]), month, day) if match["y"] else _year_for(day, month, today)
    day_words = [w for w in words if w not in ("next", "this", "on")]
    if len(day_words) == 1 and day_words[0] in WEEKDAYS:
        ahead = (WEEKDAYS[day_words[0]] - today.weekday()) % 7
        if "next" in words and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    return None


def parse(text: str, now: datetime, tz: str = "Europe/London") -> datetime:
    """The moment meant, in `tz`; raises DateError when unreadable, without a time, or past."""
    zone = ZoneInfo(tz)
    cleaned = re.sub(r"[,]", " ", (text or "").strip().lower())
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    local_now = now.astimezone(zone)
    try:
        moment, rest = _time_of(cleaned)
        day = _date_of(re.sub(r"(^|\s)(at|-|on)(?=\s|$)", " ", rest).strip(), local_now.date())
    except ValueError as exc:  # 31 Feb and friends
        if isinstance(exc, DateError):
            raise
        raise DateError("unreadable") from None
    if day is None:
        raise DateError("unreadable")
    if moment is None:
        raise DateError("no_time")
    when = datetime.combine(day, moment, tzinfo=zone)
    if when <= now:
        raise DateError("past", when)
    return when


def full(moment: datetime, tz: str = "Europe/London") -> str:
    """'Saturday 5 December 2026, 19:00'."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M}"


def short(moment: datetime, tz: str = "Europe/London") -> str:
    """'Sat 5 Dec 19:00'."""
    local = moment.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M}"
