"""Quiet hours for bulk SMS: outside the window, broadcasts wait until it opens.

"21:00-09:00" means quiet from 21:00 until 09:00 local time (crossing midnight);
an empty string means never quiet. Replies to a supporter's own message never wait:
only broadcasts ask this module.

The window is read off the local clock, which is not a straight line: when the clocks go back an
hour is lived twice, and when they go forward one is skipped. A spell is therefore a span of real
time, from the first moment the clock shows its start to the last moment it shows its end
(`QuietHours.spell`), so that an opening time is never in the past and never inside the window.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time | None
    end: time | None
    zone: ZoneInfo

    @classmethod
    @lru_cache(maxsize=16)  # asked once per message on some paths; the setting rarely changes
    def parse(cls, spec: str, tz: str = "Europe/London") -> QuietHours:
        """'21:00-09:00' → QuietHours; raises ValueError with the expected form."""
        zone = ZoneInfo(tz)
        if not spec.strip():
            return cls(None, None, zone)
        try:
            a, b = spec.split("-")
            start, end = time.fromisoformat(a.strip()), time.fromisoformat(b.strip())
        except ValueError:
            raise ValueError(f"quiet hours {spec!r}: expected HH:MM-HH:MM, e.g. 21:00-09:00") from None
        return cls(start, end, zone)

    @property
    def never(self) -> bool:
        return self.start is None or self.end is None or self.start == self.end

    def spell(self, day: date) -> tuple[datetime, datetime]:
        """The quiet spell that begins on local date `day`, as UTC instants [begins, ends).

        It begins the first time the clock shows its start and ends the last time the clock shows
        its end: when the clocks go back through a boundary the spell keeps the repeated hour (it
        never stops, or opens, in an hour that is about to be lived again), and when they jump
        over a boundary it begins or ends at the jump.
        """
        assert self.start is not None and self.end is not None
        begins = _instant(day, self.start, self.zone, last=False)
        ends = _instant(day if self.start < self.end else day + timedelta(days=1), self.end, self.zone, last=True)
        return begins, ends

    def _spells_around(self, moment: datetime) -> list[tuple[datetime, datetime]]:
        """The spells that begin from the day before `moment`'s local date to two days after it."""
        today = moment.astimezone(self.zone).date()
        return [self.spell(today + timedelta(days=n)) for n in range(-1, 3)]

    def quiet(self, moment: datetime) -> bool:
        if self.never:
            return False
        return any(begins <= moment < ends for begins, ends in self._spells_around(moment))

    def begins_after(self, moment: datetime) -> datetime | None:
        """The next moment a quiet spell starts, after `moment` (None when never quiet)."""
        if self.never:
            return None
        later = [begins for begins, ends in self._spells_around(moment) if begins > moment and begins < ends]
        return min(later).astimezone(moment.tzinfo)

    def opens(self, moment: datetime) -> datetime:
        """When bulk SMS may go: `moment` itself if not quiet, else the end of the quiet spell."""
        if self.never:
            return moment
        at = moment
        while True:  # spells may overlap (a night made longer by the clocks going back)
            ends = [e for b, e in self._spells_around(at) if b <= at < e]
            if not ends:
                return at.astimezone(moment.tzinfo)
            at = max(ends)


def _instant(day: date, wall: time, zone: ZoneInfo, *, last: bool) -> datetime:
    """The UTC instant at which the clock in `zone` shows `wall` on `day`: of two (the clocks went
    back), the first, or with `last` the second; of none (they jumped over it), the jump."""
    naive = datetime.combine(day, wall)
    first = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    second = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    if first <= second:  # the same instant for an ordinary time; two for a repeated one
        return second if last else first
    # Skipped: fold=0 read it with the offset before the jump and fold=1 with the one after, so
    # the jump lies between the two (tz data changes offsets on whole seconds).
    after = naive.replace(tzinfo=zone, fold=1).utcoffset()
    lo, hi = math.floor(second.timestamp()), math.ceil(first.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)
