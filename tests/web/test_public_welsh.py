"""The public pages in Welsh over real HTTP against the real service (sandbox): chosen by ?lang=cy,
then by the cookie that choice leaves, then by the browser's Accept-Language; English otherwise.
The event page, the listings and the sign-up form, their dates in Welsh, the <html lang>, the
switch between the two, Welsh's plural forms, and a Vary header so no cache mixes the languages."""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from flows.values import dates
from tests.web.console_support import Sandbox, sandbox
from tests.web.public_support import client, db, event, group, phone, token, wording

WELSH_BROWSER = {"accept-language": "cy-GB,cy;q=0.9,en-GB;q=0.8,en;q=0.7"}
WELSH_DAY = re.compile(r"Dydd (Llun|Mawrth|Mercher|Iau|Gwener|Sadwrn|Sul) \d{1,2} (Ionawr|Chwefror|Mawrth|Ebrill|"
                       r"Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr) \d{4}")


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(Path(tmp_path_factory.mktemp("public-welsh"))) as running:
        yield running


def starts(service: Sandbox, public_id: str) -> datetime:
    [(stamp,)] = db(service, "SELECT starts_at FROM events WHERE public_id = ?", (public_id,))
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def is_welsh(page: httpx.Response) -> bool:
    return '<html lang="cy">' in page.text


def words(page: httpx.Response) -> str:
    """The page's text with its entities read ("Mae'r", whether the page wrote ' or &#39;)."""
    return html.unescape(page.text)


def varies(page: httpx.Response) -> None:
    said = {v.strip().lower() for v in page.headers.get("vary", "").split(",")}
    assert {"accept-language", "cookie"} <= said, page.headers.get("vary")


def test_english_by_default_with_the_switch_and_vary(service: Sandbox) -> None:
    _, public_id = event(service, "Tenants' meeting", capacity=40)
    got = client(service).get(f"/e/{public_id}")
    assert got.status_code == 200 and '<html lang="en">' in got.text
    assert "<dt>When</dt>" in got.text and "40 places left" in got.text
    assert dates.full(starts(service, public_id), "Europe/London", "en") in got.text
    assert 'property="og:locale" content="en_GB"' in got.text
    assert re.search(r'href="\?lang=en" lang="en" hreflang="en" aria-current="true">English</a>', got.text)
    assert re.search(r'href="\?lang=cy" lang="cy" hreflang="cy">Cymraeg</a>', got.text)
    varies(got)
    assert "muster_lang" not in got.headers.get("set-cookie", "")  # nothing chosen, nothing kept
    # A browser asking for neither of our languages gets English too.
    assert '<html lang="en">' in client(service).get(f"/e/{public_id}", headers={"accept-language": "fr-FR,de"}).text


def test_the_event_page_in_welsh_by_lang_with_a_welsh_date(service: Sandbox) -> None:
    caerdydd = group(service, "Caerdydd Canolog")
    _, public_id = event(service, "Cyfarfod tenantiaid", group_id=caerdydd, capacity=2, venue="Neuadd y Ddinas",
                         address="1 Heol Eglwys Fair", address_public=False)
    c = client(service)
    got = c.get(f"/e/{public_id}?lang=cy")
    assert got.status_code == 200 and is_welsh(got)
    welsh_when = dates.full(starts(service, public_id), "Europe/London", "cy")
    assert WELSH_DAY.match(welsh_when), welsh_when
    assert f">{welsh_when}–" in got.text  # the start in Welsh, then the end's time
    for expected in ("<dt>Pryd</dt>", "<dt>Ble</dt>", "2 le ar ôl", "Cofrestru drwy neges destun",
                     "Cofrestru drwy Telegram", "Ychwanegu at fy nghalendr", "Enw cyntaf", "Rhif ffôn symudol",
                     "Mae'r cyfeiriad llawn yn cael ei anfon", 'property="og:locale" content="cy_GB"',
                     "Rhagor o ddigwyddiadau: Caerdydd Canolog", f'action="/e/{public_id}?lang=cy"'):
        assert expected in words(got), expected
    assert "When</dt>" not in got.text and "places left" not in got.text
    assert re.search(r'href="\?lang=cy" lang="cy" hreflang="cy" aria-current="true">Cymraeg</a>', got.text)
    varies(got)
    cookie = got.headers["set-cookie"]
    assert "muster_lang=cy" in cookie and "Path=/" in cookie and "HttpOnly" in cookie
    # The choice is kept: the next page, with no ?lang, is in Welsh too; ?lang=en changes it back.
    again = c.get(f"/e/{public_id}")
    assert is_welsh(again) and "muster_lang" not in again.headers.get("set-cookie", "")
    back = c.get(f"/e/{public_id}?lang=en")
    assert '<html lang="en">' in back.text and "muster_lang=en" in back.headers["set-cookie"]
    assert '<html lang="en">' in c.get(f"/e/{public_id}").text
    # Three places: Welsh's form for three (no mutation of 'lle').
    _, three = event(service, "Tri lle", capacity=3)
    assert "3 lle ar ôl" in c.get(f"/e/{three}?lang=cy").text


def test_welsh_by_cookie_and_by_accept_language_and_what_wins(service: Sandbox) -> None:
    _, public_id = event(service, "Rali tai")
    by_cookie = client(service)
    by_cookie.cookies.set("muster_lang", "cy")
    assert is_welsh(by_cookie.get(f"/e/{public_id}"))
    assert is_welsh(by_cookie.get("/events")) and is_welsh(by_cookie.get("/join"))
    by_browser = client(service)
    for path in (f"/e/{public_id}", "/events", "/join"):
        got = by_browser.get(path, headers=WELSH_BROWSER)
        assert is_welsh(got), path
        varies(got)
    # A choice beats the browser, and the address beats the choice.
    chose_english = client(service)
    chose_english.cookies.set("muster_lang", "en")
    assert not is_welsh(chose_english.get(f"/e/{public_id}", headers=WELSH_BROWSER))
    assert is_welsh(chose_english.get(f"/e/{public_id}?lang=cy", headers=WELSH_BROWSER))
    # Nonsense is ignored: a language we don't have, in the address or the cookie.
    odd = client(service)
    odd.cookies.set("muster_lang", "xx")
    assert not is_welsh(odd.get(f"/e/{public_id}?lang=fr"))
    assert is_welsh(odd.get(f"/e/{public_id}?lang=fr", headers=WELSH_BROWSER))


def test_the_listings_in_welsh_are_cached_apart(service: Sandbox) -> None:
    abertawe = group(service, "Abertawe")
    _, public_id = event(service, "Canfasio yn Abertawe", group_id=abertawe, capacity=2)
    c = client(service)
    national = c.get("/events", headers=WELSH_BROWSER)
    assert national.status_code == 200 and is_welsh(national)
    assert national.headers["cache-control"] == "public, max-age=60"
    varies(national)
    assert "<h1>Digwyddiadau i ddod</h1>" in national.text
    short = re.search(rf'href="/e/{public_id}">Canfasio yn Abertawe</a>\s*<span class="when">([^<]+)</span>',
                      national.text)
    assert short, national.text[:2000]
    assert re.fullmatch(r"(Llun|Maw|Mer|Iau|Gwen|Sad|Sul) \d{1,2} \w+, \d\d:\d\d", short.group(1)), short.group(1)
    local = c.get("/g/abertawe?lang=cy")
    assert is_welsh(local) and "Digwyddiadau i ddod: Abertawe" in local.text and "2 le ar ôl" in local.text
    assert "Ymuno â Abertawe" in local.text or "Ymuno ag Abertawe" in local.text
    varies(local)
    english = client(service).get("/events")
    assert "<h1>Upcoming events</h1>" in english.text
    gone = c.get("/g/nowhere?lang=cy")
    assert gone.status_code == 404 and "Grŵp lleol heb ei ganfod" in gone.text


def test_the_join_form_in_welsh_and_its_answers(service: Sandbox) -> None:
    c = client(service)
    page = c.get("/join?r=K7MX4Q&lang=cy")
    assert page.status_code == 200 and is_welsh(page)
    for expected in ("Ymuno â Muster", "Enw cyntaf", "Rhif ffôn symudol", "Cod post", "E-bost", "(dewisol)",
                     "Ymuno drwy neges destun", 'action="/join?lang=cy"', 'href="?r=K7MX4Q&amp;lang=en"'):
        assert expected in page.text, expected
    varies(page)
    form = {"csrftoken": token(page), "wording": wording(page)}
    # Both fields missing: two things to change, Welsh's form for two (soft mutation: 'beth').
    missing = c.post("/join?lang=cy", data={**form, "first_name": "", "phone": ""})
    assert missing.status_code == 400 and is_welsh(missing)
    assert "Gwiriwch y ffurflen: 2 beth i'w newid." in words(missing)
    assert "Dywedwch wrthon ni beth yw eich enw cyntaf." in missing.text
    # The sign-up's own refusals are shown in Welsh too.
    bad = c.post("/join?lang=cy", data={**form, "first_name": "Siân", "phone": "12345", "postcode": "QQ1 1QQ"})
    assert bad.status_code == 400 and 'value="Siân"' in bad.text
    assert "Rhowch rif ffôn symudol, fel 07700 900123" in bad.text
    assert "Gwiriwch y ffurflen: 1 peth i'w newid." in words(bad)
    typed, e164 = phone()
    sent = c.post("/join?lang=cy", data={**form, "first_name": "Siân", "phone": typed})
    assert sent.status_code == 200 and is_welsh(sent) and "Edrychwch ar eich ffôn" in sent.text
    # Joined from a Welsh page: the text asking to confirm is Welsh, and so is what follows.
    service.wait_for_message("sms", e164, "atebwch IE i gadarnhau")


def test_the_rsvp_answer_and_a_missing_event_in_welsh(service: Sandbox) -> None:
    _, public_id = event(service, "Gweithdy")
    c = client(service)
    c.cookies.set("muster_lang", "cy")
    page = c.get(f"/e/{public_id}")
    typed, e164 = phone()
    sent = c.post(f"/e/{public_id}", data={"csrftoken": token(page), "wording": wording(page), "first_name": "Dafydd",
                                           "phone": typed})
    assert sent.status_code == 200 and is_welsh(sent)
    assert "eich lle yn y digwyddiad ‘Gweithdy’" in words(sent) and "Yn ôl i'r digwyddiad: Gweithdy" in words(sent)
    service.wait_for_message("sms", e164, "atebwch IE i gadarnhau")
    gone = c.get("/e/nosuchevent")
    assert gone.status_code == 404 and is_welsh(gone) and "Digwyddiad heb ei ganfod" in gone.text
    varies(gone)


# -- the catalogue -------------------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "flows/core/texts/locale"
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def _read(path: Path) -> Catalog:
    with path.open("rb") as f:
        return read_po(f)


def test_the_public_template_holds_every_text_the_pages_mark() -> None:
    with (ROOT / "babel-public.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    marked = {m[2] if isinstance(m[2], str) else m[2][0]
              for m in extract_from_dir(str(ROOT), method_map, options_map, keywords={
                  **DEFAULT_KEYWORDS, "N_": None})}
    template = {m.id if isinstance(m.id, str) else m.id[0] for m in _read(LOCALE / "public.pot") if m.id}
    assert marked == template  # else: make catalogues


def test_the_welsh_public_catalogue_is_whole_and_keeps_the_placeholders() -> None:
    template = _read(LOCALE / "public.pot")
    welsh = _read(LOCALE / "cy/LC_MESSAGES/public.po")
    assert welsh.num_plurals == 6
    for m in template:
        if not m.id:
            continue
        found = welsh.get(m.id)
        assert found is not None and found.string, m.id
        english = m.id if isinstance(m.id, str) else m.id[0]
        forms = [found.string] if isinstance(found.string, str) else list(found.string)
        assert len(forms) == (1 if isinstance(m.id, str) else 6) and all(forms), m.id
        for form in forms:
            assert set(PLACEHOLDER.findall(form)) == set(PLACEHOLDER.findall(english)), (m.id, form)
