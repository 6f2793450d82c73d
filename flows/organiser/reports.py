"""What became of a broadcast: its figures as plain text for every front, and telling the organiser
(progress at each quarter of a large one, the report at the end)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from flows.core.settings import FlowSettings
from flows.core.texts import t
from flows.core.types import Reply
from storage import broadcast_results as results
from storage import broadcasts as store
from storage import outbox
from storage.broadcasts import Broadcast
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)

PROGRESS_MIN = 100  # smaller broadcasts only get the final report


@dataclass(frozen=True)
class Report:
    broadcast: Broadcast
    recipients: int               # supporters it was queued for
    chats: int                    # linked group chats
    statuses: dict[str, int]      # outbox rows by status
    delivered: int | None         # confirmed by the provider (None: no receipts on these channels)
    failed: dict[str, int]        # error code → count
    opt_outs: int                 # recipients who opted out within 24 hours
    replies: int                  # recipients who wrote back after it reached them
    responses: dict[str, int]     # alerts: done / cant
    by_group: list[tuple[str, int, int, int]]  # alerts: (group, recipients, done, cant)

    def count(self, status: str) -> int:
        return self.statuses.get(status, 0)

    @property
    def pending(self) -> int:
        return self.count("queued") + self.count("sending")


async def build(tx: Tx, b: Broadcast, now: datetime) -> Report:
    started = parse_ts(b.started_at) if b.started_at else now
    alert = b.kind == "alert"
    return Report(
        broadcast=b, recipients=b.recipients, chats=b.chats,
        statuses=await store.delivery_counts(tx, b.id), delivered=await results.delivered(tx, b.id),
        failed=await results.failures(tx, b.id),
        opt_outs=await results.opt_outs(tx, b.id, started, started + timedelta(hours=24)),
        replies=await results.replies(tx, b.id),
        responses=await results.responses(tx, b.id) if alert else {},
        by_group=await results.completion_by_group(tx, b.id) if alert else [],
    )


def describe(r: Report, settings: FlowSettings) -> str:
    """The report as plain text (console and the organiser's notification)."""
    b = r.broadcast
    lines = [
        t("broadcasts.report_title", id=b.id, kind=b.kind, status=b.status),
        t("broadcasts.report_counts", recipients=r.recipients, chats=r.chats, sent=r.count("sent"),
          delivered="—" if r.delivered is None else r.delivered, unknown=r.count("unknown"),
          pending=r.pending, cancelled=r.count("cancelled")),
    ]
    if r.failed:
        lines.append(t("broadcasts.report_failed", failed=sum(r.failed.values()),
                       codes=", ".join(f"{code}: {n}" for code, n in r.failed.items())))
    lines.append(t("broadcasts.report_people", opt_outs=r.opt_outs, replies=r.replies))
    if b.kind == "alert":
        lines.append(t("broadcasts.report_alert", done=r.responses.get("done", 0),
                       cant=r.responses.get("cant", 0), recipients=r.recipients))
        for name, people, done, cant in r.by_group:
            share = f"{100 * done // people}%" if people else "—"
            lines.append(t("broadcasts.report_group", group=name, done=done, people=people, share=share, cant=cant))
    return "\n".join(lines)


def notify(tx: Tx, b: Broadcast, text: str, now: datetime, key: str) -> None:
    """A message to whoever composed it (once per key); broadcasts from the CLI are only logged."""
    if not (b.notify_channel and b.notify_address):
        log.info("broadcast %s: %s (no organiser chat to tell)", b.id, key)
        return
    outbox.enqueue(
        tx, b.notify_channel, b.notify_address, Reply(text).to_payload(), now,
        priority=outbox.NOTICE, dedupe_key=f"bn:{b.id}:{key}",
    )


async def progress(tx: Tx, b: Broadcast, now: datetime, settings: FlowSettings) -> None:
    """Tell the organiser at each quarter of a large broadcast, and send the report at the end."""
    counts = await store.delivery_counts(tx, b.id)
    total = sum(counts.values())
    pending = counts.get("queued", 0) + counts.get("sending", 0)
    if pending == 0:
        await store.update(tx, b.id, status="sent", finished_at=ts(now))
        b = await store.fetch(tx, b.id)
        report = await build(tx, b, now)
        notify(tx, b, describe(report, settings), now, "final")
        return
    step = (total - pending) * 4 // total
    if total >= PROGRESS_MIN and step > b.progress_step:
        await store.update(tx, b.id, progress_step=step)
        notify(
            tx, b, t("broadcasts.progress", id=b.id, done=total - pending, total=total), now, f"progress:{step}",
        )
