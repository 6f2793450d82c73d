"""Pacing: how fast a channel may send, overall and to any one chat.

Each send reserves the next free slot (a virtual schedule, no bursts), so no window
of one second ever holds more than the rate. Times are plain seconds from the
dispatcher's clock, so tests drive it with a fake clock and never sleep.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable


class Pacer:
    def __init__(
        self, rate: float | None, key_interval: Callable[[str], float] | None = None,
    ) -> None:
        self.key_interval = key_interval  # minimum seconds between sends to one key
        self._next_free = 0.0
        self._next_for_key: dict[str, float] = {}
        self._paused_until = 0.0
        self._sent: deque[float] = deque(maxlen=1)
        self.rate = rate

    @property
    def rate(self) -> float | None:
        """Units per second overall; None for unpaced. A worker's share of the rate when several
        share it (bot.dispatcher), so it changes while sends are paced."""
        return self._rate

    @rate.setter
    def rate(self, rate: float | None) -> None:
        self._rate = rate
        # Actual send times of the last `rate` sends: sleeps overshoot by varying amounts.
        self._window = max(1, int(rate or 1))
        if self._sent.maxlen != self._window:
            self._sent = deque(self._sent, maxlen=self._window)

    def reserve(self, now: float, key: str = "", cost: float = 1.0) -> float:
        """Book a slot for one send; returns how many seconds to wait before sending."""
        slot = max(now, self._paused_until)
        if self.rate:
            slot = max(slot, self._next_free)
            self._next_free = slot + cost / self.rate
        if self.key_interval and key:
            slot = max(slot, self._next_for_key.get(key, 0.0))
            self._next_for_key[key] = slot + self.key_interval(key)
            if len(self._next_for_key) > 10_000:
                self._next_for_key = {k: t for k, t in self._next_for_key.items() if t > now}
        return slot - now

    def settle(self, now: float) -> float:
        """Just before sending: extra seconds to wait so no one-second window exceeds the rate.

        Booked slots are exact, but each sleep overshoots a little; a late send followed by an
        on-time one could otherwise put rate + 1 sends inside one second.
        """
        if not self.rate or len(self._sent) < self._window:
            return 0.0
        return max(0.0, self._sent[0] + 1.0 - now)

    def sent(self, now: float) -> None:
        """Record the actual moment of a send (after any sleep), for settle()."""
        if self.rate:
            self._sent.append(now)

    def pause(self, now: float, seconds: float) -> None:
        """The provider said stop for a while: nothing new is booked before then."""
        self._paused_until = max(self._paused_until, now + seconds)
        self._next_free = max(self._next_free, self._paused_until)

    def paused(self, now: float) -> bool:
        return now < self._paused_until

    def batch_size(self, cap: int) -> int:
        """How many rows to claim at once: about a second's worth, so replies are not stuck behind bulk."""
        return cap if not self.rate else max(1, min(cap, int(self.rate)))
