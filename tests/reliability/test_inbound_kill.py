"""SIGKILL the service while sign-up webhooks pour in: nothing answered is lost, nothing retried runs twice.

Many supporters sign up at once, half by SMS and half on Telegram, each sending the next answer
as soon as the last was answered. The service is killed at seeded moments (whenever a seeded
number of webhooks has been answered in all) and started again. Every sender retries whatever
was not answered 2xx with the same MessageSid / update_id, as the providers do, until it is.

Checked: a webhook answered 2xx is in the dedupe table at once and after every later kill;
right after each kill every supporter's record is exactly what the answers it committed make
it (no half-written sign-up, no duplicate supporter); in the end each message ran exactly once
(one reply queued per message) and no supporter was sent any reply twice.

    MUSTER_RELIABILITY_INBOUND_KILLS=5 MUSTER_RELIABILITY_INBOUND_SENDERS=40 pytest tests/reliability -s
"""
from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.reliability.live import Muster, providers, telegram_update

KILLS = int(os.environ.get("MUSTER_RELIABILITY_INBOUND_KILLS", "5"))
PER_CHANNEL = int(os.environ.get("MUSTER_RELIABILITY_INBOUND_SENDERS", "40"))
POSTCODE = "M1 1AE"


@dataclass
class Sender:
    """One supporter's side of the conversation: the webhooks in order, and how far they got."""

    channel: str
    address: str
    name: str
    email: str
    steps: list[tuple[str, Callable[[httpx.Client], httpx.Response]]]  # (provider id, send)
    answered: int = 0  # webhooks answered 2xx, in order
    attempts: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def alpha(n: int) -> str:
    """0 → 'Aa', 1 → 'Ab', …: names may hold letters only."""
    return chr(65 + n // 26 % 26) + chr(97 + n % 26)


def make_senders(muster: Muster) -> list[Sender]:
    senders = []
    for i in range(PER_CHANNEL):
        phone, name, email = f"+44770090{i:04d}", f"Sam {alpha(i)}", f"sam.{i}@example.org"
        answers = ["JOIN", name, POSTCODE, "1 3", email, "YES"]
        steps = []
        for n, body in enumerate(answers):
            sid = f"SM{i:016d}{n:016d}"
            steps.append((f"twilio:{sid}", lambda http, sid=sid, body=body, phone=phone:
                          muster.post_sms(http, sid, body, phone)))
        senders.append(Sender("sms", phone, name, email, steps))
    update_id = 900_000
    for i in range(PER_CHANNEL):
        user, name, email = 70_000_000 + i, f"Tess {alpha(i)}", f"tess.{i}@example.org"
        # Interests by button: one topic toggled on, then Done; consent by the Yes button.
        answers = [("/start", None), (name, None), (POSTCODE, None), (None, "su:i:1"), (None, "su:done"),
                   (email, None), (None, "su:yes")]
        steps = []
        for text, choice in answers:
            update_id += 1
            update = telegram_update(update_id, user, text=text, choice=choice)
            steps.append((f"tg:{update_id}", lambda http, update=update: muster.post_telegram(http, update)))
        senders.append(Sender("telegram", str(user), name, email, steps))
    return senders


def expected(sender: Sender, done: int) -> dict:
    """What a supporter's record must say once exactly `done` of their messages have been processed."""
    topics = 2 if sender.channel == "sms" else 1  # SMS answers "1 3"; Telegram toggles one button
    if done == len(sender.steps):
        return {"flow": None, "step": None, "name": sender.name, "postcode": POSTCODE, "email": sender.email,
                "status": "active", "consent": "opted_in", "consent_log": 1, "interests": topics}
    # The step each message leaves the conversation at; the Telegram toggle stays on "interests".
    steps = ["name", "postcode", "interests", "email", "consent"]
    if sender.channel == "telegram":
        steps = ["name", "postcode", "interests", "interests", "email", "consent"]
    state = {"flow": "signup", "step": steps[done - 1], "status": "new", "consent": "none", "consent_log": 0,
             "name": sender.name if done >= 2 else None, "postcode": POSTCODE if done >= 3 else None,
             "interests": 0, "email": None}
    if done > steps.index("email"):  # the message that moved on to "email" saved the interests
        state["interests"] = topics
    if done > steps.index("consent"):
        state["email"] = sender.email
    return state


SNAPSHOT = """
SELECT s.id, s.phone, s.telegram_id, s.first_name, s.postcode, s.email, s.status, s.sms_consent, s.telegram_consent,
       c.flow, c.step,
       (SELECT COUNT(*) FROM supporter_interests i WHERE i.supporter_id = s.id),
       (SELECT COUNT(*) FROM consent_log l WHERE l.supporter_id = s.id),
       (SELECT COUNT(*) FROM outbox o WHERE o.supporter_id = s.id)
FROM supporters s LEFT JOIN conversations c ON c.supporter_id = s.id
"""


def check_records(muster: Muster, senders: list[Sender], figures: dict, final: bool = False) -> None:
    """Every supporter's record matches the messages of theirs that committed: all, or all but none."""
    seen = {row[0] for row in muster.sql("SELECT provider_id FROM inbound_seen")}
    rows = muster.sql(SNAPSHOT)
    assert all(r[1] or r[2] for r in rows), "a supporter without a phone or Telegram id"
    by_address: dict[str, list[tuple]] = {}
    for r in rows:
        by_address.setdefault(r[1] or str(r[2]), []).append(r)
    assert set(by_address) <= {s.address for s in senders}, "a supporter nobody signed up as"
    for s in senders:
        ids = [pid for pid, _ in s.steps]
        done = sum(pid in seen for pid in ids)
        # Messages commit in order: the processed ones are a prefix of the conversation.
        assert all(pid in seen for pid in ids[:done]), f"{s.address}: processed out of order"
        answered = s.answered  # read after the snapshot: may only have grown since it was taken
        assert answered <= done <= answered + 1 and (not final or done == answered == len(ids)), \
            f"{s.address}: {done} committed, {answered} answered"
        if done > answered:
            figures["committed_unanswered"] += 1
        found = by_address.get(s.address, [])
        if done == 0:
            assert not found, f"{s.address}: a supporter row before any message committed"
            continue
        assert len(found) == 1, f"{s.address}: {len(found)} supporter rows"
        (_, _, _, name, postcode, email, status, sms_consent, tg_consent, flow, step, interests, consent_rows,
         replies) = found[0]
        got = {"flow": flow, "step": step, "name": name, "postcode": postcode, "email": email, "status": status,
               "consent": sms_consent if s.channel == "sms" else tg_consent, "consent_log": consent_rows,
               "interests": interests}
        assert got == expected(s, done), f"{s.address} after {done} messages: {got}"
        assert replies == done, f"{s.address}: {replies} replies queued for {done} messages"


def send_all(muster: Muster, sender: Sender, deadline: float, lock: threading.Lock, totals: Counter) -> None:
    """Send each webhook until it is answered 2xx, then check from outside that it was committed."""
    db = sqlite3.connect(muster.db_path, timeout=30)
    rng = random.Random(sender.address)
    try:
        with httpx.Client() as http:
            for pid, send in sender.steps:
                while True:
                    if time.monotonic() > deadline:
                        sender.errors.append(f"{pid} never answered")
                        return
                    sender.attempts[pid] += 1
                    try:
                        status = send(http).status_code
                    except httpx.TransportError:
                        status = 0  # refused, reset or cut off mid-answer: the provider tries again
                    if 200 <= status < 300:
                        break
                    if 400 <= status < 500:
                        sender.errors.append(f"{pid} answered {status}")
                        return
                    with lock:
                        totals["unanswered" if status == 0 else "answered_5xx"] += 1
                    time.sleep(rng.uniform(0.02, 0.08))
                if db.execute("SELECT 1 FROM inbound_seen WHERE provider_id = ?", (pid,)).fetchone() is None:
                    sender.errors.append(f"{pid} answered 2xx but not committed")
                    return
                sender.answered += 1
                with lock:
                    totals["answered"] += 1
                time.sleep(rng.uniform(0, 0.01))  # a person's pause, so kills find senders at every step
    finally:
        db.close()


def test_sigkill_while_webhooks_arrive(tmp_path: Path) -> None:
    rng = random.Random(88)
    figures = Counter(kills=0, committed_unanswered=0)
    with providers(seed=88) as (telegram, twilio):
        muster = Muster(tmp_path, telegram, twilio)
        muster.migrate()
        muster.start()
        senders = make_senders(muster)
        total = sum(len(s.steps) for s in senders)
        points = sorted(rng.sample(range(total // 20, total - total // 20), KILLS))
        lock, totals = threading.Lock(), Counter()
        deadline = time.monotonic() + 120
        threads = [threading.Thread(target=send_all, args=(muster, s, deadline, lock, totals), daemon=True)
                   for s in senders]
        for thread in threads:
            thread.start()
        for point in points:
            while totals["answered"] < point:
                assert time.monotonic() < deadline, f"stuck at {totals['answered']} of {total} answered"
                assert not any(s.errors for s in senders), [e for s in senders for e in s.errors]
                time.sleep(0.001)
            time.sleep(rng.uniform(0, 0.02))
            muster.kill()
            figures["kills"] += 1
            time.sleep(0.05)  # let senders note answers that arrived just before the kill
            check_records(muster, senders, figures)
            muster.start()
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        assert not any(s.errors for s in senders), [e for s in senders for e in s.errors]
        assert totals["answered"] == total
        check_records(muster, senders, figures, final=True)

        def drained() -> bool:
            return muster.sql("SELECT COUNT(*) FROM outbox WHERE status IN ('queued', 'sending')")[0][0] == 0
        while not drained():
            assert time.monotonic() < deadline, "outbox never drained"
            time.sleep(0.05)
        assert muster.sql("SELECT COUNT(*) FROM supporters")[0][0] == len(senders)
        assert muster.sql("SELECT COUNT(*) FROM inbound_seen")[0][0] == total

        # Replies: one per message, never sent twice; only those cut off by a kill may be missing.
        outcomes = Counter()
        rows = muster.sql("SELECT channel, address, status FROM outbox")
        states = {}
        for channel, address, state in rows:
            states.setdefault((channel, address), Counter())[state] += 1
            outcomes[state] += 1
        got = {("sms", a): Counter(m["Body"] for m in twilio.messages if m["To"] == a)
               for a in {m["To"] for m in twilio.messages}}
        for m in telegram.sent_messages():
            got.setdefault(("telegram", str(m["chat_id"])), Counter())[m["text"]] += 1
        assert set(got) <= set(states), "a reply to someone who never wrote"
        duplicates = lost = 0
        for s in senders:
            key = (s.channel, s.address)
            received, state = got.get(key, Counter()), states[key]
            assert set(state) <= {"sent", "unknown"}, f"{key}: {state}"
            duplicates += sum(n - 1 for n in received.values())
            assert max(received.values(), default=1) == 1, f"{key} was sent a reply twice: {received}"
            assert state["sent"] <= sum(received.values()) <= state["sent"] + state["unknown"], (key, received, state)
            lost += state["sent"] + state["unknown"] - sum(received.values())
        muster.stop()
    muster.clean_log()
    attempts = sum(sum(s.attempts.values()) for s in senders)
    retried = sum(n > 1 for s in senders for n in s.attempts.values())
    figures.update(senders=len(senders), webhooks=total, webhooks_retried=retried, reposts=attempts - total,
                   unanswered=totals["unanswered"], answered_5xx=totals["answered_5xx"], duplicates=duplicates,
                   replies_sent=outcomes["sent"], replies_unknown=outcomes["unknown"], replies_lost_in_kills=lost)
    print("\ninbound-kill:", json.dumps(dict(figures)))
