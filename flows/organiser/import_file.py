"""Reading a CSV file of people: its bytes checked as UTF-8 line by line, its separator found, its
header read and matched to the fields Muster knows, then its records one at a time (never the
whole file in memory).

Line numbers are the file's own, as a text editor counts them (a record starts on the line given;
the same as a spreadsheet's row number unless a cell holds a line break). A cell that an export
neutralised (a quote before '=', '+', '-' or '@', so that a spreadsheet never runs it as a formula)
is read back without the quote.
"""
from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

SAMPLE_BYTES = 64 * 1024
SEPARATORS = ",;\t|"
SEPARATOR_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs", "|": "vertical bars"}
MAX_CELL = 10_000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_BOM = b"\xef\xbb\xbf"

# The fields of a supporters file, in the order the mapping shows them, with the headers each is
# recognised by (compared lower-cased, with '_' and '-' read as spaces).
FIELDS: dict[str, tuple[str, ...]] = {
    "phone": ("phone", "phone number", "mobile", "mobile number", "mobile phone", "cell", "telephone", "tel",
              "number", "msisdn", "sms"),
    "first_name": ("first name", "firstname", "given name", "forename", "name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "email": ("email", "email address", "e mail", "mail"),
    "postcode": ("postcode", "post code", "postal code", "zip", "zip code"),
    "telegram_id": ("telegram id", "telegram", "telegram user id"),
    "interests": ("interests", "interest", "topics"),
    "group": ("group", "local group", "group name"),
    "language": ("language", "lang"),
    "consent_date": ("consent date", "consented at", "consent at", "opt in date"),
    "consent_method": ("consent method", "consent how", "how consented", "opt in method"),
    "consent_wording": ("consent wording", "wording", "wording version", "consent version"),
    "sms_consent": ("sms consent",),
    "sms_consent_date": ("sms consent date",),
    "sms_consent_method": ("sms consent method",),
    "sms_consent_wording": ("sms consent wording",),
    "telegram_consent": ("telegram consent",),
    "telegram_consent_date": ("telegram consent date",),
    "telegram_consent_method": ("telegram consent method",),
    "telegram_consent_wording": ("telegram consent wording",),
    "joined_at": ("joined at", "joined", "date joined", "created at", "signed up", "signup date"),
}
OPT_OUT_FIELDS: dict[str, tuple[str, ...]] = {
    "phone": FIELDS["phone"],
    "telegram_id": FIELDS["telegram_id"],
    "consent_date": ("opt out date", "opted out at", "unsubscribed at", "date"),
}
FIELD_LABELS = {
    "phone": "Phone number", "first_name": "First name", "last_name": "Last name", "email": "Email",
    "postcode": "Postcode", "telegram_id": "Telegram id", "interests": "Interests", "group": "Local group",
    "language": "Language", "consent_date": "Consent: date", "consent_method": "Consent: how",
    "consent_wording": "Consent: wording version", "sms_consent": "SMS consent (opted in / opted out / none)",
    "sms_consent_date": "SMS consent: date", "sms_consent_method": "SMS consent: how",
    "sms_consent_wording": "SMS consent: wording version",
    "telegram_consent": "Telegram consent (opted in / opted out / none)",
    "telegram_consent_date": "Telegram consent: date", "telegram_consent_method": "Telegram consent: how",
    "telegram_consent_wording": "Telegram consent: wording version", "joined_at": "Joined (date)",
}


class FileError(ValueError):
    """The file as a whole cannot be read: the message says what is wrong and what to change."""


def fields_for(kind: str) -> dict[str, tuple[str, ...]]:
    return OPT_OUT_FIELDS if kind == "opt-outs" else FIELDS


def header_key(text: str) -> str:
    return " ".join(re.sub(r"[_\-.]", " ", text.strip().lower()).split())


def plain(cell: str) -> str:
    """A cell as the person typed it: trimmed, and without the quote an export put before a formula."""
    cell = cell.strip()
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell


def default_mapping(header: list[str], kind: str = "supporters") -> dict[str, int]:
    """field → column index, from the header's names: an exact name first, then the first synonym."""
    keys = [header_key(h) for h in header]
    mapping: dict[str, int] = {}
    taken: set[int] = set()
    for name, synonyms in fields_for(kind).items():
        exact = header_key(name)
        for wanted in (exact, *synonyms):
            found = next((i for i, k in enumerate(keys) if k == wanted and i not in taken), None)
            if found is not None:
                mapping[name] = found
                taken.add(found)
                break
    return mapping


@dataclass(frozen=True)
class Record:
    line: int
    cells: list[str]


@dataclass
class Scan:
    """What one pass over the bytes found: the SHA-256, the size, the number of lines."""
    sha256: str
    size: int
    lines: int


def scan(path: Path) -> Scan:
    """Hash the file and check that every line is UTF-8, naming the first line that is not."""
    digest, size, number = hashlib.sha256(), 0, 0
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            digest.update(raw)
            size += len(raw)
            _decode(raw[3:] if number == 1 and raw.startswith(_BOM) else raw, number)
    if size == 0:
        raise FileError("The file is empty.")
    return Scan(digest.hexdigest(), size, number)


def _decode(raw: bytes, number: int) -> str:
    if number == 1 and raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise FileError("The file is saved as UTF-16 ('Unicode text'): save it as 'CSV UTF-8' and try again.")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        column = len(raw[:exc.start].decode("utf-8", errors="replace")) + 1
        raise FileError(f"Line {number} is not UTF-8 text (byte 0x{raw[exc.start]:02X} at character {column}): "
                        "the file was probably saved as Windows-1252 or Latin-1. Save it as 'CSV UTF-8' and try "
                        "again.") from None


def _text_lines(f: BinaryIO, reader: Reader) -> Iterator[str]:
    for number, raw in enumerate(f, start=1):
        reader.bytes_read += len(raw)
        if number == 1 and raw.startswith(_BOM):
            raw = raw[3:]
        if b"\x00" in raw:
            raise FileError(f"Line {number} holds a NUL byte: this is not a text file (save it as 'CSV UTF-8').")
        yield _decode(raw, number)


def sniff(sample: str) -> str:
    """The separator (comma, semicolon, tab or bar), as csv.Sniffer reads the first lines; comma when unsure."""
    lines = [line for line in sample.splitlines() if line.strip()][:20]
    if not lines:
        return ","
    try:
        found = csv.Sniffer().sniff("\n".join(lines), delimiters=SEPARATORS).delimiter
    except csv.Error:
        found = ""
    if found not in SEPARATORS:
        counts = {d: lines[0].count(d) for d in SEPARATORS}
        found = max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","
    return found


def sample_of(path: Path) -> str:
    with path.open("rb") as f:
        raw = f.read(SAMPLE_BYTES)
    if raw.startswith(_BOM):
        raw = raw[3:]
    return raw.decode("utf-8", errors="ignore")


@dataclass
class Reader:
    """The records of a CSV file after its header, one at a time; bytes_read says how far it got."""
    path: Path
    separator: str | None = None
    header: list[str] = field(default_factory=list)
    header_line: int = 0
    bytes_read: int = 0
    blank_lines: int = 0

    def __post_init__(self) -> None:
        if self.separator is None:
            self.separator = sniff(sample_of(self.path))

    def __iter__(self) -> Iterator[Record]:
        self.bytes_read, self.blank_lines = 0, 0
        with self.path.open("rb") as f:
            rows = csv.reader(_text_lines(f, self), delimiter=self.separator or ",", strict=True)
            last, header_read = 0, False
            try:
                for cells in rows:
                    start, last = last + 1, rows.line_num
                    if not "".join(cells).strip():
                        self.blank_lines += 1
                        continue
                    if max(map(len, cells)) > MAX_CELL:
                        raise FileError(f"Line {start} has a cell longer than {MAX_CELL:,} characters: is a quote "
                                        "left open before it?")
                    if not header_read:
                        self.header, self.header_line, header_read = [plain(c) for c in cells], start, True
                        continue
                    yield Record(start, cells)
            except csv.Error as exc:
                raise FileError(f"Line {last + 1} cannot be read as CSV ({exc}): check its quotes.") from None
        if not self.header:
            raise FileError("The file has no header row: its first line should name the columns.")

    def read_header(self) -> list[str]:
        """The header row (reading no further than it)."""
        for _ in self:
            break
        return self.header

    def preview(self, rows: int = 3) -> list[Record]:
        found = []
        for record in self:
            found.append(record)
            if len(found) >= rows:
                break
        return found
