"""Provider outages against the real `muster run`: nothing is created twice, every row ends classified.

- Twilio answers 500, then 429, then holds creates (a little, then longer than our send timeout),
  then recovers. 429s are retried and sent once; 500s end `failed` and are never re-created; a
  create that outlived the timeout ends `unknown` (Twilio may have sent it, and here it did); every
  other row is sent exactly once and the broadcast completes.
- Telegram answers sendMessage with 429 storms (retry_after 1–2 s): the channel pauses (no
  sendMessage reaches the provider inside a retry_after window), the rows hit are retried, and
  every Telegram supporter gets exactly one message.
- Twilio refuses connections, then comes back on the same port: those creates never left us, so
  they are retried and each is sent once.
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.reliability.live import Muster, free_port, providers, wait_until

SEND_TIMEOUT_SECONDS = 3.0  # SMS_SEND_TIMEOUT for these runs (30 by default)
SUPPORTERS = 600  # alternately Telegram and SMS: 300 of each
GRACE = 0.25  # sends already on the wire when a 429 is answered may still arrive just after it (slow CI)


def rows(muster: Muster, broadcast_id: int, channel: str) -> dict[str, tuple[str, str | None, int]]:
    """address → (status, error_code, attempts) of the broadcast's outbox rows on one channel."""
    found = muster.sql("SELECT address, status, error_code, attempts FROM outbox WHERE broadcast_id = ? "
                       "AND channel = ?", (broadcast_id, channel))
    table = {address: (status, code, attempts) for address, status, code, attempts in found}
    assert len(table) == len(found), "two rows for one recipient"
    return table


def report(name: str, figures: dict) -> None:
    print(f"\n{name}:", json.dumps(figures))


def test_twilio_500s_and_timeouts_are_never_recreated_and_the_broadcast_completes(tmp_path: Path) -> None:
    body = "Outage test: rally on Sunday, 2pm at the park."
    long_hang = SEND_TIMEOUT_SECONDS + 1.0  # outlives our timeout, then Twilio accepts it anyway
    started = time.monotonic()
    with providers(seed=5) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio, SMS_SEGMENTS_PER_SECOND="200",
                        SMS_SEND_TIMEOUT=str(SEND_TIMEOUT_SECONDS))
        muster.migrate()
        chats, phones = muster.seed_supporters(SUPPORTERS)
        muster.start()
        broadcast_id = muster.start_broadcast(body, SUPPORTERS)
        wait_until(lambda: twilio.message_count >= 40, 30, "the SMS broadcast to be under way")
        # Taken in this order by the creates that arrive next: the outage, then the recovery.
        twilio.fail_next(500, 20500, times=10)
        twilio.fail_next(429, 20429, times=4)
        twilio.hang_next(1.0, times=2)  # slow, but answered within our timeout
        twilio.hang_next(long_hang, times=3)
        muster.wait_finished(broadcast_id, long_hang + 30)
        hung = twilio.hung
        assert len(hung) == 5
        late = {fields["To"] for fields, seconds in hung if seconds == long_hang}
        # Twilio goes on to accept the held creates after we stopped waiting for them.
        wait_until(lambda: late <= {m["To"] for m in twilio.messages}, long_hang + 5, "the held creates")
        muster.stop()

    sms = rows(muster, broadcast_id, "sms")
    assert set(sms) == set(phones)
    received = Counter(m["To"] for m in twilio.messages if body in m["Body"])
    created = Counter((m["To"], m["Body"]) for m in twilio.messages)
    duplicates = sum(n - 1 for n in created.values())
    assert duplicates == 0, "a message was created twice"
    rejected = Counter((r.status, r.code) for r in twilio.rejected)
    assert rejected == {(500, 20500): 10, (429, 20429): 4}, rejected
    errored = {r.fields["To"]: (r.status, r.code) for r in twilio.rejected}
    assert len(errored) == 14  # each create answered with an error was a different recipient
    slow = {fields["To"] for fields, seconds in hung if seconds != long_hang}
    expected: dict[str, tuple[str, str | None, int]] = {}
    for phone in phones:
        if errored.get(phone) == (500, 20500):
            expected[phone] = ("failed", "20500", 1)  # never re-created: after a 5xx that may send twice
        elif errored.get(phone) == (429, 20429):
            expected[phone] = ("sent", None, 2)  # known not sent: retried once, then accepted
        elif phone in late:
            expected[phone] = ("unknown", "timeout", 1)  # no answer in time: it may have gone out
        else:
            expected[phone] = ("sent", None, 1)  # includes the slow creates answered in time
    assert sms == expected
    for phone in phones:
        assert received[phone] == (0 if sms[phone][0] == "failed" else 1), phone
    tg = rows(muster, broadcast_id, "telegram")
    assert {state for state, _, _ in tg.values()} == {"sent"} and set(tg) == set(chats)
    assert Counter(str(m["chat_id"]) for m in telegram.sent_messages()) == Counter(chats)
    log = muster.log()
    assert "muster stopped" in muster.clean_log()
    assert re.search(r"outbox row \d+ on sms: 20429; retry 1", log)
    states = Counter(state for state, _, _ in sms.values())
    report("twilio_outage", {
        "sms_rows": len(sms), "sent": states["sent"], "failed_500": states["failed"],
        "unknown_timeout": states["unknown"],
        "retried_429": sum(1 for s in sms.values() if s[2] > 1), "slow_answered_in_time": len(slow),
        "creates_accepted": twilio.message_count, "duplicates": duplicates, "send_timeout_s": SEND_TIMEOUT_SECONDS,
        "seconds": round(time.monotonic() - started, 1),
    })


def test_telegram_429_storms_pause_the_channel_and_every_supporter_gets_one_message(tmp_path: Path) -> None:
    body = "Storm test: phone bank tonight at 7pm."
    bursts = [(30, 1, 3), (100, 2, 2), (170, 1, 2)]  # (after this many sent, retry_after, how many 429s)
    started = time.monotonic()
    with providers(seed=6) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio, TELEGRAM_MESSAGES_PER_SECOND="200")
        muster.migrate()
        chats, phones = muster.seed_supporters(SUPPORTERS)
        muster.start()
        broadcast_id = muster.start_broadcast(body, SUPPORTERS)
        for after, retry_after, times in bursts:
            wait_until(lambda after=after: len(telegram.sent_messages()) >= after, 30, f"{after} Telegram messages")
            telegram.fail_next("sendMessage", 429, retry_after=retry_after, times=times)
        muster.wait_finished(broadcast_id, 30)
        muster.stop()

    timeline = [event for event in telegram.timeline if event[2] == "sendMessage"]
    storms = [(answered, params) for _, answered, _, status, params in timeline if status == 429]
    assert len(storms) == sum(times for _, _, times in bursts)
    # The retry_after of each 429, in the order the fake answered them (bursts are far apart).
    afters = [retry_after for _, retry_after, times in bursts for _ in range(times)]
    storms.sort(key=lambda s: s[0])
    accepted = sorted(event[0] for event in timeline if event[3] == 200)
    violations, gaps = [], []
    for (answered, _), retry_after in zip(storms, afters, strict=True):
        inside = [t for t in accepted if answered + GRACE < t < answered + retry_after]
        violations += inside
        later = [t for t in accepted if t > answered + GRACE]
        if later:
            gaps.append(later[0] - answered - retry_after)
    assert not violations, f"{len(violations)} sendMessage calls reached Telegram inside a retry_after window"

    tg = rows(muster, broadcast_id, "telegram")
    assert set(tg) == set(chats)
    hit = Counter(str(params["chat_id"]) for _, params in storms)
    for chat in chats:
        state, code, attempts = tg[chat]
        assert state == "sent", (chat, tg[chat])
        assert attempts == 1 + hit[chat], (chat, tg[chat], hit[chat])
    received = Counter(str(m["chat_id"]) for m in telegram.sent_messages() if body in m["text"])
    assert received == Counter(chats), "not every Telegram supporter got exactly one message"
    assert Counter(m["To"] for m in twilio.messages) == Counter(phones)
    log = muster.log()
    assert "muster stopped" in muster.clean_log()
    assert "telegram asked us to pause 2.0s" in log
    report("telegram_429_storms", {
        "telegram_rows": len(tg), "429s": len(storms), "rows_retried": len(hit), "violations": len(violations),
        "retry_after_s": afters, "min_s_from_window_end_to_next_send": round(min(gaps), 3),
        "duplicates": sum(n - 1 for n in received.values() if n > 1),
        "seconds": round(time.monotonic() - started, 1),
    })


def test_twilio_refusing_connections_is_retried_and_each_sent_once(tmp_path: Path) -> None:
    body = "Refused test: canvass on Saturday."
    port = free_port()  # nothing listens here until the "outage" ends
    started = time.monotonic()
    with providers(seed=7) as (telegram, unused):
        muster = Muster(tmp_path, telegram, unused, TWILIO_API_BASE_URL=f"http://127.0.0.1:{port}")
        muster.migrate()
        chats, phones = muster.seed_supporters(40)
        muster.start()
        broadcast_id = muster.start_broadcast(body, 40)

        def all_refused() -> bool:
            return all(code == "connect" and state == "queued"
                       for state, code, _ in rows(muster, broadcast_id, "sms").values())
        wait_until(all_refused, 10, "every SMS to be refused once", poll=0.02)
        with FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN), port=port) as twilio:
            muster.wait_finished(broadcast_id, 30)
            muster.stop()
    sms = rows(muster, broadcast_id, "sms")
    assert set(sms) == set(phones)
    assert all(state == "sent" and attempts >= 2 for state, _, attempts in sms.values()), sms
    assert Counter(m["To"] for m in twilio.messages) == Counter(phones)  # each exactly once
    assert unused.message_count == 0
    log = muster.log()
    assert "muster stopped" in muster.clean_log()
    assert re.search(r"outbox row \d+ on sms: connect; retry 1", log)
    report("twilio_connection_refused", {
        "sms_rows": len(sms), "sent": len(sms), "attempts": dict(Counter(a for _, _, a in sms.values())),
        "duplicates": sum(n - 1 for n in Counter(m["To"] for m in twilio.messages).values() if n > 1),
        "seconds": round(time.monotonic() - started, 1),
    })
