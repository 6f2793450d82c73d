from __future__ import annotations

import pytest

from bot.pacing import Pacer


def _windows(times: list[float]) -> int:
    """The most sends in any one-second window."""
    return max(sum(1 for u in times if t <= u < t + 1) for t in times)


def test_overall_rate_is_never_exceeded_in_any_second():
    pacer, now, sent = Pacer(25), 100.0, []
    for _ in range(200):
        sent.append(now + pacer.reserve(now))
    assert _windows(sent) <= 25
    assert sent[-1] - sent[0] < 8.0  # and it does not crawl


def test_one_message_per_second_to_one_chat_while_others_proceed():
    pacer = Pacer(30, key_interval=lambda key: 1.0)
    now = 0.0
    same = [now + pacer.reserve(now, "chat-1") for _ in range(3)]
    other = now + pacer.reserve(now, "chat-2")
    assert same[1] - same[0] >= 1.0 and same[2] - same[1] >= 1.0
    assert other < 0.2


def test_cost_counts_units_not_messages():
    pacer = Pacer(10)
    assert pacer.reserve(0.0, cost=5) == 0.0
    assert pacer.reserve(0.0, cost=1) == 0.5


def test_pause_holds_everything_until_it_ends():
    pacer = Pacer(None)
    pacer.pause(10.0, 30)
    assert pacer.reserve(12.0) == 28.0
    assert not pacer.paused(40.0)


def test_late_sleeps_never_put_more_than_the_rate_in_one_second():
    pacer, sent, now = Pacer(10), [], 0.0
    for i in range(50):
        slot = now + pacer.reserve(now)
        actual = slot + (0.004 if i % 3 == 0 else 0.0)  # some sleeps overshoot
        actual += pacer.settle(actual)
        actual += 0.003 if i % 4 == 0 else 0.0  # and so may the extra wait
        pacer.sent(actual)
        sent.append(actual)
        now = actual
    assert _windows(sent) <= 10


def test_a_share_of_the_rate_is_held_in_every_second_too():
    """A worker's share (the rate divided among workers) bounds its sends in any one second, not the
    whole rate: with three workers each keeps to a third, so together they keep to the rate."""
    pacer = Pacer(150)
    pacer.rate = 50
    for i in range(50):
        pacer.sent(i * 0.01)
    assert pacer.settle(0.5) == pytest.approx(0.5)  # the 51st waits until a second after the first
    pacer.rate = 150
    assert pacer.settle(0.5) == 0.0
