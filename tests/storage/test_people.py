"""The supporter search, page after page by keyset, against the same rows sorted the plain way,
for each path through it: read in join order, read in name order, and few enough to sort."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from storage import people
from storage.db import Database, ts
from storage.people import FEW, Filters, Match

N = 2 * FEW + 500  # enough for a filter matching more than FEW (SMS: two in three), and others fewer
START = datetime(2026, 1, 1, tzinfo=UTC)
NAMES = ["amy", "Amy", "ben", "Bea", "carl", "Élodie", None, "zoë", "Dan"]


@pytest.fixture
async def rows(db: Database) -> list[dict]:
    rng = random.Random(3)
    made = []
    for i in range(1, N + 1):
        made.append({
            "id": i, "first_name": rng.choice(NAMES), "group_id": rng.choice((1, 2, None)),
            "status": "erased" if i % 17 == 0 else "active",
            "phone": f"+4474{i:08d}" if i % 3 else None,
            "sms_consent": rng.choice(("opted_in", "opted_out", "none")),
            # several supporters join at the same moment: ties are broken by id
            "created_at": ts(START + timedelta(minutes=rng.randint(0, N // 3))),
            "interest": i % 4 == 0, "rare": i % 97 == 0, "language": "cy" if i % 5 == 0 else "en",
        })
    async with db.transaction() as tx:
        tx.write_many("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                      [(g, f"G{g}", ts(START)) for g in (1, 2)])
        tx.write_many(
            "INSERT INTO supporters (id, first_name, group_id, status, phone, sms_consent, created_at, language) "
            "VALUES (:id, :first_name, :group_id, :status, :phone, :sms_consent, :created_at, :language)", made)
        tx.write_many("INSERT INTO supporter_interests (supporter_id, interest) VALUES (?, ?)",
                      [(r["id"], "housing") for r in made if r["interest"]]
                      + [(r["id"], "rare") for r in made if r["rare"]])
    return made


def _expected(rows: list[dict], keep, sort: str) -> list[int]:
    kept = [r for r in rows if r["status"] != "erased" and keep(r)]
    if sort == "newest":
        kept.sort(key=lambda r: (r["created_at"], r["id"]), reverse=True)
    else:  # by name as SQLite folds it (ASCII letters only), then those without one, by id
        folded = [r for r in kept if r["first_name"]]
        folded.sort(key=lambda r: (r["first_name"].translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                                             "abcdefghijklmnopqrstuvwxyz")), r["id"]))
        kept = folded + sorted((r for r in kept if not r["first_name"]), key=lambda r: r["id"])
    return [r["id"] for r in kept]


async def _all_pages(db: Database, f: Filters, sort: str, limit: int = 50) -> list[int]:
    seen: list[int] = []
    after = None
    while True:
        async with db.transaction() as tx:
            page, after = await people.search(tx, f, sort, after, limit)
        seen += [r.id for r in page]
        assert len(page) <= limit
        if after is None:
            return seen


CASES = {
    "everyone": (Filters(), lambda r: True),
    "a group's": (Filters(groups=(1,)), lambda r: r["group_id"] == 1),
    "no group": (Filters(no_group=True), lambda r: r["group_id"] is None),
    "on SMS (more than FEW)": (Filters(channel="sms"), lambda r: r["phone"] is not None),
    "many with an interest": (Filters(interest="housing"), lambda r: r["interest"]),
    "few with an interest": (Filters(interest="rare"), lambda r: r["rare"]),
    "opted out, in scope": (Filters(groups=(1, 2), consent=("sms", "opted_out")),
                            lambda r: r["group_id"] in (1, 2) and r["sms_consent"] == "opted_out"),
    "names starting am": (Filters(match=Match("name", "am")),
                          lambda r: (r["first_name"] or "").lower().startswith("am")),
    "phone digits": (Filters(match=Match("phone", "0007", anywhere=True)), lambda r: "0007" in (r["phone"] or "")),
    "written to in Welsh": (Filters(language="cy"), lambda r: r["language"] == "cy"),
    "none at all": (Filters(interest="rare", consent=("sms", "not_asked"), channel="telegram"), lambda r: False),
}


@pytest.mark.parametrize("sort", people.SORTS)
@pytest.mark.parametrize("case", list(CASES))
async def test_every_page_follows_the_last_and_together_they_are_the_sorted_matches(db, rows, case, sort) -> None:
    filters, keep = CASES[case]
    assert await _all_pages(db, filters, sort) == _expected(rows, keep, sort)


async def test_a_page_of_one_works_too(db, rows) -> None:
    f = Filters(groups=(2,), interest="rare")
    assert await _all_pages(db, f, "name", limit=1) == _expected(rows, lambda r: r["group_id"] == 2 and r["rare"],
                                                                    "name")


async def test_an_empty_scope_reaches_nobody(db, rows) -> None:
    async with db.transaction() as tx:
        assert await people.search(tx, Filters(groups=()), "newest", None, 50) == ([], None)


async def test_erasure_takes_an_organisers_reason_with_the_link_to_the_supporter(db) -> None:
    from storage import consent, privacy, supporters

    now = START
    async with db.transaction() as tx:
        person = (await supporters.find_or_create_many(tx, "sms", ["+447400123456"], now))["+447400123456"]
        consent.record(tx, person, "sms", "opt_out", "organiser", now, reason="Jo Bloggs rang the office")
    async with db.transaction() as tx:
        assert [(e.source, e.reason) for e in await people.consent_history(tx, person.id)] == [
            ("organiser", "Jo Bloggs rang the office")]
        await privacy.erase(tx, person.id, now)
    async with db.transaction() as tx:
        rows = await tx.query("SELECT supporter_id, action, source, reason FROM consent_log")
    assert [tuple(r) for r in rows] == [(None, "opt_out", "organiser", None)]
