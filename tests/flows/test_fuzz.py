"""Arbitrary Unicode at every sign-up step: never an exception, always a reply (or silence when opted out)."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage import supporters

# Steps reached by these answers, in order; fuzz is sent after each prefix.
PATH = ["JOIN", "Sam", "M1 1AE", "1 3", "sam@example.org", "yes"]
_texts = st.text(st.characters(codec="utf-8"), max_size=80) | st.sampled_from(
    ["", " ", "STOP", "yes", "no", "skip", "1 9", "0", "/start r_", "/start g_99999999999999", "JOIN ???", "\x00",
     "🙂" * 40]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(min_value=0, max_value=len(PATH)), channel=st.sampled_from(["sms", "telegram"]),
       junk=st.lists(_texts, min_size=1, max_size=3), press=st.none() | st.text(min_size=1, max_size=20))
async def test_any_text_at_any_step_is_answered(harness, depth, channel, junk, press) -> None:
    address = {"sms": f"+4474{abs(hash((depth, tuple(junk)))) % 10**8:08d}",
               "telegram": str(10**9 + abs(hash(tuple(junk))) % 10**8)}[channel]
    for text in PATH[:depth]:
        harness.clock.advance(seconds=10)  # stay under the per-minute flood limit
        await harness.say(channel, address, text)
    for text in junk:
        harness.clock.advance(seconds=10)
        async with harness.db.transaction() as tx:
            before = await supporters.find(tx, channel, address)
        result = await harness.send(channel, address, text)
        await harness.deliver()
        replies = harness.channels[channel].pop(address)
        assert not result.failed, f"step raised on {text!r}"
        async with harness.db.transaction() as tx:
            after = await supporters.find(tx, channel, address)
        if after.consent(channel) == "opted_out" and before and before.consent(channel) == "opted_out":
            assert replies == []  # opted out before and after: silence
        elif text.strip():
            assert replies, f"no reply to {text!r}"
    if press:
        harness.clock.advance(seconds=10)
        result = await harness.send(channel, address, "", choice=press)
        assert not result.failed
