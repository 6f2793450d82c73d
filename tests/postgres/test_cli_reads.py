"""Every `muster` command that reads storage, on PostgreSQL: each export kind, a broadcast's report
(with its failures, opt-outs, replies and an alert's completion by group), the lists, an event's
attendees and report, and referrals, over one seeded deployment."""
from __future__ import annotations

from pathlib import Path

from storage import open_database
from tests.postgres.test_cli import muster, on_postgres
from tests.postgres.test_exports import _seed

__all__ = ["on_postgres"]  # the fixture, used by name


async def test_every_reading_command_works_on_postgresql(pg_url: str, on_postgres: Path, tmp_path: Path) -> None:
    db = await open_database(pg_url)
    try:
        ids = await _seed(db)
        async with db.transaction() as tx:
            await tx.execute("UPDATE supporters SET referred_by = ? WHERE id <> ?", (1, 1))
    finally:
        await db.close()

    out = tmp_path / "supporters.csv"
    exported = await muster("export", "supporters", "--no-bom", "--output", str(out))
    assert exported.exit_code == 0, exported.output
    assert "3 rows written" in exported.output
    assert "climate;housing" in out.read_text(encoding="utf-8")
    for kind, extra in (("consent", ()), ("attendances", ()), ("broadcast-results", ()),
                        ("broadcast-results", ("--broadcast", str(ids["plain"])))):
        result = await muster("export", kind, *extra)
        assert result.exit_code == 0, (kind, result.output)
        assert len(result.output.splitlines()) > 2, (kind, result.output)

    plain = await muster("broadcast", "report", str(ids["plain"]))
    assert plain.exit_code == 0, plain.output
    words = " ".join(plain.output.split())
    assert "Failed (30003) │ 1" in words and "Opt-outs within 24 h │ 1" in words, plain.output
    alert = await muster("broadcast", "report", str(ids["alert"]))
    assert alert.exit_code == 0, alert.output
    assert "Completion by group" in alert.output and "Leeds North" in alert.output

    for args in (("broadcast", "list"), ("broadcast", "preview", str(ids["plain"])),
                 ("event", "list"), ("event", "attendees", str(ids["event"])),
                 ("event", "attendees", str(ids["event"]), "--csv"), ("event", "report", str(ids["event"])),
                 ("referrals",), ("referrals", "--group", "Leeds North"),
                 ("group", "list"), ("organiser", "list"), ("api-token", "list")):
        result = await muster(*args)
        assert result.exit_code == 0, (args, result.output)
    assert not on_postgres.exists()
