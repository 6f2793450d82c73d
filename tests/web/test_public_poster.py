"""Printable posters: `muster event poster` and the console's button make a PDF whose QR code, drawn
to an image and decoded, is the event's public page, with "Text JOIN to …" for people without a
smartphone (a placeholder in sandbox mode)."""
from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot import posters
from tests.web.console_support import Sandbox, sandbox, sign_in
from tests.web.public_support import event, group

pdfium = pytest.importorskip("pypdfium2", reason="the poster test draws the PDF with pypdfium2 (pip install -e .[dev])")
zxingcpp = pytest.importorskip("zxingcpp", reason="the poster test decodes the QR code with zxing-cpp")

ARTEFACTS = Path(__file__).resolve().parents[2] / "artefacts" / "screenshots"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    with sandbox(Path(tmp_path_factory.mktemp("posters"))) as running:
        yield running


def read(pdf: bytes, name: str) -> tuple[list[str], str, tuple[float, float]]:
    """The QR codes found on the page, its text, and its size in millimetres; the page kept as a PNG."""
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    page = document[0]
    image = page.render(scale=2).to_pil()
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    image.save(ARTEFACTS / f"{name}.png")
    text = page.get_textpage().get_text_range()
    width, height = page.get_size()
    return [r.text for r in zxingcpp.read_barcodes(image)], text, (width / 72 * 25.4, height / 72 * 25.4)


def test_the_cli_poster_opens_the_event_page(service: Sandbox, tmp_path: Path) -> None:
    leeds = group(service, "Leeds Poster Group")
    event_id, public_id = event(service, "Tenants' meeting: rents, repairs and what we do next", group_id=leeds,
                                address="12 Hidden Row", address_public=False,
                                description="Bring your tenancy agreement. Tea and biscuits.")
    out = tmp_path / "poster.pdf"
    done = service.cli("event", "poster", str(event_id), "--size", "A5", "--out", str(out))
    assert f"The QR code opens http://127.0.0.1:{service.port}/e/{public_id}" in done.stdout
    assert "Text JOIN to [our number]" in done.stdout and "MUSTER_PUBLIC_URL is not set" in done.stdout
    codes, text, size = read(out.read_bytes(), "poster-cli-a5")
    assert codes == [f"http://127.0.0.1:{service.port}/e/{public_id}"]
    assert round(size[0]) == 148 and round(size[1]) == 210
    assert "Tenants' meeting" in text and "Leeds Poster Group" in text and "Text JOIN to [our number]" in text
    assert "Sandbox mode" in text and "12 Hidden Row" not in text  # a poster is public: no private address
    assert httpx.get(codes[0], timeout=10).status_code == 200  # the page the code opens is there


def test_a_real_number_is_printed_in_national_form(service: Sandbox, tmp_path: Path) -> None:
    event_id, _ = event(service, "Door knocking")
    out = tmp_path / "poster.pdf"
    env = service.env | {"TWILIO_FROM_NUMBER": "+447700900123"}
    done = subprocess.run([sys.executable, "-m", "bot", "event", "poster", str(event_id), "--out", str(out)],
                          cwd=service.workdir, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    codes, text, size = read(out.read_bytes(), "poster-cli-a4")
    assert len(codes) == 1 and round(size[0]) == 210 and round(size[1]) == 297
    assert "Text JOIN to 07700 900123" in text and "Sandbox mode" not in text


def test_the_console_button_makes_the_poster(service: Sandbox) -> None:
    event_id, public_id = event(service, "Housing rally")
    draft_id, _ = event(service, "Not yet", status="draft")
    admin = sign_in(service)
    page = admin.get(f"/console/events/{event_id}")
    assert f"/console/events/{event_id}/poster.pdf?size=A4" in page.text and f'href="/e/{public_id}"' in page.text
    got = admin.get(f"/console/events/{event_id}/poster.pdf?size=A4")
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    assert f'filename="event-{event_id}-poster-A4.pdf"' in got.headers["content-disposition"]
    codes, text, _ = read(got.content, "poster-console-a4")
    assert codes == [f"{service.base}/e/{public_id}"] and "Housing rally" in text
    assert admin.get(f"/console/events/{event_id}/poster.pdf?size=A3").status_code == 400
    assert "publish it first" in admin.get(f"/console/events/{draft_id}/poster.pdf").text
    assert admin.get("/console/events/999999/poster.pdf").status_code == 404
    assert "poster" not in admin.get(f"/console/events/{draft_id}").text.lower()


def test_a_long_welsh_title_fits_and_keeps_its_letters() -> None:
    made = posters.Poster(movement="Muster", title="Cyfarfod tenantiaid: rhenti, atgyweirio a beth nesaf yng "
                                                   "Nghaerdydd — dewch â ffrind, ŵyr ac ŷd " * 2,
                          when="Saturday 4 May 2030, 19:00", place="Neuadd y Ddinas, CF10 3ND", group="Caerdydd",
                          description="Dewch â ffrind. " * 60, url="https://example.org/e/abcdefghjk",
                          join=posters.join_line(None), note=posters.SANDBOX_NOTE)
    codes, text, _ = read(posters.render(made, "A4"), "poster-welsh")
    assert codes == ["https://example.org/e/abcdefghjk"]
    if posters.unicode_font():  # with DejaVu (Debian's fonts-dejavu) Welsh letters print as they are
        assert "ŵyr" in text and "ŷd" in text
    else:  # the PDF core font: the letter without its accent, never a missing glyph
        assert "wyr" in text and "yd" in text
