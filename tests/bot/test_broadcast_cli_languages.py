"""`muster broadcast create --body-cy …` against a file database: the Welsh version of a broadcast and of an
action alert saved with the draft, the preview per language, and a version MUSTER_LANGUAGES does not list refused."""
from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from bot.cli import app
from storage import open_database
from tests.flows.broadcast_support import person
from tests.harness import query_file

runner = CliRunner()
WELSH = "Helo {first_name}, mae'r rali ddydd Sadwrn. Dewch â ffrind i'r ŵyl!"


@pytest.fixture
def dbfile(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("MUSTER_DB_PATH", str(path))
    monkeypatch.setenv("MUSTER_DEMO", "false")
    monkeypatch.setenv("SMS_QUIET_HOURS", "")
    monkeypatch.setenv("MUSTER_LANGUAGES", "en,cy")
    monkeypatch.setenv("COLUMNS", "300")  # rich wraps at the terminal's width

    async def seed() -> None:
        db = await open_database(str(path))
        async with db.transaction() as tx:
            for name, lang in (("Aisha", "en"), ("Siôn", "cy")):
                sid = await person(tx, name=name)
                await tx.execute("UPDATE supporters SET language = ? WHERE id = ?", (lang, sid))
        await db.close()

    asyncio.run(seed())
    return path


def _translations(dbfile, broadcast_id: int) -> dict:
    ((raw,),) = query_file(dbfile, "SELECT translations FROM broadcasts WHERE id = ?", (broadcast_id,))
    return json.loads(raw) if raw else {}


def test_create_with_a_welsh_body_previews_each_language(dbfile):
    result = runner.invoke(app, ["broadcast", "create", "--body", "Hi {first_name}, rally on Saturday",
                                 "--body-cy", WELSH])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Draft #1 saved" in out
    assert "English: 1 by SMS, 0 on Telegram, 0 group chats. SMS: GSM-7, 1 segment" in out
    assert "Welsh (Cymraeg): 1 by SMS, 0 on Telegram, 0 group chats. SMS: UCS-2, 2 segments" in out
    assert "The Welsh (Cymraeg) version has â, ŵ, outside GSM-7" in out
    assert "Sample (Welsh (Cymraeg))" in out and "mae'r rali ddydd Sadwrn" in out
    assert _translations(dbfile, 1) == {"cy": {"body": WELSH}}
    preview = runner.invoke(app, ["broadcast", "preview", "1"])
    assert preview.exit_code == 0 and "Welsh (Cymraeg): 1 by SMS" in preview.output
    sent = runner.invoke(app, ["broadcast", "send", "1", "--yes"])
    assert sent.exit_code == 0, sent.output
    texts = [json.loads(p)["text"] for (p,) in query_file(dbfile, "SELECT payload FROM outbox ORDER BY supporter_id")]
    assert texts[0].startswith("Hi Aisha, rally on Saturday") and texts[1].startswith("Helo Siôn, mae'r rali")


def test_an_alert_with_its_welsh_call_to_action(dbfile):
    result = runner.invoke(app, ["broadcast", "create", "--kind", "alert", "--body", "Register by Friday",
                                 "--cta", "Register to vote", "--link", "https://www.gov.uk/register-to-vote",
                                 "--body-cy", "Cofrestrwch erbyn dydd Gwener", "--cta-cy", "Cofrestrwch i bleidleisio",
                                 "--deadline", "2099-11-20 23:59"])
    assert result.exit_code == 0, result.output
    assert _translations(dbfile, 1) == {"cy": {"body": "Cofrestrwch erbyn dydd Gwener",
                                               "cta_text": "Cofrestrwch i bleidleisio"}}
    assert "Gweithredu: Cofrestrwch i bleidleisio https://www.gov.uk/register-to-vote" in result.output
    assert "Erbyn: Gwen 20 Tach 2099 23:59 GMT" in result.output


def test_without_a_welsh_body_the_preview_has_no_language_lines(dbfile):
    result = runner.invoke(app, ["broadcast", "create", "--body", "Meeting tonight"])
    assert result.exit_code == 0, result.output
    assert "Welsh (Cymraeg)" not in result.output and _translations(dbfile, 1) == {}


def test_what_cannot_be_a_welsh_version_is_refused_in_one_line(dbfile, monkeypatch):
    cta = runner.invoke(app, ["broadcast", "create", "--body", "Hello", "--cta-cy", "Ewch"])
    assert cta.exit_code == 1 and "--cta-cy: a call to action is for action alerts" in cta.output
    alone = runner.invoke(app, ["broadcast", "create", "--kind", "alert", "--body", "Go", "--cta", "Go",
                                "--cta-cy", "Ewch"])
    assert alone.exit_code == 1 and "needs the Welsh (Cymraeg) message" in alone.output
    monkeypatch.setenv("MUSTER_LANGUAGES", "en")
    english = runner.invoke(app, ["broadcast", "create", "--body", "Hello", "--body-cy", "Helo"])
    assert english.exit_code == 1 and "MUSTER_LANGUAGES offers English only" in english.output
    assert query_file(dbfile, "SELECT COUNT(*) FROM broadcasts") == [(0,)]


def test_the_help_names_the_welsh_options():
    result = runner.invoke(app, ["broadcast", "create", "--help"], env={"COLUMNS": "200"})
    assert "--body-cy" in result.output and "--cta-cy" in result.output


def test_a_followup_keeps_the_welsh_or_takes_new_welsh_text(dbfile):
    created = runner.invoke(app, ["broadcast", "create", "--kind", "alert", "--body", "Register by Friday",
                                  "--cta", "Register to vote", "--body-cy", "Cofrestrwch erbyn dydd Gwener",
                                  "--cta-cy", "Cofrestrwch i bleidleisio"])
    assert created.exit_code == 0, created.output
    assert runner.invoke(app, ["broadcast", "send", "1", "--yes"]).exit_code == 0
    again = runner.invoke(app, ["broadcast", "followup", "1"])
    assert again.exit_code == 0, again.output
    assert _translations(dbfile, 2) == _translations(dbfile, 1)
    new = runner.invoke(app, ["broadcast", "followup", "1", "--body", "Last day to register",
                              "--body-cy", "Diwrnod olaf i gofrestru"])
    assert new.exit_code == 0, new.output
    assert _translations(dbfile, 3) == {"cy": {"body": "Diwrnod olaf i gofrestru",
                                               "cta_text": "Cofrestrwch i bleidleisio"}}
    assert "Welsh (Cymraeg): 1 by SMS" in new.output
