"""Importing supporters and opt-outs through the operation every front calls: table-driven CSV files as
organisers' spreadsheets really save them, and the rules (consent only with evidence, opt-outs and
erasures never undone, duplicates refused with the line they repeat, the same file twice changes
nothing)."""
from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flows.core.settings import FlowSettings
from flows.organiser import import_rows, imports
from flows.organiser.access import Actor
from flows.organiser.errors import ScopeError
from flows.organiser.import_file import FileError
from flows.values import phones, postcodes
from storage import suppression
from storage.db import Database, ts
from storage.organisers import Role

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CLI = Actor(trusted=True, label="cli")
SETTINGS = FlowSettings()
EVIDENCE = imports.Evidence("stall sign-up sheet 2025", datetime(2025, 7, 12, tzinfo=UTC), "signed paper form",
                            "Yes, text me about campaigns and events near me.")


async def _run(db: Database, tmp_path: Path, content: str | bytes, *, dry_run: bool = False,
               name: str = "list.csv", **options) -> tuple[imports.Summary, dict[int, imports.Outcome]]:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    seen: dict[int, imports.Outcome] = {}
    summary = await imports.run(db.transaction, CLI, path, name, imports.Options(**options), SETTINGS, NOW,
                                dry_run=dry_run, on_outcome=lambda o: seen.__setitem__(o.line, o))
    return summary, seen


async def _one(db: Database, sql: str, params: tuple = ()) -> list[tuple]:
    async with db.transaction() as tx:
        return [tuple(r) for r in await tx.query(sql, params)]


@pytest.fixture
async def groups(db: Database) -> None:
    async with db.transaction() as tx:
        tx.write_many("INSERT INTO local_groups (id, name, created_at) VALUES (?, ?, ?)",
                      [(1, "Leeds North", ts(NOW)), (2, "York", ts(NOW))])
        tx.write("INSERT INTO group_areas (area, group_id) VALUES ('LS6', 1)")


# -- the shapes files come in -------------------------------------------------------------------------------
CASES = [
    ("a BOM and commas", "\ufeffphone,first_name\n07400 300001,Ann\n", {2: ("new", "+447400300001", "Ann")}),
    ("semicolons", "Phone;Name;Email\n07400 300001;Ann;ann@example.org\n", {2: ("new", "+447400300001", "Ann")}),
    ("tabs", "phone\tfirst name\n+447400300001\tAnn\n", {2: ("new", "+447400300001", "Ann")}),
    ("quoted commas and a newline in a cell",
     'phone,first_name,last_name\n07400 300001,"Ann, Jr","Lee\nSmith"\n07400 300002,Bob,\n',
     {2: ("new", "+447400300001", "Ann, Jr"), 4: ("new", "+447400300002", "Bob")}),
    ("Excel's rounded number", "phone,first_name\n4.47401E+11,Ann\n07400 300002,Bob\n",
     {2: ("refused", "scientific notation", None), 3: ("new", "+447400300002", "Bob")}),
    ("a number saved with decimals", "phone\n447400300001.0\n", {2: ("refused", "number with decimals", None)}),
    ("07, +44 (0)7, 0044 and 44 forms", "phone\n07400 300001\n+44 (0)7400 300002\n0044 7400 300003\n447400300004\n",
     {2: ("new", "+447400300001", None), 3: ("new", "+447400300002", None), 4: ("new", "+447400300003", None),
      5: ("new", "+447400300004", None)}),
    ("blank lines anywhere", "\nphone\n\n07400 300001\n\n\n07400 300002\n",
     {4: ("new", "+447400300001", None), 7: ("new", "+447400300002", None)}),
    ("duplicates in the file", "phone,email\n07400 300001,a@example.org\n+447400300001,\n07400 300002,A@example.org\n",
     {2: ("new", "+447400300001", None), 3: ("refused", "the same phone number as line 2", None),
      4: ("refused", "the same email as line 2", None)}),
    ("bad emails", "phone,email\n07400 300001,not-an-email\n07400 300002,a@@b.org\n07400 300003,ok@example.org\n",
     {2: ("refused", "is not an email address", None), 3: ("refused", "is not an email address", None),
      4: ("new", "+447400300003", None)}),
    ("unknown groups", "phone,group\n07400 300001,Atlantis\n07400 300002,leeds north\n",
     {2: ("refused", "no local group called 'Atlantis'", None), 3: ("new", "+447400300002", None)}),
    ("not a phone number", "phone\n12\n", {2: ("refused", "is not a phone number", None)}),
    ("a formula neutralised by an export", "phone,first_name\n'+447400300001,'=Ann\n",
     {2: ("new", "+447400300001", "=Ann")}),
    ("no phone, Telegram id nor known email", "email\nnobody@example.org\n",
     {2: ("refused", "no phone number or Telegram id", None)}),
    ("a Telegram id alone", "telegram_id,first_name\n6071829354,Tel\n", {2: ("new", None, "Tel")}),
    ("a postcode placing them in its group", "phone,postcode\n07400 300001,ls6 1aa\n07400 300002,QQ1 1AA\n",
     {2: ("new", "+447400300001", None), 3: ("refused", "is not a UK postcode", None)}),
]


@pytest.mark.parametrize("content, expected", [(c, e) for _, c, e in CASES], ids=[n for n, _, _ in CASES])
async def test_files_as_spreadsheets_save_them(db: Database, tmp_path: Path, groups: None, content: str,
                                               expected: dict) -> None:
    summary, seen = await _run(db, tmp_path, content)
    assert sorted(seen) == sorted(expected), "every row has an outcome, under its own line number"
    for line, (result, detail, name) in expected.items():
        assert seen[line].result == result, (line, seen[line])
        if result == "refused":
            assert detail in seen[line].reason
        else:
            found = [r for r in await _one(db, "SELECT first_name FROM supporters WHERE phone = ?", (detail,))
                     if name is None or r[0] == name] if detail else [(name,)]
            assert found == [(name,)], (line, found)
    assert sum(summary.counts[r] for r in imports.RESULTS) == len(expected)


async def test_a_postcode_places_them_in_the_group_covering_it(db: Database, tmp_path: Path, groups: None) -> None:
    await _run(db, tmp_path, "phone,postcode\n07400 300001,ls6 1aa\n")
    assert await _one(db, "SELECT postcode, area, group_id FROM supporters") == [("LS6 1AA", "LS6", 1)]


@pytest.mark.parametrize("content, line", [
    ("phone,first_name\n07400 300001,Ann\n07400 300002,Jos\xe9\n".encode("latin-1"), 3),
    (b"phone\n07400 300001\n\x80\x81\n", 3),
])
async def test_text_that_is_not_utf8_is_refused_naming_the_line(db: Database, tmp_path: Path, content: bytes,
                                                                line: int) -> None:
    with pytest.raises(FileError, match=rf"Line {line} is not UTF-8 text .*CSV UTF-8"):
        await _run(db, tmp_path, content)
    assert await _one(db, "SELECT COUNT(*) FROM supporters") == [(0,)]


@pytest.mark.parametrize("content, said", [
    ("", "The file is empty"),
    ("\xff\xfep\x00h\x00", "UTF-16"),
    ('phone,first_name\n07400 300001,"Ann\n', "cannot be read as CSV"),
    ("first_name,surname\nAnn,Lee\n", "No column holds phone or telegram id or email"),
])
async def test_files_that_cannot_be_read_change_nothing(db: Database, tmp_path: Path, content: str, said: str) -> None:
    raw = content.encode("latin-1") if content.startswith("\xff") else content.encode()
    with pytest.raises(FileError, match=said):
        await _run(db, tmp_path, raw)
    assert await _one(db, "SELECT COUNT(*) FROM supporters") == [(0,)]


async def test_a_huge_file_in_batches(db: Database, tmp_path: Path) -> None:
    rows = 25_000
    body = "phone,first_name\n" + "".join(f"07400 {i:06d},P{i}\n" for i in range(rows)) + "07400 000007,Again\n"
    summary, seen = await _run(db, tmp_path, body)
    assert summary.counts["new"] == rows and summary.counts["refused"] == 1
    assert "the same phone number as line 9" in seen[rows + 2].reason, "found across batches"
    assert await _one(db, "SELECT COUNT(*) FROM supporters") == [(rows,)]


# -- consent -------------------------------------------------------------------------------------------------
async def test_no_evidence_is_a_contact_never_messaged(db: Database, tmp_path: Path) -> None:
    summary, seen = await _run(db, tmp_path, "phone,sms_consent\n07400 300001,\n07400 300002,opted in\n")
    assert summary.counts["no_consent"] == 2
    assert "never messaged" in seen[2].reason and "marked opted in to SMS without evidence" in seen[3].reason
    assert await _one(db, "SELECT sms_consent FROM supporters") == [("none",), ("none",)]
    assert await _one(db, "SELECT COUNT(*) FROM consent_log") == [(0,)]


async def test_evidence_for_the_file_is_a_new_wording_version(db: Database, tmp_path: Path) -> None:
    summary, _ = await _run(db, tmp_path, "phone,telegram_id\n07400 300001,\n07400 300002,6071829354\n",
                            evidence=EVIDENCE)
    assert await _one(db, "SELECT text, source FROM consent_wordings") == [(EVIDENCE.wording, "import")]
    assert await _one(db, "SELECT channel, action, source, wording_version, method, at, import_id "
                          "FROM consent_log ORDER BY id") == [
        ("sms", "opt_in", "import", EVIDENCE.version, "signed paper form", ts(EVIDENCE.date), summary.import_id),
        ("sms", "opt_in", "import", EVIDENCE.version, "signed paper form", ts(EVIDENCE.date), summary.import_id),
        ("telegram", "opt_in", "import", EVIDENCE.version, "signed paper form", ts(EVIDENCE.date),
         summary.import_id)]
    (record,) = await _one(db, "SELECT kind, file_name, sha256, imported_by, counts, evidence FROM imports")
    assert record[:2] == ("supporters", "list.csv") and len(record[2]) == 64 and record[3] == "cli"
    assert '"new": 2' in record[4] and '"source": "stall sign-up sheet 2025"' in record[5]


@pytest.mark.parametrize("cells, said", [
    ("2025-01-02,paper form,signup-consent-v1", None),
    ("02/01/2025,paper form,signup-consent-v1", None),
    ("2025-01-02T10:00:00Z,web form,signup-consent-v1", None),
    ("2025-01-02,,signup-consent-v1", "evidence is incomplete: give its method too"),
    ("2999-01-01,paper form,signup-consent-v1", "is in the future"),
    ("last tuesday,paper form,signup-consent-v1", "is not a date"),
    ("2025-01-02,paper form,made-up-v9", "is not a version Muster knows"),
])
async def test_evidence_on_each_row(db: Database, tmp_path: Path, cells: str, said: str | None) -> None:
    _, seen = await _run(db, tmp_path, f"phone,consent_date,consent_method,consent_wording\n07400 300001,{cells}\n")
    if said is None:
        assert seen[2].result == "new" and seen[2].reason == "opted in to SMS"
        assert await _one(db, "SELECT sms_consent FROM supporters") == [("opted_in",)]
    else:
        assert seen[2].result == "refused" and said in seen[2].reason
        assert await _one(db, "SELECT COUNT(*) FROM supporters") == [(0,)]


async def _supporter(db: Database, phone: str, sms: str = "none", **more) -> int:
    columns = {"phone": phone, "sms_consent": sms, "status": "active", "created_at": ts(NOW), **more}
    async with db.transaction() as tx:
        value: int = await tx.scalar(f"INSERT INTO supporters ({', '.join(columns)}) VALUES "
                                     f"({', '.join('?' for _ in columns)}) RETURNING id", list(columns.values()))
    return value


async def test_existing_supporters_have_only_their_empty_fields_filled(db: Database, tmp_path: Path,
                                                                       groups: None) -> None:
    known = await _supporter(db, "+447400300001", first_name="Annie", email="ann@example.org")
    by_email = await _supporter(db, "+447400399999", email="bob@example.org")
    body = ("phone,first_name,last_name,email,group\n07400 300001,Ann,Lee,other@example.org,York\n"
            "07400 300002,Bob,,BOB@example.org,\n")
    _, seen = await _run(db, tmp_path, body)
    assert seen[2].result == "updated" and seen[2].reason == "filled last name, local group"
    assert seen[3].result == "updated" and "kept their phone number (the file gives another)" in seen[3].reason
    assert await _one(db, "SELECT first_name, last_name, email, group_id FROM supporters WHERE id = ?", (known,)) == [
        ("Annie", "Lee", "ann@example.org", 2)]
    assert await _one(db, "SELECT phone, first_name FROM supporters WHERE id = ?", (by_email,)) == [
        ("+447400399999", "Bob")]
    _, seen = await _run(db, tmp_path, body, name="again.csv", overwrite=True, again=True)
    assert seen[2].reason == "replaced first name, email"
    assert await _one(db, "SELECT first_name, email FROM supporters WHERE id = ?", (known,)) == [
        ("Ann", "other@example.org")]


async def test_an_opt_out_is_never_undone_and_the_erased_never_come_back(db: Database, tmp_path: Path) -> None:
    out = await _supporter(db, "+447400300001", "opted_out")
    async with db.transaction() as tx:
        suppression.add(tx, SETTINGS.erasure_salt, NOW, phone="+447400300002")
    body = "phone,first_name\n07400 300001,Ann\n07400 300002,Erased\n"
    _, seen = await _run(db, tmp_path, body, evidence=EVIDENCE)
    assert seen[2].result == "updated" and "opted out of SMS: stays opted out" in seen[2].reason
    assert seen[3].result == "refused" and seen[3].reason.startswith("erased at their request")
    assert await _one(db, "SELECT sms_consent FROM supporters WHERE id = ?", (out,)) == [("opted_out",)]
    assert await _one(db, "SELECT COUNT(*) FROM supporters WHERE phone = '+447400300002'") == [(0,)]
    assert await _one(db, "SELECT COUNT(*) FROM consent_log WHERE action = 'opt_in'") == [(0,)]


async def test_the_same_file_twice_changes_nothing(db: Database, tmp_path: Path, groups: None) -> None:
    body = "phone,first_name,group,interests\n07400 300001,Ann,York,housing\n07400 300002,Bob,,Jobs and pay\n"
    first, _ = await _run(db, tmp_path, body, evidence=EVIDENCE)
    assert first.counts["new"] == 2
    again, _ = await _run(db, tmp_path, body, evidence=EVIDENCE)
    assert again.skipped and again.previous is not None and again.previous.id == first.import_id
    dry, seen = await _run(db, tmp_path, body, evidence=EVIDENCE, dry_run=True)
    forced, _ = await _run(db, tmp_path, body, evidence=EVIDENCE, again=True)
    assert dry.previous is not None and dry.counts["unchanged"] == forced.counts["unchanged"] == 2
    assert await _one(db, "SELECT COUNT(*) FROM consent_log") == [(2,)]
    assert await _one(db, "SELECT supporter_id, interest FROM supporter_interests ORDER BY 1") == [
        (1, "housing"), (2, "jobs_pay")]


async def test_a_dry_run_writes_nothing(db: Database, tmp_path: Path) -> None:
    summary, seen = await _run(db, tmp_path, "phone\n07400 300001\n07400 300001\n", dry_run=True, evidence=EVIDENCE)
    assert [o.result for o in seen.values()] == ["new", "refused"] and summary.import_id is None
    for table in ("supporters", "consent_log", "imports", "consent_wordings"):
        assert await _one(db, f"SELECT COUNT(*) FROM {table}") == [(0,)], table


async def test_opt_outs_from_another_platform(db: Database, tmp_path: Path) -> None:
    known = await _supporter(db, "+447400300001", "opted_in")
    already = await _supporter(db, "+447400300002", "opted_out")
    body = "Mobile,Unsubscribed at\n07400 300001,2025-05-01\n07400 300002,\n07400 300003,\n07400 300003,\nnope,\n"
    summary, seen = await _run(db, tmp_path, body, kind="opt-outs")
    assert [(o.result, o.reason) for o in seen.values()] == [
        ("updated", "opted out of SMS"), ("unchanged", "already opted out of SMS"),
        ("new", "not a supporter here: on the suppression list, so no import adds them"),
        ("unchanged", "already on the list: the same phone number as line 4"),
        ("refused", "'nope' is not a phone number")]
    assert await _one(db, "SELECT supporter_id, source, at, import_id FROM consent_log") == [
        (known, "import-opt-out", "2025-04-30T23:00:00.000000Z", summary.import_id)]
    assert await _one(db, "SELECT sms_consent FROM supporters WHERE id = ?", (already,)) == [("opted_out",)]
    _, later = await _run(db, tmp_path, "phone\n07400 300003\n", name="later.csv")
    assert later[2].result == "refused" and "opted out on another platform" in later[2].reason


async def test_importing_is_for_national_organisers_and_admins(db: Database, tmp_path: Path) -> None:
    local = Actor(roles=(Role(1, "+447700900111", None, "organiser", 1),), label="web:1")
    (tmp_path / "x.csv").write_text("phone\n07400 300001\n")
    with pytest.raises(ScopeError, match="national organisers and admins"):
        await imports.run(db.transaction, local, tmp_path / "x.csv", "x.csv", imports.Options(), SETTINGS, NOW,
                          dry_run=True)


# -- the fast paths give what the general ones give ----------------------------------------------------------
def test_fast_paths_agree_with_the_shared_parsers() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        digits = f"7{rng.randint(0, 999_999_999):09d}"
        for text in (f"0{digits}", f"+44 (0){digits[:4]} {digits[4:]}", f"0044{digits}", f"0{digits[:4]}-{digits[4:]}"):
            assert import_rows.phone(text) == phones.normalise(text)
        letters = "ABDEFGHJLNPQRSTUWXYZ"
        text = f"{rng.choice(['M1', 'LS6', 'SW1A', 'EC1A', 'QQ1', 'B12'])} {rng.randint(0, 9)}{rng.choice(letters)}" \
               f"{rng.choice(letters)}"
        try:
            assert import_rows.postcode(text) == postcodes.parse(text)
        except import_rows.RowError:
            assert postcodes.parse(text) is None
    from email_validator import validate_email
    for address in ("ann@Example.ORG", "a.b+c@sub.example.co.uk", "zoë@example.org", "o'neil@example.com"):
        assert import_rows.email(address) == validate_email(address, check_deliverability=False).normalized
