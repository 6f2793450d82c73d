"""The CLI column of the authorisation matrix: the operator (server and database in hand) acts as admin.

Each case runs `muster …` with typer's CliRunner against the harness's database file, then
checks the output and the database; where a command takes a local group, the case checks
that scope is honoured (a role limited to Leeds stays limited in the console; a broadcast or
announcement for Leeds reaches nobody in York).
"""
from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from bot.cli import app, console
from storage import supporters
from tests.harness import Harness
from tests.security.authz_world import (
    ADMIN,
    CHATS,
    LEEDS,
    MEMBERS,
    ORGANISER,
    YORK,
    World,
    fingerprint,
    outbox_to,
    seed,
    value,
)

runner = CliRunner()
NEWCOMER = "7400"  # a Telegram id given a role through the CLI
# Not organiser actions: serving the bot, and chatting with it as a supporter from the terminal.
# Operator commands: run on the machine itself, with the service stopped (db copy-to), not organiser actions.
NOT_ORGANISER = {"run", "chat", "db copy-to"}


def command_paths(group: object | None = None, prefix: str = "") -> set[str]:
    """Every leaf command of `muster`, as 'event create' (a group is anything holding commands)."""
    group = group or typer.main.get_command(app)
    found: set[str] = set()
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        found |= command_paths(command, f"{path} ") if hasattr(command, "commands") else {path}
    return found


async def cli(*args: str) -> Result:
    """`muster ARGS`, off the event loop (the CLI runs its own)."""
    return await asyncio.to_thread(runner.invoke, app, list(args))


def ok(result: Result, *expected: str) -> None:
    assert result.exit_code == 0, result.output
    for text in expected:
        assert text in result.output, result.output


def refused(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert expected in result.output.replace("\n", " "), result.output


async def count(h: Harness, table: str) -> int:
    return await value(h, f"SELECT COUNT(*) FROM {table}")


# -- organiser and group ------------------------------------------------------------------------
async def organiser_add_scoped(h: Harness, w: World) -> None:
    ok(await cli("organiser", "add", "--role", "organiser", "--telegram-id", NEWCOMER, "--group", LEEDS),
       "Added organiser", LEEDS)
    assert await value(h, "SELECT group_id FROM organisers WHERE telegram_id = ?", (int(NEWCOMER),)) == w.groups[LEEDS]
    # As documented (--group limits an organiser to that local group): York stays out of reach.
    said = await h.texts("telegram", NEWCOMER, choice=f"evadm:pub:{w.draft_event[YORK]}")
    assert "is for organisers only" in said
    assert await value(h, "SELECT status FROM events WHERE id = ?", (w.draft_event[YORK],)) == "draft"
    assert "Published" in await h.texts("telegram", NEWCOMER, choice=f"evadm:pub:{w.draft_event[LEEDS]}")


async def organiser_add_admin(h: Harness, w: World) -> None:
    phone = "+447400740000"
    ok(await cli("organiser", "add", "--role", "admin", "--phone", phone), "Added admin")
    assert "Published" in await h.texts("sms", phone, choice=f"evadm:pub:{w.draft_event[YORK]}")


async def organiser_add_unknown_group(h: Harness, w: World) -> None:
    before = await count(h, "organisers")
    refused(await cli("organiser", "add", "--role", "organiser", "--telegram-id", NEWCOMER, "--group", "Nowhere"),
            "no local group called 'Nowhere'")
    assert await count(h, "organisers") == before


async def organiser_remove(h: Harness, w: World) -> None:
    ok(await cli("organiser", "remove", "--telegram-id", ORGANISER.telegram), "Removed 1 organiser role")
    assert "/newevent is for organisers only" in await h.texts("telegram", ORGANISER.telegram, "/newevent")


async def organiser_login_link(h: Harness, w: World) -> None:
    ok(await cli("organiser", "login-link", "--telegram-id", ORGANISER.telegram), "/console/login/", "works once")
    assert await value(h, "SELECT COUNT(*) FROM login_tokens") == 1


async def organiser_login_link_stranger(h: Harness, w: World) -> None:
    refused(await cli("organiser", "login-link", "--telegram-id", NEWCOMER), "no organiser has that")
    assert await count(h, "login_tokens") == 0


async def organiser_list(h: Harness, w: World) -> None:
    ok(await cli("organiser", "list"), "organiser", "admin", LEEDS, "everything")


async def group_add(h: Harness, w: World) -> None:
    ok(await cli("group", "add", "Hull", "--areas", "HU"), "Created group")
    assert await value(h, "SELECT COUNT(*) FROM local_groups WHERE name = 'Hull'") == 1


async def group_list(h: Harness, w: World) -> None:
    ok(await cli("group", "list"), LEEDS, YORK)


async def group_edit(h: Harness, w: World) -> None:
    ok(await cli("group", "edit", YORK, "--rename", "York and Selby", "--areas", "YO1 YO8"), "Updated group")
    assert await value(h, "SELECT name FROM local_groups WHERE id = ?", (w.groups[YORK],)) == "York and Selby"
    # Renamed, it is still not Leeds: its events stay out of the Leeds organiser's reach.
    assert "is for organisers only" in await h.texts("telegram", ORGANISER.telegram,
                                                     choice=f"evadm:pub:{w.draft_event[YORK]}")


async def group_remove(h: Harness, w: World) -> None:
    refused(await cli("group", "remove", YORK), "still has 2 events")
    ok(await cli("group", "remove", YORK, "--force"), "Removed group")
    assert await value(h, "SELECT COUNT(*) FROM local_groups WHERE id = ?", (w.groups[YORK],)) == 0
    # York's events are national now: still out of the Leeds organiser's reach.
    assert await value(h, "SELECT group_id FROM events WHERE id = ?", (w.draft_event[YORK],)) is None
    assert "is for organisers only" in await h.texts("telegram", ORGANISER.telegram,
                                                     choice=f"evadm:pub:{w.draft_event[YORK]}")


# -- events ------------------------------------------------------------------------------------------
def _event_create(group: str | None) -> Callable[[Harness, World], Awaitable[None]]:
    async def case(h: Harness, w: World) -> None:
        args = ["event", "create", "--title", "CLI rally", "--when", "2030-01-05 10:00", "--venue", "Hall"]
        ok(await cli(*args, *(["--group", group] if group else [])), "Created #")
        event_id = await value(h, "SELECT id FROM events WHERE title = 'CLI rally'")
        group_id = await value(h, "SELECT group_id FROM events WHERE id = ?", (event_id,))
        assert group_id == (w.groups[group] if group else None)
        # Leeds' organiser manages it only when it is Leeds'; the admin always.
        said = await h.texts("telegram", ORGANISER.telegram, choice=f"evadm:pub:{event_id}")
        assert ("Published" in said) is (group == LEEDS), said
        assert "Published" in await h.texts("telegram", ADMIN.telegram, choice=f"evadm:pub:{event_id}")
    return case


async def event_create_unknown_group(h: Harness, w: World) -> None:
    before = await count(h, "events")
    refused(await cli("event", "create", "--title", "X", "--when", "2030-01-05 10:00", "--group", "Nowhere"),
            "no local group called 'Nowhere'")
    assert await count(h, "events") == before


async def event_edit(h: Harness, w: World) -> None:
    ok(await cli("event", "edit", str(w.live_event[YORK]), "--title", "Renamed"), "Updated #")
    assert await value(h, "SELECT title FROM events WHERE id = ?", (w.live_event[YORK],)) == "Renamed"


async def event_publish(h: Harness, w: World) -> None:
    ok(await cli("event", "publish", str(w.draft_event[LEEDS]), "--announce"), "Announcement queued for 1")
    assert await value(h, "SELECT status FROM events WHERE id = ?", (w.draft_event[LEEDS],)) == "confirmed"
    # Leeds' event is announced to Leeds: its member and its chat, nobody in York.
    assert [await outbox_to(h, a) for a in (MEMBERS[LEEDS], CHATS[LEEDS], MEMBERS[YORK], CHATS[YORK])] == [1, 1, 0, 0]


async def event_cancel(h: Harness, w: World) -> None:
    ok(await cli("event", "cancel", str(w.live_event[YORK])), "Cancelled #")
    assert await value(h, "SELECT status FROM events WHERE id = ?", (w.live_event[YORK],)) == "cancelled"


def _read_only(*args: str, expected: Callable[[World], list[str]]) -> Callable[[Harness, World], Awaitable[None]]:
    async def case(h: Harness, w: World) -> None:
        before = await fingerprint(h)
        ok(await cli(*[a.format(**_ids(w)) for a in args]), *expected(w))
        assert await fingerprint(h) == before
    return case


def _ids(w: World) -> dict[str, int]:
    return {"live": w.live_event[YORK], "draft_b": w.draft_broadcast[YORK], "scheduled": w.scheduled[YORK]}


async def event_attend(h: Harness, w: World) -> None:
    ok(await cli("event", "attend", str(w.live_event[YORK]), "--phone", MEMBERS[YORK]), "marked as attended")
    assert await value(h, "SELECT attended FROM rsvps WHERE event_id = ?", (w.live_event[YORK],)) == 1


async def referrals(h: Harness, w: World) -> None:
    async with h.db.transaction() as tx:
        for name in (LEEDS, YORK):
            recruiter = await supporters.find(tx, "sms", MEMBERS[name])
            recruit = (await supporters.find_or_create_many(tx, "sms", [f"+44740020000{len(name)}"], h.clock.now()))
            supporters.update(tx, next(iter(recruit.values())), referred_by=recruiter.id, group_id=w.groups[name])
    ok(await cli("referrals"), "Leeds member", "York member")
    scoped = await cli("referrals", "--group", LEEDS)
    ok(scoped, "Leeds member")
    assert "York member" not in scoped.output


# -- broadcasts ----------------------------------------------------------------------------------------
async def broadcast_create(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "create", "--body", "CLI news", "--audience", f"group:{LEEDS}"), "saved")
    row = await value(h, "SELECT scope_groups FROM broadcasts WHERE body = 'CLI news' AND status = 'draft'")
    assert json.loads(row) == [w.groups[LEEDS]]


async def broadcast_create_unknown_group(h: Harness, w: World) -> None:
    before = await count(h, "broadcasts")
    refused(await cli("broadcast", "create", "--body", "X", "--audience", "group:Nowhere"), "no local group")
    assert await count(h, "broadcasts") == before


async def broadcast_send(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "send", str(w.draft_broadcast[LEEDS]), "--yes"), "started")
    assert await value(h, "SELECT status FROM broadcasts WHERE id = ?", (w.draft_broadcast[LEEDS],)) == "sending"
    assert (await outbox_to(h, MEMBERS[LEEDS]), await outbox_to(h, MEMBERS[YORK])) == (1, 0)


async def broadcast_resend_unknown(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "send", str(w.draft_broadcast[LEEDS]), "--yes"), "started")
    async with h.db.transaction() as tx:  # as a crash mid-send leaves it
        await tx.execute("UPDATE outbox SET status = 'unknown' WHERE broadcast_id = ?", (w.draft_broadcast[LEEDS],))
    ok(await cli("broadcast", "resend-unknown", str(w.draft_broadcast[LEEDS]), "--yes"), "in doubt queued again")
    assert await value(h, "SELECT status FROM outbox WHERE broadcast_id = ?", (w.draft_broadcast[LEEDS],)) == "queued"


async def broadcast_schedule(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "schedule", str(w.draft_broadcast[YORK]), "--at", "tomorrow 18:00", "--yes"),
       "is scheduled")
    assert await value(h, "SELECT status FROM broadcasts WHERE id = ?", (w.draft_broadcast[YORK],)) == "scheduled"
    assert await outbox_to(h, MEMBERS[YORK]) == 0


async def broadcast_cancel(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "cancel", str(w.scheduled[YORK])), "cancelled")
    assert await value(h, "SELECT status FROM broadcasts WHERE id = ?", (w.scheduled[YORK],)) == "cancelled"


async def broadcast_followup(h: Harness, w: World) -> None:
    ok(await cli("broadcast", "followup", str(w.sent_alert[YORK])), "Follow-up draft")
    audience = await value(h, "SELECT audience FROM broadcasts WHERE id = (SELECT MAX(id) FROM broadcasts)")
    assert json.loads(audience)["alert_id"] == w.sent_alert[YORK]


Case = Callable[[Harness, World], Awaitable[None]]


@dataclass(frozen=True)
class CliCase:
    path: str
    variant: str
    run: Case

    @property
    def id(self) -> str:
        return "-".join(p for p in ("cli", self.path.replace(" ", "-"), "operator", self.variant) if p)


async def api_token_create(h: Harness, w: World) -> None:
    ok(await cli("api-token", "create", "--name", "website", "--scope", "signup"), "mst_")
    assert await value(h, "SELECT scope FROM api_tokens WHERE name = 'website'") == "signup"


async def api_token_revoke(h: Harness, w: World) -> None:
    ok(await cli("api-token", "create", "--name", "old-site", "--scope", "read"))
    token = await value(h, "SELECT id FROM api_tokens WHERE name = 'old-site'")
    ok(await cli("api-token", "revoke", str(token)))
    assert await value(h, "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE id = ?", (token,)) == 1


async def event_poster(h: Harness, w: World) -> None:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "poster.pdf"
        ok(await cli("event", "poster", str(w.live_event[YORK]), "--size", "A5", "--out", str(out)))
        assert out.read_bytes().startswith(b"%PDF")


def _csv(text: str) -> Path:
    folder = Path(tempfile.mkdtemp())
    (folder / "list.csv").write_text(text, encoding="utf-8")
    return folder / "list.csv"


async def import_supporters(h: Harness, w: World) -> None:
    path = _csv("phone,first_name,group\n+447400299001,Rosa,York\n+447400299002,Ida,Nowhere\n")
    before = await fingerprint(h)
    ok(await cli("import", "supporters", str(path), "--dry-run"), "line 3")  # the unknown group, by its line
    assert await fingerprint(h) == before
    ok(await cli("import", "supporters", str(path), "--source", "stall sign-up sheet", "--consent-date", "2026-11-01",
                 "--method", "signed the sheet", "--wording", "Text me about York's campaigns"))
    rosa = await value(h, "SELECT sms_consent FROM supporters WHERE phone = '+447400299001'")
    assert rosa == "opted_in" and await value(h, "SELECT COUNT(*) FROM supporters WHERE phone = '+447400299002'") == 0


async def import_opt_outs(h: Harness, w: World) -> None:
    ok(await cli("import", "opt-outs", str(_csv(f"phone\n{MEMBERS[YORK]}\n"))))
    assert await value(h, "SELECT sms_consent FROM supporters WHERE phone = ?", (MEMBERS[YORK],)) == "opted_out"


CLI_ROWS: dict[str, dict[str, Case]] = {
    "import supporters": {"": import_supporters},
    "import opt-outs": {"": import_opt_outs},
    "export supporters": {"": _read_only("export", "supporters", expected=lambda w: ["phone", MEMBERS[YORK]])},
    "export consent": {"": _read_only("export", "consent", expected=lambda w: ["channel"])},
    "export attendances": {"": _read_only("export", "attendances", expected=lambda w: ["event"])},
    "export broadcast-results": {"": _read_only("export", "broadcast-results", expected=lambda w: ["status"])},
    "api-token create": {"": api_token_create},
    "api-token list": {"": _read_only("api-token", "list", expected=lambda w: [])},
    "api-token revoke": {"": api_token_revoke},
    "event poster": {"": event_poster},
    "db upgrade": {"": _read_only("db", "upgrade", expected=lambda w: ["up to date"])},
    "organiser add": {"own-group": organiser_add_scoped, "admin": organiser_add_admin,
                      "unknown-group": organiser_add_unknown_group},
    "organiser remove": {"": organiser_remove},
    "organiser list": {"": organiser_list},
    "organiser login-link": {"organiser": organiser_login_link, "stranger": organiser_login_link_stranger},
    "group add": {"": group_add},
    "group list": {"": group_list},
    "group edit": {"": group_edit},
    "group remove": {"": group_remove},
    "event create": {"own-group": _event_create(LEEDS), "other-group": _event_create(YORK),
                     "national": _event_create(None), "unknown-group": event_create_unknown_group},
    "event edit": {"": event_edit},
    "event publish": {"announce": event_publish},
    "event cancel": {"": event_cancel},
    "event list": {"": _read_only("event", "list", "--all", expected=lambda w: ["Leeds draft", "York draft"])},
    "event attendees": {"": _read_only("event", "attendees", "{live}", expected=lambda w: ["rsvp"])},
    "event attend": {"": event_attend},
    "event report": {"": _read_only("event", "report", "{live}", expected=lambda w: ["going"])},
    "referrals": {"group": referrals},
    "broadcast create": {"own-group": broadcast_create, "unknown-group": broadcast_create_unknown_group},
    "broadcast preview": {"": _read_only("broadcast", "preview", "{draft_b}",
                                         expected=lambda w: [f"Preview of broadcast #{w.draft_broadcast[YORK]}"])},
    "broadcast send": {"": broadcast_send},
    "broadcast resend-unknown": {"": broadcast_resend_unknown},
    "broadcast schedule": {"": broadcast_schedule},
    "broadcast cancel": {"": broadcast_cancel},
    "broadcast list": {"": _read_only("broadcast", "list", expected=lambda w: ["Leeds draft", "York draft"])},
    "broadcast followup": {"": broadcast_followup},
    "broadcast report": {"": _read_only("broadcast", "report", "{scheduled}",
                                        expected=lambda w: [f"Report for broadcast #{w.scheduled[YORK]}"])},
}
CASES = [CliCase(path, variant, run) for path, variants in CLI_ROWS.items() for variant, run in variants.items()]


async def check(h: Harness, monkeypatch: pytest.MonkeyPatch, case: CliCase) -> None:
    monkeypatch.setenv("MUSTER_DB_PATH", h.db.path)
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    monkeypatch.setattr(console, "_width", 240)  # tables on one line each, so names are not wrapped
    world = await seed(h.db, h.clock.now())
    await case.run(h, world)
