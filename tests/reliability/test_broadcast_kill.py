"""SIGKILL the service mid-broadcast at seeded moments: nothing is ever sent twice.

Each broadcast goes to every supporter. The service is killed whenever the fake providers have
accepted a seeded random number of its messages (several kill points per broadcast, so some kills
land just after a restart's recovery), started again each time, and finally left to finish.
Then, per recipient: received at most once; received exactly once unless the outbox row says
`unknown`; and each restart marks at most the in-flight window `unknown`.

    MUSTER_RELIABILITY_KILLS=20 MUSTER_RELIABILITY_KILLS_PER_BROADCAST=4 \
        MUSTER_RELIABILITY_SUPPORTERS=10000 pytest tests/reliability -s
"""
from __future__ import annotations

import json
import os
import random
from collections import Counter
from pathlib import Path

from tests.reliability.live import BATCH, Muster, providers, wait_until

KILLS = int(os.environ.get("MUSTER_RELIABILITY_KILLS", "20"))
SUPPORTERS = int(os.environ.get("MUSTER_RELIABILITY_SUPPORTERS", "10000"))
PER_BROADCAST = int(os.environ.get("MUSTER_RELIABILITY_KILLS_PER_BROADCAST", "4"))
WINDOW = BATCH * 2  # one worker per channel, each with at most BATCH sends in flight


def test_sigkill_mid_broadcast_never_sends_twice(tmp_path: Path) -> None:
    rng = random.Random(8)
    figures = {"broadcasts": 0, "kills": 0, "in_flight_at_kill": 0, "restarts": 0, "messages": 0, "duplicates": 0,
               "unknown": 0, "lost": 0,
               "max_unknown_per_kill": 0}
    with providers(seed=8) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        chats, phones = muster.seed_supporters(SUPPORTERS)
        muster.start()

        def received(body: str) -> tuple[Counter, Counter]:
            return (Counter(str(m["chat_id"]) for m in telegram.sent_messages() if body in m["text"]),
                    Counter(m["To"] for m in twilio.messages if body in m["Body"]))

        kills_left, round_no = KILLS, 0
        while kills_left:
            kills = min(PER_BROADCAST, kills_left)
            kills_left -= kills
            body = f"Round {round_no}: march on Saturday, 11am at the square."
            # Each kill may leave up to WINDOW messages unsent, so aim below what can still arrive.
            points = sorted(rng.sample(range(1, SUPPORTERS - WINDOW * kills), kills))
            before = telegram.call_count + twilio.message_count
            broadcast_id = muster.start_broadcast(body, SUPPORTERS)
            for point in points:
                def sent_since_start(before: int = before, point: int = point) -> bool:
                    return telegram.call_count + twilio.message_count - before >= point
                wait_until(sent_since_start, 120, f"{point} messages of round {round_no}")
                muster.kill()
                figures["kills"] += 1
                in_flight, handed = muster.sql(
                    "SELECT COUNT(*), COUNT(handed_at) FROM outbox WHERE broadcast_id = ? AND status = 'sending'",
                    (broadcast_id,))[0]
                unknown_before = muster.outbox_status(broadcast_id)["unknown"]
                muster.start()  # recovers: handed rows become `unknown`, never resent; the rest queue again
                figures["restarts"] += 1
                marked = muster.outbox_status(broadcast_id)["unknown"] - unknown_before
                assert marked == handed <= in_flight <= WINDOW, (marked, handed, in_flight)
                figures["in_flight_at_kill"] += in_flight
                figures["max_unknown_per_kill"] = max(figures["max_unknown_per_kill"], marked)
            muster.wait_finished(broadcast_id, 120)
            tg, sms = received(body)
            rows = {(channel, address): state for channel, address, state in muster.sql(
                "SELECT channel, address, status FROM outbox WHERE broadcast_id = ?", (broadcast_id,))}
            assert len(rows) == SUPPORTERS  # one message per supporter, never two rows
            for channel, counts, addresses in (("telegram", tg, chats), ("sms", sms, phones)):
                assert set(counts) <= set(addresses)
                for address in addresses:
                    state, got = rows[(channel, address)], counts[address]
                    figures["duplicates"] += got > 1
                    assert got <= 1, f"{channel} {address} received round {round_no} {got} times"
                    if state == "sent":
                        assert got == 1, f"{channel} {address} marked sent but never received"
                    else:
                        assert state == "unknown", f"{channel} {address} left {state}"
                        figures["unknown"] += 1
                        figures["lost"] += got == 0
            figures["messages"] += sum(tg.values()) + sum(sms.values())
            figures["broadcasts"] += 1
            round_no += 1
        muster.stop()
    muster.clean_log()
    print("\nreliability:", json.dumps(figures | {"supporters": SUPPORTERS, "window": WINDOW}))
