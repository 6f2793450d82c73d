"""UK postcodes: validated and normalised offline against the ONS Postcode Directory's outward codes."""
from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from functools import lru_cache

from uk_postcodes_parsing.fix import fix
from uk_postcodes_parsing.postcode_utils import is_valid, to_area, to_normalised, to_outcode

_SHAPE = re.compile(r"^[A-Za-z0-9 ]{5,9}$")


@dataclass(frozen=True)
class Postcode:
    postcode: str  # "M1 1AE"
    outward: str   # "M1"
    area: str      # "M"


@lru_cache(maxsize=4096)
def _known_outward(outward: str) -> bool:
    """An outward code that exists in the directory (a typo like 'QQ1' does not)."""
    return importlib.util.find_spec(f"uk_postcodes_parsing.outcodes.{outward.lower()}") is not None


def parse(text: str) -> Postcode | None:
    """'m11ae' / ' M1 1AE ' / 'M1 lAE' → Postcode('M1 1AE', 'M1', 'M'); None when it cannot be one.

    The format and the outward code are checked; the full unit is not, so that a new-build
    postcode not yet in the packaged directory is still accepted.
    """
    text = " ".join((text or "").split())
    if not _SHAPE.match(text) or not text.isascii():
        return None
    candidate = fix(text.upper())  # also corrects O/0 and I/1 slips in the right places
    if not is_valid(candidate):
        return None
    outward = to_outcode(candidate)
    if not outward or not _known_outward(outward):
        return None
    return Postcode(to_normalised(candidate), outward, to_area(candidate))
