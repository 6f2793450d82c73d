"""How many SMS segments a body costs, and gentle normalisation to GSM-7.

Pure functions over ``str``: no SDK imports, so the organiser preview, the
dispatcher and the tests all agree on one count.

Counting rules (Twilio / GSM 03.38 / 3GPP 23.040):

* If every character is in the GSM-7 default alphabet or its extension table,
  the message is GSM-7. Extension characters cost two septets (ESC + char).
  One segment holds 160 septets; a split message holds 153 per segment
  (7 septets go to the concatenation header), and an ESC pair is never split
  across two segments.
* Otherwise the whole message is UCS-2, counted in UTF-16 code units: 70 in
  one segment, 67 per segment when split, and a surrogate pair (most emoji)
  is never split across two segments.
* An empty body is 0 segments. Twilio refuses a message with no body and no
  media (error 21602), so nothing is billed; 0 lets callers treat "nothing to
  send" honestly instead of pretending it costs one segment.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

GSM7 = "GSM-7"
UCS2 = "UCS-2"

# GSM 03.38 default alphabet in code order (0x00-0x7F); 0x1B is the escape
# to the extension table, so it is not a character of its own.
GSM7_BASIC: frozenset[str] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ" "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each costs ESC + char = 2 septets. "\f" is the page break.
GSM7_EXTENSION: frozenset[str] = frozenset("\f^{}\\[]~|€")

MAX_BODY = 1600

_SINGLE = {GSM7: 160, UCS2: 70}
_MULTI = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets (GSM-7, escapes count 2) or UTF-16 code units (UCS-2)
    chars: int  # len(body): Unicode code points
    per_segment: int  # 160/153 (GSM-7) or 70/67 (UCS-2)
    remaining: int  # units still free in the last segment


def is_gsm7(text: str) -> bool:
    """True if ``text`` can be sent in the GSM-7 alphabet (basic + extension)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _unit_cost(char: str, encoding: str) -> int:
    if encoding == GSM7:
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1  # astral chars are a surrogate pair


def count_segments(body: str) -> SegmentInfo:
    """Count the segments Twilio will bill for ``body``."""
    encoding = GSM7 if is_gsm7(body) else UCS2
    costs = [_unit_cost(c, encoding) for c in body]
    units = sum(costs)

    if units <= _SINGLE[encoding]:
        per_segment = _SINGLE[encoding]
        segments = 1 if body else 0
        return SegmentInfo(encoding, segments, units, len(body), per_segment, per_segment - units)

    # Split message: fill segments greedily; a 2-unit char that does not fit
    # whole starts the next segment, wasting the last unit of this one.
    per_segment = _MULTI[encoding]
    segments, used = 1, 0
    for cost in costs:
        if used + cost > per_segment:
            segments, used = segments + 1, 0
        used += cost
    return SegmentInfo(encoding, segments, units, len(body), per_segment, per_segment - used)


def check_body(body: str) -> None:
    """Raise ValueError if ``body`` is longer than Twilio accepts."""
    if len(body) > MAX_BODY:
        raise ValueError(
            f"Message is {len(body):,} characters; SMS messages can be at most {MAX_BODY:,}."
        )


def estimate_cost(segments: int, recipients: int, price_per_segment: Decimal) -> Decimal:
    """Cost of sending a ``segments``-long message to ``recipients`` people."""
    if isinstance(price_per_segment, float):
        # A float price would carry binary rounding error into money totals.
        raise TypeError("price_per_segment must be a Decimal, not a float")
    if segments < 0 or recipients < 0:
        raise ValueError("segments and recipients cannot be negative")
    return Decimal(price_per_segment) * segments * recipients


# "Smart" replacements: typography that word processors and phones insert but
# that forces a whole message into UCS-2 (less than half the characters per
# segment). Letters are never transliterated: ŵ, ŷ, ç and names stay as
# written, and so does anything not listed here (emoji, other scripts).
@dataclass(frozen=True)
class _Change:
    one: str  # "curly quote"
    many: str  # "curly quotes"
    became: str  # "straight quote(s)", "-", or "" for removed


_CURLY = _Change("curly quote", "curly quotes", "straight quote")
_ANGLE = _Change("angle quote", "angle quotes", "straight quote")
_PRIME = _Change("prime or accent mark", "prime or accent marks", "straight quote")
_SPACE = _Change("non-breaking or unusual space", "non-breaking or unusual spaces", "space")
_ZERO_WIDTH = _Change("zero-width character", "zero-width characters", "")

# char -> (replacement, change reported)
_RULES: dict[str, tuple[str, _Change]] = {
    **{c: ("'", _CURLY) for c in "\u2018\u2019\u201a\u201b\u02bc"},
    **{c: ('"', _CURLY) for c in "\u201c\u201d\u201e\u201f"},
    **{c: ('"', _ANGLE) for c in "«»"},
    **{c: ("'", _ANGLE) for c in "‹›"},
    **{c: ("'", _PRIME) for c in "`´′"},
    "″": ('"', _PRIME),
    "\u2013": ("-", _Change("en dash", "en dashes", "-")),
    "\u2014": ("-", _Change("em dash", "em dashes", "-")),
    "\u2212": ("-", _Change("minus sign", "minus signs", "-")),
    **{c: ("-", _Change("other dash", "other dashes", "-")) for c in "\u2010\u2011\u2012\u2015\u2043"},
    **{c: ("-", _Change("bullet", "bullets", "-")) for c in "•‣◦∙"},
    "\u2026": ("...", _Change("ellipsis", "ellipses", "...")),
    "\t": (" ", _Change("tab", "tabs", "space")),
    **{
        c: (" ", _SPACE)
        for c in "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
        "\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
    },
    **{c: ("", _ZERO_WIDTH) for c in "\u200b\u2060\ufeff\u00ad"},
}
# Joiners shape emoji sequences (👩‍👩‍👧) and some scripts; they are only
# dropped when nothing beside them needs them.
_JOINERS = frozenset("\u200c\u200d")

SMART_CHARACTERS: frozenset[str] = frozenset(_RULES) | _JOINERS


def _needs_joiner(neighbour: str) -> bool:
    return bool(neighbour) and not is_gsm7(neighbour) and neighbour not in SMART_CHARACTERS


def normalise(body: str) -> tuple[str, list[str]]:
    """Replace typographic characters with GSM-7 look-alikes.

    Returns the new body and a human-readable list of the changes, e.g.
    ``["3 curly quotes → straight quotes", "1 em dash → -"]``. Characters with
    no mapping are left alone, so a body with emoji stays UCS-2.
    """
    out: list[str] = []
    counts: dict[_Change, int] = {}  # insertion order = order first seen
    for i, char in enumerate(body):
        if char in _JOINERS:
            before = body[i - 1] if i else ""
            after = body[i + 1] if i + 1 < len(body) else ""
            if _needs_joiner(before) or _needs_joiner(after):
                out.append(char)
                continue
            replacement, change = "", _ZERO_WIDTH
        elif char in _RULES:
            replacement, change = _RULES[char]
        else:
            out.append(char)
            continue
        out.append(replacement)
        counts[change] = counts.get(change, 0) + 1
    return "".join(out), [_describe(change, n) for change, n in counts.items()]


def _describe(change: _Change, n: int) -> str:
    what = f"{n} {change.one if n == 1 else change.many}"
    if not change.became:
        return f"{what} removed"
    became = change.became + ("s" if n != 1 and change.became.endswith("quote") else "")
    return f"{what} → {became}"
