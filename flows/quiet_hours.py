"""Quiet hours for bulk SMS: outside the window, broadcasts wait until it opens.

"21:00-09:00" means quiet from 21:00 until 09:00 local time (crossing midnight);
an empty string means never quiet. Replies to a supporter's own message never wait:
only broadcasts ask this module.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
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

    def quiet(self, moment: datetime) -> bool:
        if self.start is None or self.end is None or self.start == self.end:
            return False
        local = moment.astimezone(self.zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def begins_after(self, moment: datetime) -> datetime | None:
        """The next moment a quiet spell starts, after `moment` (None when never quiet)."""
        if self.start is None or self.end is None or self.start == self.end:
            return None
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=self.zone).astimezone(moment.tzinfo)

    def opens(self, moment: datetime) -> datetime:
        """When bulk SMS may go: `moment` itself if not quiet, else the end of the quiet spell."""
        if not self.quiet(moment) or self.end is None:
            return moment
        local = moment.astimezone(self.zone)
        day = local.date() if local.time() < self.end else local.date() + timedelta(days=1)
        return datetime.combine(day, self.end, tzinfo=self.zone).astimezone(moment.tzinfo)
