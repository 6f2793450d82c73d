"""Sending a broadcast: the preview (who, what it costs, how long), confirming, scheduling,
starting, cancelling, and sending again what a crash left in doubt. When a scheduled one starts is
flows.due.broadcasts' job; what became of it, flows.organiser.reports'."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from flows.core.settings import FlowSettings
from flows.core.texts import DEFAULT_LANGUAGE, available, plural, t
from flows.organiser import audit
from flows.organiser import reports as broadcast_report
from flows.organiser.access import Actor, check_access
from flows.organiser.broadcasts import (
    BOTH,
    CONFIRM_BY_COUNT,
    REPEATS,
    alert_choices,
    kind_word,
    language_name,
    languages_of,
    local,
    message,
    state_word,
    suppressed_ids,
    version_for,
)
from flows.organiser.errors import BroadcastError
from flows.values import segments
from flows.values.quiet_hours import QuietHours
from storage import broadcasts as store
from storage.broadcasts import Broadcast
from storage.db import Tx, parse_ts, ts

log = logging.getLogger(__name__)


def salt_of(settings: FlowSettings) -> str | None:
    return getattr(settings, "suppression_salt", None) or getattr(settings, "erasure_salt", None)


@dataclass(frozen=True)
class Figures:
    """Recipients and SMS figures of one version (a language, or BOTH), over every recipient's text."""
    version: str
    counts: dict[str, int]        # sms, telegram, chats
    encodings: dict[str, int]     # SMS messages by encoding
    segments: int
    widest: int
    cost: Decimal

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def version_name(version: str, settings: FlowSettings, b: Broadcast, lang: str = DEFAULT_LANGUAGE) -> str:
    """'Welsh (Cymraeg)', or for BOTH 'English and Welsh (Cymraeg) in one message', in `lang`."""
    if version != BOTH:
        return language_name(version, lang)
    names = [language_name(one, lang) for one in languages_of(b, settings)]
    return t("broadcasts.preview_together", lang, languages=f" {t('broadcasts.and', lang)} ".join(names))


@dataclass(frozen=True)
class Preview:
    """What a broadcast would do if started now. The SMS figures are summed over every SMS
    recipient's own text: a name outside GSM-7 (Siân, Zoë) makes that one message UCS-2, and it
    is billed as such."""
    broadcast: Broadcast
    counts: dict[str, int]        # sms, telegram, chats
    sample: str                   # as a Telegram recipient would see it
    sms_sample: str               # as an SMS recipient would see it
    sms: segments.SegmentInfo     # the SMS sample's own encoding and segments
    encodings: dict[str, int]     # SMS messages by encoding, over every recipient's text
    segments: int                 # SMS segments in all, over every recipient's text
    widest: int                   # the most segments any one SMS recipient's text takes
    changes: list[str]            # what normalisation changed in the organiser's text
    cost: Decimal
    seconds: float                # to finish at the configured rates
    quiet_until: datetime | None  # SMS will wait until then
    about: tuple[int, ...] = ()   # the supporter the sample shows: a preview that is sent names them
    languages: tuple[Figures, ...] = ()  # per version someone gets, the default's first
    samples: dict[str, str] | None = None  # each other version as a Telegram recipient would see it

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def needs_count(self) -> bool:
        return self.total > CONFIRM_BY_COUNT


async def preview(
    tx: Tx, b: Broadcast, now: datetime, settings: FlowSettings, salt: str | None = None,
) -> Preview:
    audience = b.filters
    suppressed = await suppressed_ids(tx, salt or salt_of(settings))
    counts = {"sms": 0, "telegram": 0, "chats": 0}
    encodings: dict[str, int] = {}
    total_segments = widest = 0
    versions = [*languages_of(b, settings), BOTH]
    sms_templates = {v: message(b, "sms", settings, v) for v in versions}
    per: dict[str, dict[str, Any]] = {}
    price = Decimal(settings.sms_price_per_segment)
    for channel, language, first_name, group, n in await store.renderings(
            tx, audience, b.channel_mode == "every", suppressed):
        version = version_for(b, settings, language)
        mine = per.setdefault(version, {"counts": {"sms": 0, "telegram": 0, "chats": 0}, "encodings": {},
                                        "segments": 0, "widest": 0})
        counts[channel] += n
        mine["counts"][channel] += n
        if channel == "sms":
            info = segments.count_segments(sms_templates[version].render({"first_name": first_name, "group": group}))
            for into in (encodings, mine["encodings"]):
                into[info.encoding] = into.get(info.encoding, 0) + n
            total_segments += info.segments * n
            mine["segments"] += info.segments * n
            widest = max(widest, info.segments)
            mine["widest"] = max(mine["widest"], info.segments)
    figures = tuple(Figures(v, per[v]["counts"], per[v]["encodings"], per[v]["segments"], per[v]["widest"],
                            segments.estimate_cost(per[v]["segments"], 1, price))
                    for v in versions if v in per)
    who = await store.sample(tx, audience, suppressed)
    values = {"first_name": who["first_name"], "group": who["group_name"]} if who else {}
    sms_text = sms_templates[DEFAULT_LANGUAGE].render(values)
    changes = segments.normalise(b.body)[1] if b.normalise else []
    if b.normalise and b.cta_text:
        changes += segments.normalise(b.cta_text)[1]
    for translated in b.versions.values():
        if b.normalise:
            changes += segments.normalise(translated["body"])[1]
            changes += segments.normalise(translated.get("cta_text", ""))[1]
    cost = segments.estimate_cost(total_segments, 1, price)
    seconds = max(
        total_segments / settings.sms_segments_per_second,
        (counts["telegram"] + counts["chats"]) / settings.telegram_messages_per_second,
    )
    quiet = QuietHours.parse(settings.sms_quiet_hours, settings.timezone)
    start = parse_ts(b.send_at) if b.send_at else now
    opens = quiet.opens(start)
    quiet_until = opens if counts["sms"] and opens != start and not b.urgent else None
    samples = {v: message(b, "telegram", settings, v).render(values) for v in versions
               if v != DEFAULT_LANGUAGE and (v in per or v != BOTH)}
    return Preview(b, counts, message(b, "telegram", settings).render(values), sms_text,
                   segments.count_segments(sms_text), encodings, total_segments, widest, changes,
                   cost, seconds, quiet_until, (who["supporter_id"],) if who else (), figures, samples)


def outside_gsm7(b: Broadcast) -> dict[str, str]:
    """The versions in other languages whose own words are outside GSM-7 (ŵ, ŷ in Welsh), with
    those characters: each such text goes as UCS-2, 70 characters a segment, and costs more."""
    found = {}
    for lang, version in b.versions.items():
        text = version["body"] + version.get("cta_text", "")
        if b.normalise:
            text = segments.normalise(text)[0]
        odd = "".join(dict.fromkeys(c for c in text if not segments.is_gsm7(c) and not c.isspace()))
        if odd:
            found[lang] = odd
    return found


def ucs2_note(lang: str, chars: str, reader: str = DEFAULT_LANGUAGE) -> str:
    """What composing says of a version outside GSM-7 (every front shows the same line), in `reader`'s language."""
    return t("broadcasts.preview_ucs2", reader, language=language_name(lang, reader), chars=", ".join(chars[:6]))


def _encodings(encodings: dict[str, int], lang: str) -> str:
    gsm, ucs = encodings.get(segments.GSM7, 0), encodings.get(segments.UCS2, 0)
    if gsm and ucs:
        return t("broadcasts.preview_encodings_mixed", lang, gsm=f"{gsm:,}", ucs=f"{ucs:,}")
    return segments.GSM7 if gsm else segments.UCS2


def _per(total: int, widest: int, sms: int, lang: str) -> str:
    even = total == widest * sms
    return t("broadcasts.preview_per_one" if even else "broadcasts.preview_per_mixed", lang,
             segments=plural("segment", widest, lang))


def sms_figures(p: Preview, lang: str = DEFAULT_LANGUAGE) -> str:
    """The SMS line every front shows: encodings, segments and cost over every recipient's text."""
    if not p.counts["sms"]:
        return t("broadcasts.preview_no_sms", lang, seconds=duration(p.seconds, lang))
    return t("broadcasts.preview_sms", lang, encodings=_encodings(p.encodings, lang),
             segments=plural("segment", p.segments, lang), per=_per(p.segments, p.widest, p.counts["sms"], lang),
             cost=f"{p.cost:.2f}", seconds=duration(p.seconds, lang))


def language_figures(f: Figures, p: Preview, settings: FlowSettings, lang: str = DEFAULT_LANGUAGE) -> str:
    """One version's line: who gets it, and its SMS encodings, segments and cost, in `lang`."""
    if f.counts["sms"]:
        sms = t("broadcasts.preview_language_sms", lang, encodings=_encodings(f.encodings, lang),
                segments=plural("segment", f.segments, lang), per=_per(f.segments, f.widest, f.counts["sms"], lang),
                cost=f"{f.cost:.2f}")
    else:
        sms = t("broadcasts.preview_language_no_sms", lang)
    return t("broadcasts.preview_language", lang, language=version_name(f.version, settings, p.broadcast, lang),
             sms=f"{f.counts['sms']:,}", telegram=f"{f.counts['telegram']:,}",
             chats=plural("chat", f.counts["chats"], lang), figures=sms)


def language_lines(p: Preview, settings: FlowSettings, lang: str = DEFAULT_LANGUAGE) -> list[str]:
    """Per language (when the broadcast has more than one version): recipients, encoding, segments,
    cost; and a note for each version outside GSM-7."""
    if not p.broadcast.versions:
        return []
    lines = [language_figures(f, p, settings, lang) for f in p.languages]
    lines += [ucs2_note(one, chars, lang) for one, chars in outside_gsm7(p.broadcast).items()]
    return lines


def describe(p: Preview, settings: FlowSettings, lang: str = DEFAULT_LANGUAGE) -> str:
    """The preview as plain text for the console, in the organiser's language."""
    lines = [
        t("broadcasts.preview_title", lang, id=p.broadcast.id, kind=kind_word(p.broadcast.kind, lang)),
        t("broadcasts.preview_counts", lang, sms=f"{p.counts['sms']:,}", telegram=f"{p.counts['telegram']:,}",
          chats=plural("chat", p.counts["chats"], lang), total=plural("message", p.total, lang)),
        sms_figures(p, lang),
        *language_lines(p, settings, lang),
    ]
    if p.changes:
        lines.append(t("broadcasts.preview_changes", lang, changes="; ".join(p.changes)))
    if p.quiet_until:
        lines.append(t("broadcasts.preview_quiet", lang, time=local(p.quiet_until, settings.timezone, lang)))
    lines += ["", t("broadcasts.preview_sample", lang), p.sample]
    for version, sample in (p.samples or {}).items():
        lines += ["", t("broadcasts.preview_sample_in", lang,
                        language=version_name(version, settings, p.broadcast, lang)), sample]
    return "\n".join(lines)


def duration(seconds: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """'45 s', '12 min', '2.5 h' ('12 mun' in Welsh): how long sending takes."""
    seconds = max(1, round(seconds))
    if seconds < 90:
        return t("broadcasts.duration_seconds", lang, n=seconds)
    if seconds < 5400:
        return t("broadcasts.duration_minutes", lang, n=round(seconds / 60))
    return t("broadcasts.duration_hours", lang, n=f"{seconds / 3600:.1f}")


def _state(status: str) -> Any:
    """A status as a refusal's value: named in the reader's language."""
    return lambda lang: state_word(status, lang)


def check_count(p: Preview, typed: str | None) -> None:
    """Above CONFIRM_BY_COUNT messages, the organiser must type the number they will send."""
    if not p.needs_count:
        return
    given = (typed or "").replace(",", "").replace(" ", "").strip()
    if given != str(p.total):
        total = p.total
        raise BroadcastError("broadcasts.error_count", people=lambda lang: plural("person", total, lang), total=total)


async def confirm(
    tx: Tx, b: Broadcast, actor: Actor, now: datetime, settings: FlowSettings, *,
    when: datetime | None = None, repeat: str = "none", typed: str | None = None, urgent: bool = False,
    salt: str | None = None,
) -> Broadcast:
    """The organiser said yes: schedule it (or start it now, when `when` is None or past)."""
    check_access(actor, b)
    if b.status not in ("draft", "scheduled"):
        raise BroadcastError("broadcasts.error_already", id=b.id, status=_state(b.status))
    if repeat not in REPEATS:
        raise BroadcastError("broadcasts.error_repeat")
    if urgent and not (actor.is_admin and b.kind == "alert"):
        raise BroadcastError("broadcasts.error_urgent")
    if repeat != "none" and when is None:
        when = now
    check_count(await preview(tx, b, now, settings, salt), typed)
    await store.update(tx, b.id, urgent=int(urgent), repeat=repeat, send_at=ts(when or now), status="scheduled")
    b = await store.fetch(tx, b.id)
    target = f"broadcast:{b.id}"
    extras = (", urgent" if urgent else "") + (f", repeats {repeat}" if repeat != "none" else "")
    if when is None or when <= now:
        started = await start(tx, b, now, settings, salt)  # a repeating one starts its first occurrence
        audit.note(tx, actor, now, "broadcast.confirm", target=target,
                   detail=f"sent now to {started.recipients} people and {started.chats} chats{extras}"
                   + (f" (occurrence broadcast:{started.id})" if started.id != b.id else ""))
    else:
        audit.note(tx, actor, now, "broadcast.schedule", target=target, detail=f"for {ts(when)}{extras}")
    return await store.fetch(tx, b.id)


def next_time(send_at: datetime, repeat: str, tz: str) -> datetime:
    """The next occurrence at the same local wall-clock time (so 18:00 stays 18:00 across DST)."""
    zone = ZoneInfo(tz)
    wall = send_at.astimezone(zone).replace(tzinfo=None)
    wall += timedelta(days=1 if repeat == "daily" else 7)
    return wall.replace(tzinfo=zone).astimezone(send_at.tzinfo)


async def start(
    tx: Tx, b: Broadcast, now: datetime, settings: FlowSettings, salt: str | None = None,
) -> Broadcast:
    """Evaluate the audience now and queue every message in one statement."""
    if b.repeat != "none":  # each occurrence is its own broadcast, so dedupe keys stay unique
        fields = {k: v for k, v in b.__dict__.items() if k in store.EDITABLE}
        fields.update(repeat="none", parent_id=b.id, status="scheduled", recipients=0, chats=0,
                      progress_step=0, started_at=None, finished_at=None)
        assert b.send_at is not None  # a repeating broadcast is a scheduled one
        nxt = next_time(parse_ts(b.send_at), b.repeat, settings.timezone)
        await store.update(tx, b.id, send_at=ts(nxt))
        b = await store.create(tx, now, **fields)
    quiet = QuietHours.parse(settings.sms_quiet_hours, settings.timezone)
    sms_after = now if b.urgent else quiet.opens(now)
    offered = languages_of(b, settings)
    others = {lang: store.Version(_joined(b, settings, lang), alert_choices(b, lang))
              for lang in offered if lang != DEFAULT_LANGUAGE}
    both = (store.Version(_joined(b, settings, BOTH), alert_choices(b, BOTH, settings))
            if len(offered) > 1 and settings.unknown_language == "all" else None)
    await store.materialise(
        tx, b.id, b.filters, _joined(b, settings, DEFAULT_LANGUAGE), now, every=b.channel_mode == "every",
        choices=alert_choices(b), sms_not_before=sms_after,
        suppressed=await suppressed_ids(tx, salt or salt_of(settings)),
        languages=store.Languages(others, tuple(available()), both) if others else None,
    )
    rows, people = await store.sizes(tx, b.id)
    await store.update(tx, b.id, status="sending", started_at=ts(now), recipients=people, chats=rows - people)
    log.info("broadcast %s started: %d messages", b.id, rows)
    b = await store.fetch(tx, b.id)
    if sms_after > now and (await store.by_channel(tx, b.id)).get("sms"):
        broadcast_report.notify(tx, b, t("broadcasts.quiet_wait", id=b.id, time=local(sms_after, settings.timezone)),
                                now, "quiet")
    await broadcast_report.progress(tx, b, now, settings)
    return b


def _joined(b: Broadcast, settings: FlowSettings, version: str) -> store.Parts:
    """One version's template for both channels: the SMS-only stop line becomes an "sms" part."""
    parts = {ch: message(b, ch, settings, version) for ch in ("sms", "telegram")}
    sms_tail = parts["sms"].parts[len(parts["telegram"].parts):]
    return list(parts["telegram"].parts) + [("sms", p[1], "") for p in sms_tail]


async def resend_unknown(tx: Tx, b: Broadcast, actor: Actor, now: datetime, settings: FlowSettings) -> int:
    """The organiser chose to send again the messages a crash left `unknown`, knowing some may
    have arrived: those still reachable are queued (SMS after quiet hours). Returns how many."""
    check_access(actor, b)
    if b.status not in ("sending", "sent"):
        raise BroadcastError("broadcasts.error_resend", id=b.id, status=_state(b.status))
    quiet = QuietHours.parse(settings.sms_quiet_hours, settings.timezone)
    count = await store.requeue_unknown(tx, b.id, now if b.urgent else quiet.opens(now), now)
    if count:
        await store.update(tx, b.id, status="sending")
        log.warning("broadcast %s: %d messages in doubt sent again by %s", b.id, count, actor.label)
    audit.note(tx, actor, now, "broadcast.resend_unknown", target=f"broadcast:{b.id}",
               detail=f"{count} messages in doubt queued again")
    return count


async def cancel(tx: Tx, b: Broadcast, actor: Actor, now: datetime) -> int:
    """Stop it: a scheduled one never starts, queued messages are dropped at once. Returns how many."""
    check_access(actor, b)
    if b.status in ("sent", "cancelled", "missed"):
        raise BroadcastError("broadcasts.error_cancel_done", id=b.id, status=_state(b.status))
    dropped = await store.cancel(tx, b.id, now)
    if b.status == "sending" and not dropped and not (await store.delivery_counts(tx, b.id)).get("sending"):
        await store.update(tx, b.id, status="sent", finished_at=ts(now))
        raise BroadcastError("broadcasts.error_cancel_gone", id=b.id)
    await store.update(tx, b.id, status="cancelled", finished_at=ts(now))
    log.info("broadcast %s cancelled by %s: %d queued messages dropped", b.id, actor.label, dropped)
    audit.note(tx, actor, now, "broadcast.cancel", target=f"broadcast:{b.id}",
               detail=f"was {b.status}; {dropped} queued messages dropped")
    return dropped


async def discard(tx: Tx, b: Broadcast, actor: Actor, now: datetime) -> None:
    """Throw a draft away before it is confirmed (nothing was queued)."""
    check_access(actor, b)
    if b.status != "draft":
        raise BroadcastError("broadcasts.error_not_a_draft", id=b.id, status=_state(b.status))
    await store.update(tx, b.id, status="cancelled")
    audit.note(tx, actor, now, "broadcast.discard", target=f"broadcast:{b.id}", detail="draft discarded")
