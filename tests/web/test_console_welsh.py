"""The console in Welsh, end to end, over real HTTP against the real service in sandbox mode: an
organiser who chose Cymraeg reads the overview, the supporters, the events, an event, the broadcasts,
a report and the audit log in Welsh, with the right one of Welsh's six plural forms for each count
(0, 1, 2, 3, 6 and others); an organiser who did not choose reads them in English."""
from __future__ import annotations

import html
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.web.console_support import Sandbox, csrf, sandbox, sign_in

STAMP = "2026-01-01T00:00:00.000000Z"
# One local group per count a page shows: how many opted-in supporters each has.
SIZES = {"Un": 1, "Dau": 2, "Tri": 3, "Chwech": 6, "Saith": 7}
_numbers = iter(range(10_000, 99_999))


@dataclass
class World:
    service: Sandbox
    welsh: httpx.Client
    english: httpx.Client
    event: int
    sent: dict[str, int]  # a broadcast sent to each group, by group name
    cymraeg: int          # a supporter written to in Welsh
    saesneg: int          # one written to in English


def _db(service: Sandbox, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        return conn.execute(sql, params).fetchall()


def _supporter(service: Sandbox, name: str, group: str, language: str = "en") -> int:
    group_id = _db(service, "SELECT id FROM local_groups WHERE name = ?", (group,))[0][0]
    with sqlite3.connect(service.workdir / "muster.db", timeout=10) as conn:
        cur = conn.execute(
            "INSERT INTO supporters (phone, first_name, group_id, language, status, sms_consent, telegram_consent, "
            "last_channel, created_at) VALUES (?, ?, ?, ?, 'active', 'opted_in', 'none', 'sms', ?)",
            (f"+4474009{next(_numbers):05d}", name, group_id, language, STAMP))
        return int(cur.lastrowid or 0)


def _settled(client: httpx.Client, broadcast_id: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        seen = client.get(f"/console/broadcasts/{broadcast_id}/report/progress").json()
        if not seen["sending"] and not seen["awaiting"]:
            return
        time.sleep(0.2)
    raise AssertionError(f"broadcast {broadcast_id} did not settle")


def _text(page: httpx.Response) -> str:
    """The page's words as a reader sees them: no tags, entities decoded, spaces collapsed."""
    assert page.status_code == 200, page.text[:500]
    return _words(page.text)


def _words(markup: str) -> str:
    body = re.sub(r"<script.*?</script>", " ", markup, flags=re.S)
    body = re.sub(r"</?(?:span|strong|small|abbr|code|time|em)\b[^>]*>", "", body)  # inline: no break
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with sandbox(tmp_path_factory.mktemp("welsh")) as service:
        for k, (name, size) in enumerate(SIZES.items()):
            service.cli("group", "add", name, "--areas", f"CF{10 + k}")
            for i in range(size):
                _supporter(service, f"{name}{i}", name)
        cymraeg = _supporter(service, "Nia", "Un", "cy")
        saesneg = _supporter(service, "Tom", "Un", "en")
        _db(service, "UPDATE supporters SET sms_consent = 'none' WHERE id IN (?, ?)", (cymraeg, saesneg))
        service.cli("event", "create", "--title", "Rali Caerdydd", "--when", "2030-05-04 19:00", "--venue",
                    "Neuadd y Ddinas", "--group", "Tri", "--publish")
        event = _db(service, "SELECT MAX(id) FROM events")[0][0]
        welsh, english = sign_in(service), sign_in(service)
        sent = {}
        for name in SIZES:
            service.cli("broadcast", "create", "--body", f"Cyfarfod {name}", "--audience", f"group:{name}")
            sent[name] = _db(service, "SELECT MAX(id) FROM broadcasts")[0][0]
            service.cli("broadcast", "send", str(sent[name]), "--yes")
        for broadcast_id in sent.values():
            _settled(english, broadcast_id)
        page = welsh.get("/console/")
        chose = welsh.post("/console/language", data={"csrftoken": csrf(page), "lang": "cy", "next": "/console/"})
        assert chose.status_code == 303
        yield World(service, welsh, english, event, sent, cymraeg, saesneg)


def test_the_overview_in_welsh(world: World) -> None:
    page = world.welsh.get("/console/")
    text = _text(page)
    assert '<html lang="cy">' in page.text
    for welsh in ("Trosolwg", "Cefnogwyr", "Digwyddiadau", "Darllediadau", "Mewnflwch", "Log archwilio",
                  "Rydych chi'n gweld pob cefnogwr a phob grŵp (cenedlaethol).", "Digwyddiadau i ddod",
                  "Darllediadau diweddar", "Cofrestriadau, y 90 diwrnod diwethaf", "Allgofnodi"):
        assert welsh in text, welsh
    # 21 supporters: the 'other' form; no message waits in the inbox: the 'zero' form.
    assert "21 o gefnogwyr" in text
    assert "0 negeseuon i'w hateb yn y mewnflwch" in text
    for english in ("Overview", "Upcoming events", "Recent broadcasts", "Sign out", "You see every supporter"):
        assert english not in text, english


def test_the_supporters_list_in_welsh_shows_each_supporters_language(world: World) -> None:
    page = world.welsh.get("/console/supporters")
    text = _text(page)
    for welsh in ("Rydych chi'n gweld pob cefnogwr (cenedlaethol).", "Chwilio", "Hidlwyr a threfn", "Grŵp lleol",
                  "Pob cefnogwr", "Ymunodd", "wedi cytuno"):
        assert welsh in text, welsh
    for english in ("Filters and order", "All supporters", "Joined", "opted in", "Search"):
        assert english not in text, english
    rows = dict(re.findall(r'href="/console/supporters/(\d+)">.*?class="sup-language"[^>]*>([^<]+)<', page.text,
                           re.S))
    assert rows[str(world.cymraeg)] == "Cymraeg" and rows[str(world.saesneg)] == "English"


def test_the_events_list_and_an_event_in_welsh(world: World) -> None:
    text = _text(world.welsh.get("/console/events"))
    for welsh in ("Pob digwyddiad, lleol a chenedlaethol.", "Digwyddiad newydd", "I ddod", "Drafftiau", "Wedi bod",
                  "Cyhoeddwyd", "0 yn mynd · 0 efallai · 0 ar y rhestr aros · 0 wedi dod", "Rali Caerdydd"):
        assert welsh in text, welsh
    for english in ("Every event", "New event", "Upcoming", "Published", "going ·"):
        assert english not in text, english
    text = _text(world.welsh.get(f"/console/events/{world.event}"))
    for welsh in ("Manylion", "Pryd", "Ble", "Lleoedd", "Dim terfyn", "Ymatebion", "ar y rhestr aros",
                  "Cofrestru wrth y drws", "Lawrlwytho'r mynychwyr (CSV)", "Mynychwyr", "Sad 4 Mai 2030, 19:00",
                  "Dim ymatebion eto."):
        assert welsh in text, welsh
    for english in ("Details", "No limit", "Download the attendees", "No RSVPs yet.", "on the waitlist"):
        assert english not in text, english


def test_the_broadcasts_list_in_welsh_with_its_plural_forms(world: World) -> None:
    text = _text(world.welsh.get("/console/broadcasts"))
    for welsh in ("Darllediadau a rhybuddion gweithredu", "Pob darllediad (rydych chi'n weinyddwr).",
                  "Darllediad newydd", "Rhybudd gweithredu newydd", "Adroddiad", "At:"):
        assert welsh in text, welsh
    # 'Started …: n supporters' for each group's broadcast: one, two, few, many, other.
    for words in ("1 cefnogwr", "2 gefnogwr", "3 chefnogwr", "6 chefnogwr", "7 o gefnogwyr"):
        assert re.search(rf"Dechreuwyd [^·]{{5,40}}?: {words}(?! [a-z])", text), words
    for english in ("Broadcasts and action alerts", "New broadcast", "Started", "supporters"):
        assert english not in text, english


@pytest.mark.parametrize(("group", "words"), [("Un", "1 cefnogwr"), ("Dau", "2 gefnogwr"), ("Tri", "3 chefnogwr"),
                                              ("Chwech", "6 chefnogwr"), ("Saith", "7 o gefnogwyr")])
def test_a_report_in_welsh_counts_in_the_right_plural_form(world: World, group: str, words: str) -> None:
    text = _text(world.welsh.get(f"/console/broadcasts/{world.sent[group]}/report"))
    n = SIZES[group]
    assert f"Adroddiad: darllediad #{world.sent[group]}" in text
    assert f"pob neges a wnaed ar ei gyfer: {words}." in text
    assert f"{n} o {n} neges wedi'u gwneud (100%)" in text
    months = "Ion|Chwef|Maw|Ebr|Mai|Meh|Gorff|Awst|Medi|Hyd|Tach|Rhag"
    assert re.search(rf"Dechreuwyd \d+ ({months}) 20\d\d, \d\d:\d\d", text), "a Welsh date"
    assert "Statws: wedi'i anfon" in text and "Cyflenwi" in text and "Derbynwyr" in text
    derbynwyr = {1: "0 derbynwyr", 2: "0 derbynwyr"}  # nobody opted out or wrote back: the 'zero' form
    assert f"Optiodd {derbynwyr[1]} allan o fewn 24 awr; ysgrifennodd {derbynwyr[2]} yn ôl." in text
    for english in ("Report:", "every message made for it", "Delivery", "messages done", "opted out within"):
        assert english not in text, english


def test_the_audit_log_in_welsh(world: World) -> None:
    text = _text(world.welsh.get("/console/audit"))
    for welsh in ("Log archwilio", "Pob gweithred gan drefnydd", "Pryd", "Pwy", "Gweithred", "Manylion",
                  "Llinell orchymyn", "Gwe"):
        assert welsh in text, welsh
    # The actions are data: their codes stay as they are.
    assert "organiser.language" in text and "broadcast." in text
    for english in ("Every organiser action", "When", "Command line", "Older entries"):
        assert english not in text, english


def test_a_flash_message_written_in_python_is_welsh(world: World) -> None:
    page = world.welsh.get(f"/console/supporters/{world.saesneg}")
    done = world.welsh.post(f"/console/supporters/{world.saesneg}/language",
                            data={"csrftoken": csrf(page), "language": "cy"})
    assert done.status_code == 303
    text = _text(world.welsh.get(done.headers["location"]))
    assert "Cadwyd yr iaith." in text and "Ysgrifennu atyn nhw yn Saesneg" in text
    missing = world.welsh.get("/console/events/99999")
    assert missing.status_code == 404
    text = _words(missing.text)
    assert "Nid oes digwyddiad o'r fath, neu nid yw'n un o'ch rhai chi." in text and "Yn ôl at y digwyddiadau" in text


def test_the_plural_forms_of_a_count_for_zero_one_two_three_six_and_others(world: World) -> None:
    """The overview's tile of open inbox messages, for every plural form (the open messages written into
    the inbox table as the bot records what it did not understand)."""
    seen = []
    for total in (0, 1, 2, 3, 6, 11):
        _db(world.service, "DELETE FROM inbox_items")
        supporter = _db(world.service, "SELECT MIN(id) FROM supporters")[0][0]
        for k in range(total):
            _db(world.service, "INSERT INTO inbox_items (supporter_id, channel, text, status, received_at) "
                               "VALUES (?, 'sms', ?, 'open', ?)", (supporter, f"helo {k}", STAMP))
        page = world.welsh.get("/console/")
        found = re.search(r'class="tile tile-link"[^>]*><span class="figure">(\d+)</span>\s*([^<]+)</a>', page.text)
        assert found, page.text[:300]
        seen.append((int(found.group(1)), " ".join(found.group(2).split())))
    assert seen == [(0, "negeseuon i'w hateb yn y mewnflwch"), (1, "neges i'w hateb yn y mewnflwch"),
                    (2, "neges i'w hateb yn y mewnflwch"), (3, "neges i'w hateb yn y mewnflwch"),
                    (6, "neges i'w hateb yn y mewnflwch"), (11, "o negeseuon i'w hateb yn y mewnflwch")]
    _db(world.service, "DELETE FROM inbox_items")


def test_an_english_organiser_reads_the_same_pages_in_english(world: World) -> None:
    client = world.english
    pages = {
        "/console/": ("Overview", "Upcoming events", "21 supporters", "Sign out"),
        "/console/supporters": ("All supporters", "Filters and order", "Joined", "Cymraeg", "English"),
        "/console/events": ("Every event, local and national.", "0 going · 0 maybe · 0 waitlist · 0 attended"),
        f"/console/events/{world.event}": ("Details", "No limit", "No RSVPs yet.", "Sat 4 May 2030, 19:00"),
        "/console/broadcasts": ("Broadcasts and action alerts", "1 supporter", "2 supporters", "7 supporters"),
        f"/console/broadcasts/{world.sent['Tri']}/report": (
            "Report: broadcast", "every message made for it: 3 supporters.", "3 of 3 messages done (100%)"),
        "/console/audit": ("Every organiser action", "Command line"),
    }
    for path, wanted in pages.items():
        page = client.get(path)
        text = _text(page)
        assert '<html lang="en">' in page.text, path
        for english in wanted:
            assert english in text, (path, english)
        for welsh in ("Trosolwg", "Allgofnodi", "Rydych chi", "Dechreuwyd", "cefnogwr "):
            assert welsh not in text, (path, welsh)


def test_the_welsh_catalogue_has_every_console_text_with_six_forms_and_the_english_placeholders() -> None:
    from babel.messages.pofile import read_po

    from flows.core.texts import LOCALE_DIR
    with (LOCALE_DIR / "console.pot").open("rb") as f:
        template = read_po(f)
    with (LOCALE_DIR / "cy" / "LC_MESSAGES" / "console.po").open("rb") as f:
        welsh = read_po(f, locale="cy")
    assert welsh.num_plurals == 6
    marks = re.compile(r"%\(\w+\)s|%%")
    for entry in template:
        if not entry.id:
            continue
        got = welsh.get(entry.id)
        assert got is not None and got.string, entry.id
        if isinstance(entry.id, tuple):
            assert len(got.string) == 6 and all(got.string), entry.id
            wanted = set(marks.findall(entry.id[1])) - {"%(num)s"}
            for form in got.string:
                assert wanted <= set(marks.findall(form)), (entry.id, form)
        else:
            assert isinstance(got.string, str) and isinstance(entry.id, str), entry.id
            assert sorted(marks.findall(got.string)) == sorted(marks.findall(entry.id)), entry.id


def test_the_compose_page_and_a_drafts_page_with_its_preview_in_welsh(world: World) -> None:
    text = _text(world.welsh.get("/console/broadcasts/new"))
    for welsh in ("Darllediad neu rybudd gweithredu newydd", "Math", "newyddion, gwahoddiad, diolch",
                  "Dalfannau, wedi'u llenwi ar gyfer pob cefnogwr:", "Yr alwad i weithredu", "Pwy sy'n ei gael",
                  "Mae rhywun ar y ddwy sianel yn ei gael", "Unrhyw gefnogwr (dim digwyddiad)",
                  "Sgyrsiau grŵp Telegram", "Gweld y rhagolwg", "Cadw'r drafft", "Rhagolwg"):
        assert welsh in text, welsh
    for english in ("New broadcast or action alert", "Who gets it", "Placeholders, filled in", "None ticked",
                    "The call to action", "Someone on both channels", "Any supporter", "Save draft",
                    "See the preview", "Saving sends nothing"):
        assert english not in text, english

    world.service.cli("broadcast", "create", "--body", "Helo {first_name}, cyfarfod nos Iau", "--audience", "group:Dau")
    draft = _db(world.service, "SELECT MAX(id) FROM broadcasts")[0][0]
    page = world.welsh.get(f"/console/broadcasts/{draft}")
    text = _text(page)
    assert 'data-sample="telegram"' in page.text and 'data-changes' in page.text
    for welsh in ("Rhagolwg", "Ar Telegram", "Drwy SMS", "Wedi'i dacluso ar gyfer SMS",
                  "Mae'r enghreifftiau wedi'u llenwi ar gyfer un o'r derbynwyr", "Anfon nawr",
                  "Neu ei amserlennu", "cyfarfod nos Iau"):
        assert welsh in text, welsh
    for english in ("On Telegram", "By SMS", "Tidied for SMS", "The samples are filled in", "Send now",
                    "Or schedule it", "Preview"):
        assert english not in text, english
