"""Hostile text in every free-text field: stored verbatim (or refused with a clear reason), shown safely.

The strings: SQL metacharacters, control characters, bidi overrides, zero-width joiners,
emoji, rich/HTML/Markdown markup, braces, and a 10,000-character string. The fields: a
supporter's first name and email (sign-up), event titles and venues (console /newevent and
`muster event create`), broadcast bodies (console /broadcast and `muster broadcast create`),
and an action alert's call to action. Telegram is sent plain text (no parse mode), the .ics
export escapes, the CLI never reads user text as rich markup, and organiser templates refuse
anything that str.format would treat as code.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from bot.channels.base import SendError
from bot.channels.sms import SmsChannel
from bot.channels.telegram import TelegramChannel
from bot.channels.text import TELEGRAM_LIMIT, units
from bot.cli import app
from bot.config import load
from flows.core.engine import Handled
from flows.core.texts import t
from flows.core.types import Inbound, Reply
from flows.organiser.events import MAX_TITLE
from flows.values import calendar
from flows.values.segments import MAX_BODY
from storage import events, organisers
from storage.outbox import OutboxRow
from tests.bot.sms_support import ERASURE_SALT, SENDER
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.fakes.twilio_api import ACCOUNT_SID, AUTH_TOKEN, FakeTwilioAPI
from tests.harness import Harness, query_file

HOSTILE = {
    "sql": "Robert'); DROP TABLE supporters;--",
    "sql-or": '" OR 1=1 --',
    "control": "Rally\x00\x07\x1b[31mred\x1b[0m\r\nX-Injected: yes",
    "bidi": "Rally \u202egnp.exe\u202c \u2066isolated\u2069",
    "zero-width": "Team\u200b \U0001F469\u200d\U0001F469\u200d\U0001F467\u200c!",
    "emoji": "\u270a\U0001F3FD Rally \U0001F389\U0001F3F3\ufe0f\u200d\U0001F308",
    "markup": "[bold]Loud[/bold] [/] <b>x</b> *y* _z_ `c` [l](http://e.x)",
    "braces": "{first_name} {0} {{ }} {supporter.phone}",
}
LONG = ("Long rally " * 1000)[:10_000].strip() + "!"
ids = list(HOSTILE)
each = pytest.mark.parametrize("value", list(HOSTILE.values()), ids=ids)
ORGANISER = "9001"  # an admin on Telegram
runner = CliRunner()


@pytest.fixture
async def admin(harness: Harness) -> Harness:
    async with harness.db.transaction() as tx:
        await organisers.add(tx, "admin", harness.clock.now(), telegram_id=int(ORGANISER))
    return harness


async def intact(h: Harness) -> None:
    """The schema is still all there and usable."""
    async with h.db.transaction() as tx:
        names = {r["name"] for r in await tx.query("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"supporters", "events", "broadcasts", "outbox", "consent_log"} <= names
        await tx.scalar("SELECT COUNT(*) FROM supporters")


async def scalar(h: Harness, sql: str, params: tuple = ()):
    async with h.db.transaction() as tx:
        return await tx.scalar(sql, params)


# -- supporters: first name and email ---------------------------------------------------------------
_phones = iter(range(1, 100_000))


def phone() -> str:
    return f"+4477009{next(_phones):05d}"


@pytest.mark.parametrize("value", [*HOSTILE.values(), LONG], ids=[*ids, "10k"])
async def test_a_hostile_first_name_is_refused_politely_and_not_stored(harness: Harness, value: str) -> None:
    me = phone()
    await harness.say("sms", me, "JOIN")
    said = await harness.texts("sms", me, value)
    assert t("signup.bad_name") in said
    assert "Traceback" not in said and value not in said
    assert await scalar(harness, "SELECT first_name FROM supporters WHERE phone = ?", (me,)) is None
    await intact(harness)


@pytest.mark.parametrize("value", ["O'Brien", "Zoë", "José-María", "Mary Ann"])
async def test_a_real_name_with_apostrophes_and_accents_is_stored_verbatim(harness: Harness, value: str) -> None:
    me = phone()
    await harness.say("telegram", me[1:], "JOIN")
    said = await harness.texts("telegram", me[1:], value)
    assert t("signup.ask_postcode", name=value) in said
    assert await scalar(harness, "SELECT first_name FROM supporters WHERE telegram_id = ?", (int(me[1:]),)) == value


@pytest.mark.parametrize("value", [*HOSTILE.values(), LONG, "sam@exa mple.org", "a@b@example.org"],
                         ids=[*ids, "10k", "space", "two-at"])
async def test_a_hostile_email_is_refused_politely(harness: Harness, value: str) -> None:
    me = phone()
    for answer in ("JOIN", "Sam", "SKIP", "SKIP"):
        await harness.say("sms", me, answer)
    said = await harness.texts("sms", me, value)
    assert t("signup.bad_email") in said
    assert await scalar(harness, "SELECT email FROM supporters WHERE phone = ?", (me,)) is None
    # An address with SQL-ish characters that is nonetheless valid is kept as given.
    await harness.say("sms", me, "o'brien+rally@example.org")
    assert await scalar(harness, "SELECT email FROM supporters WHERE phone = ?", (me,)) == "o'brien+rally@example.org"
    await intact(harness)


# -- events from the organiser console ----------------------------------------------------------------
async def _new_event(h: Harness, title: str, venue: str) -> list[dict]:
    """Walk /newevent as the organiser; returns what the bot said after the venue."""
    async def say(text: str = "", choice: str | None = None) -> list[dict]:
        return await h.say("telegram", ORGANISER, text, choice=choice)

    await say("/newevent")
    assert t("events.new_when") in (await say(title))[0]["text"]
    await say("tomorrow 18:00")
    await say(choice="newevent:yes")
    after_venue = await say(venue)
    if t("events.new_capacity") in after_venue[0]["text"]:
        await say("none")
        saved = await say(choice="newevent:g:0")
        assert title in saved[0]["text"]
    return after_venue


@each
async def test_console_event_title_and_venue_are_stored_and_shown_verbatim(admin: Harness, value: str) -> None:
    await _new_event(admin, value, value)
    async with admin.db.transaction() as tx:
        row = await tx.one("SELECT id, title, venue FROM events")
    assert (row["title"], row["venue"]) == (value, value)
    await admin.say("telegram", ORGANISER, choice=f"evadm:pub:{row['id']}")
    # A supporter on each channel sees it exactly as written.
    shown = await admin.say("telegram", "4242", choice=f"event:{row['id']}")
    assert shown[0]["text"].startswith(value + "\n") and value in shown[0]["text"].split("Where: ")[1]
    shown = await admin.texts("sms", phone(), choice=f"event:{row['id']}")
    assert shown.startswith(value + "\n")
    await intact(admin)


async def test_console_event_title_over_the_limit_is_refused_with_the_limit(admin: Harness) -> None:
    await admin.say("telegram", ORGANISER, "/newevent")
    said = await admin.texts("telegram", ORGANISER, LONG)
    assert t("events.new_title_again", limit=MAX_TITLE) in said
    assert await scalar(admin, "SELECT COUNT(*) FROM events") == 0


async def test_console_event_venue_over_the_limit_is_refused_not_cut(admin: Harness) -> None:
    after = await _new_event(admin, "Rally", LONG)
    assert "200" in after[0]["text"] and t("events.new_capacity") not in after[0]["text"]
    assert await scalar(admin, "SELECT COUNT(*) FROM events") == 0


# -- events from the command line, and the .ics export --------------------------------------------------
@pytest.fixture
def dbfile(tmp_path, monkeypatch) -> Iterator:
    path = tmp_path / "cli.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    monkeypatch.setenv("COLUMNS", "400")
    yield path


@each
def test_cli_event_is_stored_verbatim_and_printed_without_markup(dbfile, value: str) -> None:
    result = runner.invoke(app, ["event", "create", "--title", value, "--when", "tomorrow 18:00", "--venue", value,
                                 "--description", value, "--instructions", value, "--publish"])
    assert result.exit_code == 0, result.output
    (row,) = query_file(dbfile, "SELECT title, venue, description, instructions FROM events")
    assert row == (value, value, value, value)
    listing = runner.invoke(app, ["event", "list"])
    assert listing.exit_code == 0, listing.output
    if "[bold]" in value:  # rich must print markup literally, not style it (or choke on "[/]")
        assert "[bold]Loud[/bold] [/]" in result.output and "[bold]Loud[/bold] [/]" in listing.output
    for output in (result.output, listing.output):  # an organiser's terminal never obeys a stored escape code
        assert "\x1b" not in output and "\x07" not in output


@pytest.mark.parametrize("option", ["--description", "--instructions"])
def test_cli_event_details_that_could_not_go_by_sms_are_refused(dbfile, option: str) -> None:
    result = runner.invoke(app, ["event", "create", "--title", "Rally", "--when", "tomorrow 18:00", option, LONG])
    assert result.exit_code == 1 and f"{option}: at most 1,000 characters" in result.output
    assert not dbfile.exists() or query_file(dbfile, "SELECT COUNT(*) FROM events") == [(0,)]


def test_cli_event_title_over_the_limit_is_refused(dbfile) -> None:
    result = runner.invoke(app, ["event", "create", "--title", LONG, "--when", "tomorrow 18:00"])
    assert result.exit_code == 1 and str(MAX_TITLE) in result.output
    assert not dbfile.exists() or query_file(dbfile, "SELECT COUNT(*) FROM events") == [(0,)]
    assert runner.invoke(app, ["event", "create", "--title", "Rally", "--when", "tomorrow 18:00",
                               "--venue", "Hall"]).exit_code == 0
    edited = runner.invoke(app, ["event", "edit", "1", "--title", LONG])
    assert edited.exit_code == 1 and str(MAX_TITLE) in edited.output
    assert query_file(dbfile, "SELECT title FROM events") == [("Rally",)]


@each
async def test_ics_export_escapes_every_field(harness: Harness, value: str) -> None:
    now = harness.clock.now()
    async with harness.db.transaction() as tx:
        event = await events.create(
            tx, public_id="abcd2345xy", title=value, starts_at=now + timedelta(days=1),
            ends_at=now + timedelta(days=1, hours=2), now=now, venue=value, description=value, status="confirmed",
        )
    body = calendar.ics(event, now)
    lines = body.decode().split("\r\n")
    assert not any(line.startswith("X-Injected") for line in lines)  # no header smuggled in by \r\n
    assert [line for line in lines if line.startswith("BEGIN:VEVENT")] == ["BEGIN:VEVENT"]
    item = next(c for c in Calendar.from_ical(body).walk() if c.name == "VEVENT")
    expected = value.replace("\r\n", "\n")
    assert str(item.get("summary")).replace("\r\n", "\n") == expected
    assert str(item.get("description")).replace("\r\n", "\n") == expected


# -- broadcasts and alerts --------------------------------------------------------------------------
@each
async def test_console_broadcast_body_is_stored_verbatim(admin: Harness, value: str) -> None:
    value = value.replace("{", "(").replace("}", ")")  # braces in bodies are templates: tested below
    await admin.say("telegram", ORGANISER, f"/broadcast {value}")
    preview = await admin.texts("telegram", ORGANISER, "all")
    async with admin.db.transaction() as tx:
        row = await tx.one("SELECT id, body, status FROM broadcasts")
    assert (row["body"], row["status"]) == (value, "draft")
    assert "Traceback" not in preview
    await admin.say("telegram", ORGANISER, choice=f"bc:{row['id']}:drop")
    await intact(admin)


TRICKS = {
    "attribute": ("Hi {first_name.__class__}", "conversions and formats are not allowed"),
    "index": ("Hi {first_name[0]}", "conversions and formats are not allowed"),
    "positional": ("Hi {0}", "is not a placeholder we know"),
    "auto-numbered": ("Hi {}", "is not a placeholder we know"),
    "nested attribute": ("Your number {supporter.phone}", "is not a placeholder we know"),
    "unknown": ("Call {phone}", "is not a placeholder we know"),
    "conversion": ("Hi {first_name!r}", "conversions and formats are not allowed"),
    "format spec": ("Hi {first_name:>10000}", "conversions and formats are not allowed"),
    "lone brace": ("Hi {first_name", "braces in the message don't match"),
    "closing brace": ("Hi } there", "braces in the message don't match"),
}


@pytest.mark.parametrize("body,reason", list(TRICKS.values()), ids=list(TRICKS))
async def test_console_placeholder_tricks_are_refused_and_nothing_is_queued(admin: Harness, body: str,
                                                                           reason: str) -> None:
    await admin.say("telegram", ORGANISER, f"/broadcast {body}")
    said = await admin.texts("telegram", ORGANISER, "all")
    # The attribute/index case is reported either way; what matters is the refusal and a re-prompt.
    assert reason in said or "is not a placeholder we know" in said, said
    assert t("broadcasts.ask_body", first="{first_name}", group="{group}") in said
    assert await scalar(admin, "SELECT COUNT(*) FROM broadcasts") == 0
    assert await scalar(admin, "SELECT COUNT(*) FROM outbox WHERE broadcast_id IS NOT NULL") == 0


@pytest.mark.parametrize("body,reason", list(TRICKS.values()), ids=list(TRICKS))
def test_cli_placeholder_tricks_are_refused_and_nothing_is_saved(dbfile, body: str, reason: str) -> None:
    result = runner.invoke(app, ["broadcast", "create", "--body", body, "--audience", "all"])
    assert result.exit_code == 1, result.output
    assert "Error" in result.output and "Traceback" not in result.output
    assert query_file(dbfile, "SELECT COUNT(*) FROM broadcasts") == [(0,)]
    assert query_file(dbfile, "SELECT COUNT(*) FROM outbox") == [(0,)]


def test_doubled_braces_are_literal_and_never_substituted(dbfile) -> None:
    result = runner.invoke(app, ["broadcast", "create", "--body", "Hi {{first_name}} and {first_name}",
                                 "--audience", "all"])
    assert result.exit_code == 0, result.output
    assert "Hi {first_name} and friend" in result.output  # the sample: escaped braces stay text


@each
def test_cli_broadcast_and_alert_text_is_stored_verbatim_and_printed_literally(dbfile, value: str) -> None:
    body = value.replace("{", "(").replace("}", ")")  # braces in bodies are templates: tested above
    result = runner.invoke(app, ["broadcast", "create", "--kind", "alert", "--body", body, "--cta", value,
                                 "--audience", "all", "--no-normalise"])
    assert result.exit_code == 0, result.output
    assert query_file(dbfile, "SELECT body, cta_text FROM broadcasts") == [(body, value)]
    if "[bold]" in value:
        assert "[bold]Loud[/bold] [/]" in result.output
    if "{" in value:  # the call to action is fixed text: its braces are never filled in
        assert "{first_name} {0}" in result.output
    listing = runner.invoke(app, ["broadcast", "list"])
    assert listing.exit_code == 0, listing.output


def test_a_10k_broadcast_body_or_call_to_action_is_refused_with_the_sms_limit(dbfile) -> None:
    for args in (["--body", LONG], ["--kind", "alert", "--body", "Act now", "--cta", LONG]):
        result = runner.invoke(app, ["broadcast", "create", *args, "--audience", "all"])
        assert result.exit_code == 1, result.output
        assert str(MAX_BODY) in result.output.replace(",", "")
    assert query_file(dbfile, "SELECT COUNT(*) FROM broadcasts") == [(0,)]


async def test_a_10k_console_broadcast_is_refused_and_asked_again(admin: Harness) -> None:
    await admin.say("telegram", ORGANISER, f"/broadcast {LONG}")
    said = await admin.texts("telegram", ORGANISER, "all")
    assert str(MAX_BODY) in said.replace(",", "")
    assert t("broadcasts.ask_body", first="{first_name}", group="{group}") in said
    assert await scalar(admin, "SELECT COUNT(*) FROM broadcasts") == 0


# -- what the providers are actually sent -------------------------------------------------------------
@pytest.fixture(scope="module")
def telegram_api() -> Iterator[FakeTelegramAPI]:
    with FakeTelegramAPI() as server:
        yield server


async def _nobody(message: Inbound) -> Handled:
    raise AssertionError("no inbound expected")


def _row(channel: str, address: str) -> OutboxRow:
    return OutboxRow(1, channel, address, None, "{}", 0, 0, None)


async def test_telegram_gets_plain_text_verbatim_and_long_text_split(telegram_api: FakeTelegramAPI, clock) -> None:
    telegram_api.reset()
    settings = load(TELEGRAM_BOT_TOKEN="123456:TEST-token", TELEGRAM_API_BASE_URL=telegram_api.base_url,
                    MUSTER_ERASURE_SALT=ERASURE_SALT)
    channel = TelegramChannel(settings, _nobody, clock)
    await channel.app.initialize()
    try:
        for value in HOSTILE.values():
            await channel.send(_row("telegram", "4242"), Reply(value))
        sent = telegram_api.sent_messages(4242)
        assert [m["text"] for m in sent] == list(HOSTILE.values())
        calls = telegram_api.calls_of("sendMessage")
        assert all("parse_mode" not in c and "entities" not in c for c in calls)  # nothing is read as markup
        telegram_api.reset()
        await channel.send(_row("telegram", "4242"), Reply(LONG))
        parts = [m["text"] for m in telegram_api.sent_messages(4242)]
        assert len(parts) == 3 and all(units(p) <= TELEGRAM_LIMIT for p in parts)
        assert "".join(parts).replace(" ", "") == LONG.replace(" ", "")
    finally:
        await channel.app.shutdown()


async def test_sms_gets_the_text_verbatim_and_refuses_what_twilio_would(clock) -> None:
    with FakeTwilioAPI(auth=(ACCOUNT_SID, AUTH_TOKEN)) as twilio:
        settings = load(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_FROM_NUMBER=SENDER,
                        TWILIO_WEBHOOK_BASE_URL="https://muster.example.org", TWILIO_API_BASE_URL=twilio.base_url,
                        MUSTER_ERASURE_SALT=ERASURE_SALT)
        channel = SmsChannel(settings, _nobody, clock)
        try:
            for value in HOSTILE.values():
                await channel.send(_row("sms", "+447700900123"), Reply(value))
            assert [m["Body"] for m in twilio.messages] == list(HOSTILE.values())
            with pytest.raises(SendError) as refused:
                await channel.send(_row("sms", "+447700900123"), Reply(LONG))
            assert refused.value.code == "21617" and not refused.value.retryable
            assert len(twilio.messages) == len(HOSTILE)  # the long one never reached Twilio
        finally:
            await channel.stop()
