"""Printable invitations: an A4 or A5 PDF with the event, a QR code for its public page, and how to
join by text for people without a smartphone ("Text JOIN to …").

The PDF (fpdf2) and the QR code (segno) are drawn here, in the running service's layer: flows know
no document format. The QR code is drawn as vector squares, so it stays sharp at any print size.
"""
from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import phonenumbers
import segno
from fpdf import FPDF

from flows.values import calendar, dates
from storage.events import Event

SIZES = ("A4", "A5")
# Debian's DejaVu Sans covers Welsh (ŵ, ŷ) and most scripts; without it, the PDF core font (Latin-1).
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
MAX_DESCRIPTION = 420
SANDBOX_NUMBER = "[our number]"
SANDBOX_NOTE = "Sandbox mode: no texting number is set yet (TWILIO_FROM_NUMBER)."
JOIN_NOTE = "We text you about events near you. Reply STOP at any time."


@dataclass(frozen=True)
class Poster:
    """What goes on the page, as text."""
    movement: str
    title: str
    when: str
    place: str
    group: str | None
    description: str | None
    url: str        # the event's public page: the QR code says this
    join: str       # "Text JOIN to 07700 900123"
    note: str = JOIN_NOTE  # the line under it


def join_line(from_number: str | None, region: str = "GB") -> str:
    """'Text JOIN to 07700 900123' (national format at home), or a placeholder anyone would notice."""
    if not from_number:
        return f"Text JOIN to {SANDBOX_NUMBER}"
    try:
        number = phonenumbers.parse(from_number, region)
        home = number.country_code == phonenumbers.country_code_for_region(region)
        shown = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if home
                                           else phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    except phonenumbers.NumberParseException:
        shown = from_number
    return f"Text JOIN to {shown}"


def poster_for(event: Event, url: str, movement: str, group: str | None, from_number: str | None,
               region: str = "GB") -> Poster:
    """A poster of an event: its public place only (a private address is for people going)."""
    description = " ".join((event.description or "").split()) or None
    if description and len(description) > MAX_DESCRIPTION:
        description = description[:MAX_DESCRIPTION - 1].rsplit(" ", 1)[0] + "…"
    return Poster(movement=movement, title=event.title, when=dates.full(event.start, event.timezone),
                  place=calendar.where(event) or "Place to be confirmed", group=group, description=description,
                  url=url, join=join_line(from_number, region), note=JOIN_NOTE if from_number else SANDBOX_NOTE)


def unicode_font() -> tuple[Path, Path] | None:
    """DejaVu Sans (regular, bold) where Debian's fonts-dejavu put it; None: the core font is used."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.exists() and bold.exists():
            return regular, bold
    return None


class _Page(FPDF):
    def __init__(self, size: str) -> None:
        super().__init__(orientation="P", unit="mm", format=size)
        self.set_auto_page_break(False)
        self.set_margins(0, 0, 0)
        font = unicode_font()
        self.has_unicode = font is not None
        if font is not None:
            self.add_font("body", "", str(font[0]))
            self.add_font("body", "B", str(font[1]))

    def use(self, size: float, bold: bool = False) -> None:
        self.set_font("body" if self.has_unicode else "helvetica", "B" if bold else "", size)

    def text_of(self, text: str) -> str:
        """Text the font can show: as it is with DejaVu; else accents dropped, the rest as '?'."""
        if self.has_unicode:
            return text
        folded = unicodedata.normalize("NFKD", text.replace("…", "...").replace("–", "-").replace("’", "'"))
        plain = "".join(c for c in folded if not unicodedata.combining(c))
        return plain.encode("latin-1", "replace").decode("latin-1")


def render(poster: Poster, size: str = "A4") -> bytes:
    """The poster as a one-page PDF."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {', '.join(SIZES)}")
    with warnings.catch_warnings():  # fpdf2 notes that its A5 was fixed in 2.8.5: ours is the right one
        warnings.simplefilter("ignore", UserWarning)
        pdf = _Page(size)
    pdf.add_page()
    scale = 1.0 if size == "A4" else 148 / 210
    margin, width = 16 * scale, pdf.w - 32 * scale
    ink, accent = (26, 26, 26), (139, 30, 30)

    pdf.set_fill_color(*accent)
    pdf.rect(0, 0, pdf.w, 22 * scale, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.use(15 * scale, bold=True)
    pdf.set_xy(margin, 7 * scale)
    pdf.cell(width, 8 * scale, pdf.text_of(poster.movement + (f" · {poster.group}" if poster.group else "")))

    pdf.set_text_color(*ink)
    y = 32 * scale
    title_size = 40.0
    while title_size > 20:  # the largest size at which the title takes at most three lines
        pdf.use(title_size * scale, bold=True)
        lines = _lines(pdf, width, title_size * 0.42 * scale, pdf.text_of(poster.title))
        if len(lines) <= 3:
            break
        title_size -= 4
    pdf.set_xy(margin, y)
    pdf.multi_cell(width, title_size * 0.42 * scale, pdf.text_of(poster.title), align="L")
    y = pdf.get_y() + 6 * scale

    for label, value in (("When", poster.when), ("Where", poster.place)):
        pdf.set_xy(margin, y)
        pdf.use(12 * scale, bold=True)
        pdf.set_text_color(*accent)
        pdf.cell(width, 6 * scale, label.upper())
        pdf.set_text_color(*ink)
        pdf.set_xy(margin, y + 6 * scale)
        pdf.use(18 * scale)
        pdf.multi_cell(width, 8 * scale, pdf.text_of(value), align="L")
        y = pdf.get_y() + 4 * scale

    # From the bottom up: the band with the text line, then the QR code with its caption.
    band = pdf.h - 36 * scale
    pdf.set_fill_color(*accent)
    pdf.rect(0, band, pdf.w, pdf.h - band, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.use(13 * scale, bold=True)
    pdf.set_xy(margin, band + 5 * scale)
    pdf.cell(width, 6 * scale, "No smartphone?", align="C")
    _fitted(pdf, pdf.text_of(poster.join), width, 24 * scale)
    pdf.set_xy(margin, band + 12 * scale)
    pdf.cell(width, 11 * scale, pdf.text_of(poster.join), align="C")
    pdf.use(10.5 * scale)
    pdf.set_xy(margin, band + 25 * scale)
    pdf.cell(width, 6 * scale, pdf.text_of(poster.note), align="C")

    side = 70 * scale
    qr_top = band - 18 * scale - side
    _qr(pdf, poster.url, (pdf.w - side) / 2, qr_top, side)

    if poster.description:  # what fits between the place and the QR code
        pdf.use(12 * scale)
        pdf.set_text_color(*ink)
        line = 6 * scale
        lines = _lines(pdf, width, line, pdf.text_of(poster.description))
        room = max(int((qr_top - 6 * scale - y) // line), 0)
        if room:
            shown = lines[:room]
            if len(lines) > room:
                shown[-1] = shown[-1].rstrip().rsplit(" ", 1)[0] + pdf.text_of("…")
            pdf.set_xy(margin, y)
            pdf.multi_cell(width, line, "\n".join(shown), align="L")
    pdf.set_text_color(*ink)
    pdf.use(13 * scale, bold=True)
    pdf.set_xy(margin, qr_top + side + 2 * scale)
    pdf.cell(width, 6 * scale, "Scan to RSVP", align="C")
    pdf.use(10 * scale)
    pdf.set_xy(margin, qr_top + side + 8 * scale)
    pdf.cell(width, 5 * scale, pdf.text_of(poster.url), align="C")
    return bytes(pdf.output())


def _lines(pdf: FPDF, width: float, height: float, text: str) -> list[str]:
    """How multi_cell would break `text` into lines at the current font."""
    return cast(list[str], pdf.multi_cell(width, height, text, dry_run=True, output="LINES"))


def _fitted(pdf: _Page, text: str, width: float, size: float) -> None:
    """The largest bold size up to `size` at which `text` fits on one line of `width`."""
    while size > 8:
        pdf.use(size, bold=True)
        if pdf.get_string_width(text) <= width:
            return
        size -= 1


def _qr(pdf: FPDF, text: str, x: float, y: float, side: float) -> None:
    """The QR code of `text` as black squares on white, with the standard quiet zone of four modules."""
    code = segno.make(text, error="m", micro=False)
    matrix = code.matrix
    count = len(matrix) + 8
    module = side / count
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row, cells in enumerate(matrix):
        start = None
        for col, dark in enumerate([*cells, 0]):  # runs of dark modules as one rectangle each
            if dark and start is None:
                start = col
            elif not dark and start is not None:
                # a touch taller than a module, so rows meet without a hairline between them
                pdf.rect(x + (4 + start) * module, y + (4 + row) * module, (col - start) * module, module * 1.02,
                         style="F")
                start = None
