"""Yes and no as a supporter types them, in English and in Welsh (as flows.core.keywords normalises).

Welsh has no one word for yes or no: the answer echoes the question's verb. "May we send you
texts?" is answered "Cewch" or "Na chewch", "Do you…?" "Ydw" or "Nac ydw", "Is there…?" "Oes" or
"Nac oes", "Did you…?" "Do" or "Naddo", and "Ie" and "Na" answer the rest. A Welsh speaker may
use any of them, in the standard or the spoken spelling ("Nag oes"), so all are read here wherever
YES and NO are. Apostrophes are dropped by the normalising, so "Na 'dw" arrives as "NA DW".
"""
from __future__ import annotations

YES_EN = frozenset({"YES", "Y", "YEP", "YEAH", "OK", "OKAY", "SURE", "YES PLEASE"})
NO_EN = frozenset({"NO", "N", "NOPE", "NAH", "NO THANKS"})

YES_CY = frozenset({
    "IE", "OES", "YDW", "YDY", "YDYN", "YDYCH", "DO", "CEWCH", "CEI", "CAIFF", "CAWN", "CAF",
    "GALLWCH", "GWNAF", "GWNEWCH", "IAWN", "IE PLIS", "IE OS GWELWCH YN DDA", "OES PLIS", "YDW PLIS",
    "CEWCH PLIS", "WRTH GWRS", "SIWR",
})
NO_CY = frozenset({
    "NA", "NAC OES", "NAG OES", "NAC YDW", "NAG YDW", "NA DW", "NAC YDY", "NAG YDY", "NAC YDYN",
    "NADDO", "NA CHEWCH", "NA CHEI", "NA CHAIFF", "NA CHAWN", "NA ALLWCH", "NA WNAF", "DIM",
    "DIM DIOLCH", "NA DIOLCH", "DIM O GWBL",
})

YES = YES_EN | YES_CY
NO = NO_EN | NO_CY


def is_yes(word: str) -> bool:
    """`word` as flows.core.keywords.normalise gives it."""
    return word in YES


def is_no(word: str) -> bool:
    return word in NO
