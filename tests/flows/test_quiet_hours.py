"""Quiet hours across the clock changes: the opening time is never past, never still quiet.

The oracle here is the wall clock: a moment whose local time (as a clock on the wall shows it)
lies inside the window is quiet, whatever quiet_hours.py thinks. Around the change of the
clocks the module may be quieter than that (a spell does not stop because the clocks went back
into an hour before its start), never less quiet.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from flows.values.quiet_hours import QuietHours

UTC = UTC
SECOND = timedelta(seconds=1)
# London, plus zones that change at other hours, by other amounts or the other way round.
ZONES = ["Europe/London", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "America/Santiago"]


def transitions(zone: str, year: int = 2026) -> list[datetime]:
    """Every instant in `year` at which the zone's UTC offset changes."""
    tz = ZoneInfo(zone)
    found, at = [], datetime(year, 1, 1, tzinfo=UTC)
    while at.year == year:
        nxt = at + timedelta(hours=1)
        if at.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo, hi = at, nxt
            while hi - lo > SECOND:
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            found.append(hi.replace(microsecond=0))
        at = nxt
    return found


CHANGES = {zone: transitions(zone) for zone in ZONES}


def wall_quiet(spec: str, zone: str, moment: datetime) -> bool:
    """The oracle: the local clock at `moment` shows a time inside the window."""
    a, b = (time.fromisoformat(part) for part in spec.split("-"))
    shown = moment.astimezone(ZoneInfo(zone)).time()
    if a == b:
        return False
    return a <= shown < b if a < b else shown >= a or shown < b


def clock_time(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# Boundaries mostly in the small hours, where the clocks change; sometimes anywhere in the day.
boundary = st.one_of(st.integers(0, 4 * 60 - 1), st.integers(0, 24 * 60 - 1)).map(clock_time)


@st.composite
def cases(draw: st.DrawFn) -> tuple[str, str, datetime]:
    zone = draw(st.sampled_from(ZONES))
    change = draw(st.sampled_from(CHANGES[zone]))
    moment = change + timedelta(seconds=draw(st.integers(-30 * 3600, 30 * 3600)))
    return f"{draw(boundary)}-{draw(boundary)}", zone, moment


LONDON_FALL_BACK = datetime(2026, 10, 25, 1, 0, tzinfo=UTC)  # 02:00 BST → 01:00 GMT: 01:00-02:00 twice
LONDON_SPRING_FORWARD = datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 01:00 GMT → 02:00 BST: no 01:00-02:00


@settings(max_examples=1500, deadline=None)
@given(cases())
@example(("00:30-01:30", "Europe/London", LONDON_FALL_BACK + timedelta(minutes=15)))
@example(("01:30-08:00", "Europe/London", LONDON_FALL_BACK + timedelta(minutes=10)))
@example(("01:30-08:00", "Europe/London", LONDON_FALL_BACK - timedelta(minutes=10)))
@example(("00:30-01:30", "Europe/London", LONDON_SPRING_FORWARD - timedelta(minutes=10)))
@example(("01:30-08:00", "Europe/London", LONDON_SPRING_FORWARD + timedelta(minutes=10)))
def test_the_opening_is_never_past_and_never_quiet(case: tuple[str, str, datetime]) -> None:
    spec, zone, moment = case
    quiet = QuietHours.parse(spec, zone)
    if wall_quiet(spec, zone, moment):
        assert quiet.quiet(moment), "the clock shows a quiet time"
    opens = quiet.opens(moment)
    assert opens >= moment, f"opens {opens} before {moment}"
    assert not quiet.quiet(opens), f"opens {opens} inside quiet hours"
    assert not wall_quiet(spec, zone, opens), f"at {opens} the clock shows a quiet time"
    if quiet.quiet(moment):
        assert opens > moment and quiet.quiet(opens - SECOND), "not the first moment it opens"
        assert opens - moment <= timedelta(hours=48)  # a night the clocks skip can join two spells
    else:
        assert opens == moment


@settings(max_examples=1500, deadline=None)
@given(cases())
@example(("01:30-08:00", "Europe/London", LONDON_FALL_BACK + timedelta(minutes=10)))
@example(("00:30-01:30", "Europe/London", LONDON_FALL_BACK + timedelta(minutes=10)))
@example(("01:30-08:00", "Europe/London", LONDON_SPRING_FORWARD - timedelta(minutes=10)))
def test_the_next_quiet_spell_begins_after_now_and_is_quiet(case: tuple[str, str, datetime]) -> None:
    spec, zone, moment = case
    quiet = QuietHours.parse(spec, zone)
    begins = quiet.begins_after(moment)
    if spec.split("-")[0] == spec.split("-")[1]:
        assert begins is None
        return
    assert begins is not None and begins > moment, f"begins {begins}, not after {moment}"
    assert begins - moment <= timedelta(hours=49)
    assert quiet.quiet(begins), f"nothing is quiet at {begins}"
    if not quiet.quiet(moment) and begins - SECOND > moment:
        assert not quiet.quiet(begins - SECOND), "a quiet spell began earlier than said"


@pytest.mark.parametrize("spec", ["00:30-01:30", "01:30-08:00", "21:00-01:30", "01:10-01:20"])
def test_a_spell_in_the_repeated_hour_lasts_until_the_clock_last_shows_its_end(spec):
    """Once quiet, it stays quiet until the clock shows the end for the last time that night."""
    quiet = QuietHours.parse(spec, "Europe/London")
    zone = ZoneInfo("Europe/London")
    start, end = (time.fromisoformat(part) for part in spec.split("-"))
    first_start = datetime.combine(date(2026, 10, 25) - timedelta(days=start > end), start,
                                   tzinfo=zone).astimezone(UTC)
    last_end = datetime.combine(date(2026, 10, 25), end, tzinfo=zone).replace(fold=1).astimezone(UTC)
    at = first_start
    while at < last_end:
        assert quiet.quiet(at), at
        assert quiet.opens(at) == last_end, at
        at += timedelta(minutes=1)
    assert not quiet.quiet(last_end)


def test_a_skipped_boundary_is_where_the_clocks_jump():
    """01:30 never happens on the night the clocks go forward: the spell starts (or ends) at the jump."""
    jump = LONDON_SPRING_FORWARD  # 01:00 GMT, when the clock shows 02:00 BST
    starts = QuietHours.parse("01:30-08:00", "Europe/London")
    assert starts.begins_after(jump - timedelta(hours=2)) == jump
    assert not starts.quiet(jump - SECOND) and starts.quiet(jump)
    ends = QuietHours.parse("00:30-01:30", "Europe/London")
    assert ends.quiet(jump - SECOND) and ends.opens(jump - timedelta(minutes=20)) == jump
    never = QuietHours.parse("01:10-01:40", "Europe/London")  # the clock never shows it that night
    assert not any(never.quiet(jump + timedelta(minutes=m)) for m in range(-120, 120))
