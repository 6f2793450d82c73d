"""An import may cite the consent wordings the bot records itself, in English and in Welsh: a supporter who
signed up, or texted START, in Welsh has the Welsh wording's version on their record."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import imports
from flows.organiser.access import Actor
from flows.supporter.consent import RESTART_WORDINGS
from flows.supporter.signup import CONSENT_WORDINGS
from storage.db import Database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLI = Actor(trusted=True, label="cli")


def test_every_language_of_the_chat_wordings_may_be_cited() -> None:
    assert set(imports.CHAT_WORDINGS) == {"signup-consent-v1", "signup-consent-cy-v1", "keyword-start-v1",
                                          "keyword-start-cy-v1"}
    assert set(CONSENT_WORDINGS.values()) | set(RESTART_WORDINGS.values()) == set(imports.CHAT_WORDINGS)


@pytest.mark.parametrize("version", ["signup-consent-cy-v1", "keyword-start-cy-v1", "signup-consent-v1"])
async def test_a_file_citing_a_chat_wording_in_either_language_is_imported(
        db: Database, tmp_path: Path, version: str) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone,consent_date,consent_method,consent_wording\n"
                    f"07400 300001,2025-01-02,paper form,{version}\n")
    seen: dict[int, imports.Outcome] = {}
    await imports.run(db.transaction, CLI, path, "list.csv", imports.Options(), FlowSettings(), NOW, dry_run=False,
                      on_outcome=lambda o: seen.__setitem__(o.line, o))
    assert seen[2].result == "new" and seen[2].reason == "opted in to SMS"
    async with db.transaction() as tx:
        rows = await tx.query("SELECT wording_version FROM consent_log")
    assert [r[0] for r in rows] == [version]


async def test_a_welsh_looking_version_the_bot_never_recorded_is_refused(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "list.csv"
    path.write_text("phone,consent_date,consent_method,consent_wording\n07400 300001,2025-01-02,paper form,"
                    "signup-consent-cy-v9\n")
    seen: dict[int, imports.Outcome] = {}
    await imports.run(db.transaction, CLI, path, "list.csv", imports.Options(), FlowSettings(), NOW, dry_run=False,
                      on_outcome=lambda o: seen.__setitem__(o.line, o))
    assert seen[2].result == "refused" and "is not a version Muster knows" in seen[2].reason
