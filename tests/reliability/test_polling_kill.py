"""Telegram in polling mode, SIGKILLed while updates stream in: each update is handled exactly once.

Muster confirms an update to Telegram (the next getUpdates offset) only after committing it, so a
killed process leaves unconfirmed updates with Telegram, which hands them out again on restart;
the update_id dedupe then answers each one once.
"""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from tests.reliability.live import Muster, providers, telegram_update, wait_until

USERS = 60
MESSAGES = ("MENU", "HELP", "EVENTS", "MYDATA")  # each gets exactly one reply (a document too, for MYDATA)
KILLS = 4


def test_sigkill_while_polling_handles_each_update_once(tmp_path: Path) -> None:
    rng = random.Random(44)
    with providers(seed=44) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio, TELEGRAM_WEBHOOK_URL="", TELEGRAM_POLL_TIMEOUT="1")
        muster.migrate()
        muster.start()
        updates = [telegram_update(1000 + n, 70_000 + n % USERS, text=MESSAGES[n // USERS])
                   for n in range(USERS * len(MESSAGES))]
        for update in updates:
            telegram.push_update(update)

        def handled() -> int:
            return muster.sql("SELECT COUNT(*) FROM inbound_seen")[0][0]

        for point in sorted(rng.sample(range(len(updates) // 10, len(updates) * 9 // 10), KILLS)):
            wait_until(lambda point=point: handled() >= point, 60, f"{point} updates handled")
            muster.kill()
            muster.start()
        wait_until(lambda: handled() == len(updates), 60, "every update handled")
        wait_until(lambda: muster.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0] == 0,
                   60, "every reply sent")
        muster.stop()

    seen = muster.sql("SELECT provider_id FROM inbound_seen")
    assert len(seen) == len({p for (p,) in seen}) == len(updates)
    replies = Counter(state for (state,) in muster.sql("SELECT status FROM outbox"))
    assert set(replies) <= {"sent", "unknown"}
    per_user = Counter(str(p["chat_id"]) for p in telegram.sent_messages())
    per_user.update(str(p["chat_id"]) for p in telegram.calls_of("sendDocument"))
    assert replies["sent"] + replies["unknown"] == len(updates)  # one reply per update, never two
    calls_each = len(MESSAGES) + 1  # MYDATA's reply is a summary and a JSON file: two calls
    for user in range(USERS):
        got = per_user[str(70_000 + user)]
        assert got <= calls_each, f"user {user} got {got} replies to {len(MESSAGES)} messages"
    assert sum(per_user.values()) >= replies["sent"]
    muster.clean_log()
    print("\npolling-kill:", json.dumps({"kills": KILLS, "updates": len(updates), "duplicates": 0,
                                         "replies_sent": replies["sent"], "replies_unknown": replies["unknown"]}))
