"""The dates organisers type, in English and Welsh, read in Europe/London against a fixed clock.

NOW is Monday 2 November 2026, 12:00 GMT. Expected moments are London wall-clock times; the
clock changes are 28 March 2027 (01:00 GMT -> 02:00 BST) and 25 October 2026 (02:00 BST -> 01:00 GMT).
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flows.values import dates

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=LONDON)


def read(text: str, now: datetime = NOW, **kwargs) -> datetime:
    got = dates.parse(text, now, "Europe/London", **kwargs)
    assert str(got.tzinfo) == "Europe/London"
    return got


ENGLISH = [
    ("tomorrow 7pm", at(2026, 11, 3, 19, 0)),
    ("Sat 2pm", at(2026, 11, 7, 14, 0)),
    ("3 Oct 19:00", at(2027, 10, 3, 19, 0)),  # 3 October 2026 has gone: the next one
    ("2026-12-03 19:00", at(2026, 12, 3, 19, 0)),
    ("in 2 hours", at(2026, 11, 2, 14, 0)),
    ("Monday 14:00", at(2026, 11, 2, 14, 0)),  # today is Monday, and 14:00 is still to come
    ("next Monday 14:00", at(2026, 11, 9, 14, 0)),
    ("next Sat 2pm", at(2026, 11, 7, 14, 0)),
    ("Sat midday", at(2026, 11, 7, 12, 0)),
    ("2 Nov 1pm", at(2026, 11, 2, 13, 0)),  # today, later on
    ("19:00", at(2026, 11, 2, 19, 0)),  # a time alone: the next such time
    ("09:00", at(2026, 11, 3, 9, 0)),
    ("tonight 8pm", at(2026, 11, 2, 20, 0)),
    ("5/12 10:00", at(2026, 12, 5, 10, 0)),  # day first
    ("3rd October 7pm", at(2027, 10, 3, 19, 0)),
    ("14:00 BST", at(2026, 11, 2, 13, 0)),  # a zone written in the text is honoured
    # The cases the earlier English-only reader was tested with, kept.
    ("Sat 14:00", at(2026, 11, 7, 14, 0)),
    ("3 Oct 7pm", at(2027, 10, 3, 19, 0)),
    ("2026-12-05 19:00", at(2026, 12, 5, 19, 0)),
    ("tomorrow 18:30", at(2026, 11, 3, 18, 30)),
    ("today 1pm", at(2026, 11, 2, 13, 0)),
    ("next Monday 7.30pm", at(2026, 11, 9, 19, 30)),
    ("Dec 5 at noon", at(2026, 12, 5, 12, 0)),
    ("5/12/2026 09:15", at(2026, 12, 5, 9, 15)),
    ("Saturday 3rd of April 2027, 10am", at(2027, 4, 3, 10, 0)),
]

WELSH = [
    ("Sadwrn 2pm", at(2026, 11, 7, 14, 0)),
    ("dydd Sadwrn 14:00", at(2026, 11, 7, 14, 0)),
    ("ddydd Sadwrn 2pm", at(2026, 11, 7, 14, 0)),
    ("3 Hydref 19:00", at(2027, 10, 3, 19, 0)),
    ("3ydd Hydref 7yh", at(2027, 10, 3, 19, 0)),
    ("1af Rhagfyr 10yb", at(2026, 12, 1, 10, 0)),
    ("nos Wener 7pm", at(2026, 11, 6, 19, 0)),
    ("nos Wener 7", at(2026, 11, 6, 19, 0)),  # evening: a bare hour is after noon
    ("nos Fawrth am 7.30", at(2026, 11, 3, 19, 30)),  # "am" is "at"
    ("nos Iau 8 o'r gloch", at(2026, 11, 5, 20, 0)),
    ("bore Sadwrn 10", at(2026, 11, 7, 10, 0)),
    ("prynhawn dydd Sul 3", at(2026, 11, 8, 15, 0)),
    ("dydd Gwener am 19:00", at(2026, 11, 6, 19, 0)),
    ("dydd Mawrth 3pm", at(2026, 11, 3, 15, 0)),  # Tuesday
    ("3 Mawrth 3pm", at(2027, 3, 3, 15, 0)),  # March
    ("Llun 2pm", at(2026, 11, 2, 14, 0)),  # today
    ("dydd Llun nesaf 2pm", at(2026, 11, 9, 14, 0)),  # next Monday
    ("Sadwrn hanner dydd", at(2026, 11, 7, 12, 0)),
    ("yfory 10am", at(2026, 11, 3, 10, 0)),
    ("heddiw 3pm", at(2026, 11, 2, 15, 0)),
    ("heno 8", at(2026, 11, 2, 20, 0)),
    ("ymhen 2 awr", at(2026, 11, 2, 14, 0)),
]


@pytest.mark.parametrize("text, expected", ENGLISH + WELSH, ids=[t for t, _ in ENGLISH + WELSH])
def test_reads_english_and_welsh(text, expected):
    assert read(text) == expected


@pytest.mark.parametrize("text, reason", [
    ("banana", "unreadable"), ("next blursday", "unreadable"), ("", "unreadable"), ("   ", "unreadable"),
    ("Oct 10am", "unreadable"),  # which day of October?
    ("32 Oct 10am", "unreadable"), ("5 10:00", "unreadable"), ("Sat 13pm", "unreadable"),
    ("Mawrth 3pm", "unreadable"),  # March or Tuesday: dateparser reads March, and no day is given
    ("1730000000", "unreadable"),  # not a Unix time
    ("Sat 14:00 " + "x" * 100, "unreadable"),
    ("dydd Sadwrn", "no_time"), ("nos Wener", "no_time"), ("yfory", "no_time"), ("heno", "no_time"),
    ("3 Hydref", "no_time"), ("friday evening", "no_time"), ("tonight", "no_time"), ("in 2 days", "no_time"),
    ("31 Feb 10:00", "unreadable"), ("Sat 25:00", "unreadable"), ("Saturday", "no_time"),
    ("2025-06-01 12:00", "past"), ("today 9am", "past"),
    ("2 hours ago", "past"), ("now", "past"), ("ddoe 3pm", "past"), ("2026-10-03 19:00", "past"),
])
def test_refused(text, reason):
    with pytest.raises(dates.DateError) as caught:
        dates.parse(text, NOW, "Europe/London")
    assert caught.value.reason == reason


@pytest.mark.parametrize("text, when", [
    # Today is included, so a time already gone today is refused, not moved a week or a year on.
    ("Mon 9am", at(2026, 11, 2, 9, 0)), ("dydd Llun 9am", at(2026, 11, 2, 9, 0)),
    ("2 Nov 9am", at(2026, 11, 2, 9, 0)), ("2 Tachwedd 9yb", at(2026, 11, 2, 9, 0)),
    ("heddiw 9am", at(2026, 11, 2, 9, 0)),
])
def test_a_time_gone_today_is_past_and_says_when(text, when):
    with pytest.raises(dates.DateError) as caught:
        dates.parse(text, NOW, "Europe/London")
    assert caught.value.reason == "past" and caught.value.when == when
    assert dates.full(caught.value.when) == "Monday 2 November 2026, 09:00"


def test_the_deployments_languages():
    assert read("Sat 2pm", languages=["en"]) == at(2026, 11, 7, 14, 0)
    with pytest.raises(dates.DateError):
        dates.parse("dydd Sadwrn 14:00", NOW, "Europe/London", languages=["en"])
    assert read("dydd Sadwrn 14:00", languages=["cy"]) == at(2026, 11, 7, 14, 0)


def test_read_in_the_events_timezone():
    got = dates.parse("Sat 14:00", NOW, "America/New_York")
    assert got == datetime(2026, 11, 7, 14, 0, tzinfo=ZoneInfo("America/New_York"))
    assert got.astimezone(UTC).hour == 19
    # Late on Monday evening in London it is already Tuesday in Sydney: "tomorrow" is Wednesday there.
    late = datetime(2026, 11, 2, 22, 0, tzinfo=UTC)
    assert dates.parse("tomorrow 10am", late, "Australia/Sydney").date() == datetime(2026, 11, 4).date()


# -- the clock changes --------------------------------------------------------------------------
SPRING = datetime(2027, 3, 28, 0, 30, tzinfo=UTC)  # 00:30 GMT, half an hour before the clocks go forward
AUTUMN_FIRST = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST, the first 01:30
AUTUMN_SECOND = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # 01:30 GMT, the second


@pytest.mark.parametrize("text, now, utc", [
    ("in 2 hours", SPRING, datetime(2027, 3, 28, 2, 30)),  # two real hours: 03:30 BST
    ("ymhen 90 munud", SPRING, datetime(2027, 3, 28, 2, 0)),
    ("01:30", SPRING, datetime(2027, 3, 28, 1, 30)),  # never on the clock: 02:30 BST
    ("today 3pm", SPRING, datetime(2027, 3, 28, 14, 0)),  # BST from 01:00 GMT
    ("yfory 10am", SPRING, datetime(2027, 3, 29, 9, 0)),
    ("in 2 hours", AUTUMN_FIRST, datetime(2026, 10, 25, 2, 30)),  # 02:30 GMT, not 03:30
    ("01:45", AUTUMN_FIRST, datetime(2026, 10, 25, 0, 45)),  # the first 01:45 (BST)
    ("01:45", AUTUMN_SECOND, datetime(2026, 10, 25, 1, 45)),  # only the second is still to come
    ("today 3pm", AUTUMN_FIRST, datetime(2026, 10, 25, 15, 0)),  # GMT again by then
    ("Sun 14:00", datetime(2026, 10, 24, 11, 0, tzinfo=UTC), datetime(2026, 10, 25, 14, 0)),
    ("dydd Sul 14:00", datetime(2026, 10, 24, 11, 0, tzinfo=UTC), datetime(2026, 10, 25, 14, 0)),
    ("Sat 14:00", datetime(2027, 3, 26, 12, 0, tzinfo=UTC), datetime(2027, 3, 27, 14, 0)),
    ("Sun 14:00", datetime(2027, 3, 26, 12, 0, tzinfo=UTC), datetime(2027, 3, 28, 13, 0)),
])
def test_across_the_clock_changes(text, now, utc):
    assert read(text, now).astimezone(UTC).replace(tzinfo=None) == utc


def test_summer_and_winter_offsets():
    assert read("2027-07-01 19:00").utcoffset() == timedelta(hours=1)
    assert dates.full(read("2027-07-01 19:00")) == "Thursday 1 July 2027, 19:00"
    assert read("3 Rhagfyr 19:00").utcoffset() == timedelta(0)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet="0123456789 :./-apmyhdSadwrnosGenerMawthLlbxcfoi'", max_size=30),
       st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)))
def test_any_text_is_a_future_moment_in_the_zone_or_a_reason(text, now):
    try:
        got = dates.parse(text, now, "Europe/London")
    except dates.DateError as exc:
        assert exc.reason in ("unreadable", "no_time", "past")
        assert exc.reason != "past" or (exc.when is not None and exc.when <= now)
    else:
        assert got > now and str(got.tzinfo) == "Europe/London"


def test_broadcast_times_in_welsh_are_the_next_such_moment():
    from flows.organiser.broadcasts import parse_time

    # The scheduler moves a weekday gone today to next week, by the names in dates.WEEKDAYS.
    assert parse_time("dydd Llun 09:00", NOW, "Europe/London") == at(2026, 11, 9, 9, 0)
    assert parse_time("Llun 09:00", NOW, "Europe/London") == at(2026, 11, 9, 9, 0)
    assert parse_time("nos Lun 8", NOW, "Europe/London") == at(2026, 11, 2, 20, 0)
    assert parse_time("yfory 18:30", NOW, "Europe/London") == at(2026, 11, 3, 18, 30)
