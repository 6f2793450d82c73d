"""Rate limits kept in the service's memory: sign-in requests per address and per client, API
calls per token. One service holds a database (its lock), so one process sees every request."""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Limiter:
    """At most `limit` events per key in any `window` seconds."""
    limit: int
    window: float
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def allow(self, key: str, limit: int | None = None) -> bool:
        """Count one event for `key` if it is within the limit (`limit` overrides the default for
        this key: a token's own rate); False, counting nothing, when it is not."""
        now = time.monotonic()
        times = self._expire(key, now)
        if len(times) >= (self.limit if limit is None else limit):
            return False
        times.append(now)
        if len(self._seen) > 10_000:
            self._seen = {k: v for k, v in self._seen.items() if v and v[-1] > now - self.window}
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until `key` may have one more event (at least 1), for a Retry-After header."""
        now = time.monotonic()
        times = self._expire(key, now)
        if not times:
            return 1
        return max(1, math.ceil(times[0] + self.window - now))

    def _expire(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
