"""Reading the dates organisers type, in English and Welsh ("Sat 14:00", "3 Oct 7pm", "tomorrow 18:30",
"dydd Sadwrn 14:00", "3 Hydref 19:00", "yfory 10am"), and showing them back.

dateparser does the reading; this module holds the rules around it. Every form is read in the
event's timezone. A weekday, or a date without a year, is the next such day (today included); a
time alone is the next such time; "in 2 hours" counts real hours, across a change of the clocks
too. A moment in the past is refused, never moved; so is a text without a time, or one that does
not say which day (a month without its day, a lone number).

dateparser is imported on first use: it takes a tenth of a second to import and a few more to
load its language data, which it then keeps.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from dateparser.date import DateData

LANGUAGES = ("en", "cy")
MAX_LENGTH = 80  # longer than any date; dateparser's time grows with the text

# Weekday names a text may carry, to the weekday's number (Monday 0). Welsh names are given as
# typed: alone ("Sadwrn"), after "dydd", or softly mutated after "nos" ("nos Wener"). "Mawrth"
# alone is also March, so only its mutated form is here.
WEEKDAYS = {name: n for n, names in enumerate((
    ("mon", "monday", "llun", "lun"), ("tue", "tues", "tuesday", "fawrth"),
    ("wed", "weds", "wednesday", "mercher", "fercher"), ("thu", "thur", "thurs", "thursday", "iau"),
    ("fri", "friday", "gwener", "wener"), ("sat", "saturday", "sadwrn"), ("sun", "sunday", "sul"),
)) for name in names}

_SETTINGS: dict[str, Any] = {
    "PREFER_DATES_FROM": "future",
    # The wall clock as written: the event's zone is applied here, not by dateparser (whose own
    # zone handling would shift a bare time by the zone's offset).
    "TIMEZONE": "UTC",
    "RETURN_TIME_AS_PERIOD": True,  # tells "Saturday" (a day) from "Saturday 2pm" (a time)
    "DATE_ORDER": "DMY",  # 5/12 is 5 December
    "PARSERS": ["relative-time", "absolute-time"],  # no Unix timestamps
}

# dateparser's Welsh knows "dydd Sadwrn" and "Sad" but not "Sadwrn" alone, the forms after "nos"
# (evening), "bore" (morning) or "prynhawn" (afternoon), "nesaf" (next), "am" for "at", or
# "o'r gloch"; nor does its English know "midday" or "next Sat". These few are rewritten first.
_WELSH_DAYS = {"llun": "llun", "lun": "llun", "mawrth": "mawrth", "fawrth": "mawrth", "mercher": "mercher",
               "fercher": "mercher", "iau": "iau", "gwener": "gwener", "wener": "gwener", "sadwrn": "sadwrn",
               "sul": "sul"}
_PARTS_OF_DAY = {"nos": "pm", "heno": "pm", "prynhawn": "pm", "pnawn": "pm", "p'nawn": "pm",
                 "bore": "am", "fore": "am"}
_PART = r"(?:nos|bore|fore|prynhawn|p'?nawn)"
_WELSH_DAY = re.compile(
    rf"(?<!\w)(?:(?P<part>{_PART})\s+)?(?:(?P<dydd>d?dydd)\s+)?(?P<day>{'|'.join(_WELSH_DAYS)})"
    r"(?:\s+(?P<next>nesaf|nesa))?(?!\w)")
_PART_WORD = re.compile(rf"(?<!\w)(?:{_PART}|heno)(?!\w)")
_CLOCK_WORDS = ((re.compile(r"(?<!\w)hanner nos(?!\w)"), "00:00"),
                (re.compile(r"(?<!\w)(?:hanner|canol) dydd(?!\w)"), "12:00"),
                (re.compile(r"(?<!\w)midday(?!\w)"), "noon"),
                (re.compile(r"(?<!\w)o'r gloch(?!\w)"), ""))
_WELSH_ORDINAL = re.compile(r"(?<!\w)(\d{1,2})(?:af|il|ydd|edd|ed|fed)(?!\w)")  # "3ydd Hydref", "1af"
_AT = re.compile(r"(?<!\d)(?<!\d )(?<!\w)am\s+(?=\d)")  # Welsh "am 7pm": "at", not a.m.
_MERIDIEM = re.compile(r"\d\s*(?:am|pm|yb|yh)(?!\w)|(?<!\w)(?:am|pm|yb|yh|noon)(?!\w)")
_LAST_HOUR = re.compile(r"(?<![\d/:.-])(?P<h>\d{1,2})(?:[:.]\d{2})?$")
_MODIFIED_DAY = re.compile(r"(?<!\w)(next|this|last)\s+(mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?!\w)")
_FULL_DAYS = {"mon": "monday", "tue": "tuesday", "tues": "tuesday", "wed": "wednesday", "weds": "wednesday",
              "thu": "thursday", "thur": "thursday", "thurs": "thursday", "fri": "friday", "sat": "saturday",
              "sun": "sunday"}
# A span of hours and minutes, as dateparser translates it ("ymhen 2 awr" is "in 2 hour").
_DURATION = re.compile(r"(?:in )?(?:\d+ (?:hour|minute|second) ?)+(?:ago)?")


class DateError(ValueError):
    """Why a date was refused: `reason` is 'unreadable', 'no_time' or 'past'."""

    def __init__(self, reason: str, when: datetime | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.when = when


def _normalised(text: str) -> tuple[str, bool]:
    """The text in the forms dateparser reads, and whether it asked for the *next* such weekday."""
    cleaned = re.sub(r"\s+", " ", (text or "").replace("\u2019", "'").lower()).strip()
    for pattern, replacement in _CLOCK_WORDS:
        cleaned = pattern.sub(replacement, cleaned)
    hint: str | None = None
    following = False

    def welsh_day(match: re.Match[str]) -> str:
        nonlocal hint, following
        if match["day"] == "mawrth" and not (match["part"] or match["dydd"]):
            return match[0]  # March
        if match["part"]:
            hint = _PARTS_OF_DAY[match["part"]]
        following = following or bool(match["next"])
        return f"dydd {_WELSH_DAYS[match['day']]}"

    cleaned = _WELSH_DAY.sub(welsh_day, cleaned)

    def part_of_day(match: re.Match[str]) -> str:
        nonlocal hint
        hint = _PARTS_OF_DAY[match[0]]
        return "heddiw" if match[0] == "heno" else ""

    cleaned = _PART_WORD.sub(part_of_day, cleaned)
    cleaned = _AT.sub("", cleaned)
    cleaned = _WELSH_ORDINAL.sub(r"\1", cleaned)
    cleaned = _MODIFIED_DAY.sub(lambda m: f"{m[1]} {_FULL_DAYS[m[2]]}", cleaned)
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    # "nos Wener 7" is 7 in the evening: a bare hour at the end takes the part of the day.
    if hint and not _MERIDIEM.search(cleaned) and (last := _LAST_HOUR.search(cleaned)) and 1 <= int(last["h"]) <= 11:
        cleaned += hint
    return cleaned, following


def _read(text: str, base: datetime, languages: tuple[str, ...]) -> DateData | None:
    from dateparser import DateDataParser  # noqa: PLC0415 - slow to import; only organisers' dates need it

    parser = DateDataParser(languages=list(languages), try_previous_locales=False,
                            settings={**_SETTINGS, "RELATIVE_BASE": base})
    data = parser.get_date_data(text)
    return data if data.date_obj is not None else None


@cache
def _translation_settings() -> Any:
    from dateparser.conf import settings  # noqa: PLC0415

    return settings.replace(**_SETTINGS)


def _translated(text: str, locale: str | None) -> str:
    """The text in dateparser's English ("ymhen 2 awr" -> "in 2 hour")."""
    from dateparser.languages.loader import default_loader  # noqa: PLC0415

    if locale is None:
        return ""
    translated: str = default_loader.get_locale(locale).translate(
        text, keep_formatting=False, settings=_translation_settings())
    return translated


def _year_later(day: date) -> date | None:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return None


def _in_zone(read: datetime, zone: ZoneInfo, now: datetime) -> datetime:
    if read.tzinfo is not None:  # the text named its zone ("14:00 BST")
        return read.astimezone(zone)
    # A wall time skipped when the clocks go forward (01:30 on the last Sunday of March in London)
    # is the moment an hour later on the clock; one that happens twice when they go back is the
    # first, unless only the second is still to come.
    first, second = read.replace(tzinfo=zone), read.replace(tzinfo=zone, fold=1)
    chosen = second if first <= now < second else first
    return chosen.astimezone(UTC).astimezone(zone)


def parse(text: str, now: datetime, tz: str = "Europe/London", languages: Sequence[str] | None = None) -> datetime:
    """The moment meant, in `tz`; raises DateError when unreadable, without a time, or past.

    `languages` are the deployment's (dateparser's codes); English and Welsh unless given.
    """
    zone = ZoneInfo(tz)
    local_now = now.astimezone(zone)
    base, today = local_now.replace(tzinfo=None), local_now.date()
    if len(text or "") > MAX_LENGTH:
        raise DateError("unreadable")
    cleaned, following = _normalised(text)
    if not cleaned:
        raise DateError("unreadable")
    langs = tuple(languages or LANGUAGES)
    data = _read(cleaned, base, langs)
    if data is None or data.date_obj is None or not {"day", "month"} <= set(data.parts):
        raise DateError("unreadable")
    if data.period != "time":
        raise DateError("no_time")
    read: datetime = data.date_obj
    # dateparser counts on the wall clock. That is right for days ("in 2 days", "tomorrow") and
    # wrong for hours across a change of the clocks, the one case where the two differ.
    offsets = {read.replace(tzinfo=zone, fold=fold).utcoffset() for fold in (0, 1)}
    if (read.tzinfo is None and offsets != {local_now.utcoffset()}
            and _DURATION.fullmatch(_translated(cleaned, data.locale).strip())):
        when = (now + (read - base)).astimezone(zone)
    else:
        # dateparser takes "Monday" on a Monday, and "2 Nov 9am" at noon on 2 November, as a week or
        # a year on; the rule here is today included, so read them again from the start of today.
        if (read.tzinfo is None and not following
                and read.date() in (today + timedelta(days=7), _year_later(today))
                and "next" not in _translated(cleaned, data.locale).split()):
            again = _read(cleaned, datetime.combine(today, time.min) - timedelta(microseconds=1), langs)
            if again is not None and again.date_obj is not None and again.date_obj.date() == today:
                read = again.date_obj
        when = _in_zone(read, zone, now)
    if when <= now:
        raise DateError("past", when)
    return when


# How a date is shown in each language other than English (Babel's CLDR data: day and month names,
# and their order). English keeps its own forms, unchanged. A language Babel does not know is shown
# in English.
_PATTERNS = {"full": "EEEE d MMMM y, HH:mm", "short": "EEE d MMM HH:mm", "day": "d MMM y"}


def _babel(local: datetime, form: str, lang: str) -> str | None:
    from babel.core import Locale, UnknownLocaleError  # noqa: PLC0415 - only non-English dates need it
    from babel.dates import format_datetime  # noqa: PLC0415

    try:
        locale = Locale.parse(lang)
    except (UnknownLocaleError, ValueError):
        return None
    return str(format_datetime(local, _PATTERNS[form], locale=locale))


def _shown(moment: datetime, tz: str, lang: str, form: str, english: str) -> str:
    local = moment.astimezone(ZoneInfo(tz))
    if lang != "en" and (other := _babel(local, form, lang)) is not None:
        return other
    return local.strftime(english.replace("%-d", str(local.day)))


def full(moment: datetime, tz: str = "Europe/London", lang: str = "en") -> str:
    """'Saturday 5 December 2026, 19:00'; in Welsh 'Dydd Sadwrn 5 Rhagfyr 2026, 19:00'."""
    return _shown(moment, tz, lang, "full", "%A %-d %B %Y, %H:%M")


def short(moment: datetime, tz: str = "Europe/London", lang: str = "en") -> str:
    """'Sat 5 Dec 19:00'; in Welsh 'Sad 5 Rhag 19:00'."""
    return _shown(moment, tz, lang, "short", "%a %-d %b %H:%M")


def day(moment: datetime, tz: str = "Europe/London", lang: str = "en") -> str:
    """'5 Dec 2026'; in Welsh '5 Rhag 2026'."""
    return _shown(moment, tz, lang, "day", "%-d %b %Y")
