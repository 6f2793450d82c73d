from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flows.values.segments import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    MAX_BODY,
    SMART_CHARACTERS,
    check_body,
    count_segments,
    estimate_cost,
    is_gsm7,
    normalise,
)

GSM, UCS = "GSM-7", "UCS-2"

# (label, body, encoding, segments, units) — every number worked out by hand.
CASES = [
    # Twilio refuses an empty body (21602), so nothing is billed.
    ("empty", "", GSM, 0, 0),
    ("one char", "a", GSM, 1, 1),
    ("160 GSM fits one segment", "a" * 160, GSM, 1, 160),
    # Once split, each segment holds 153: 153 + 8.
    ("161 GSM splits in two", "a" * 161, GSM, 2, 161),
    ("306 GSM is exactly 2 x 153", "a" * 306, GSM, 2, 306),
    ("307 GSM needs a third", "a" * 307, GSM, 3, 307),
    # € is ESC + e: 158 + 2 = 160 septets, still one segment.
    ("extension char reaching 160", "a" * 158 + "€", GSM, 1, 160),
    # 159 + 2 = 161 septets: split.
    ("extension char pushing past 160", "a" * 159 + "€", GSM, 2, 161),
    ("80 braces are 160 septets", "{" * 80, GSM, 1, 160),
    # 162 septets: 76 braces (152) fill segment 1, the 77th would need 154.
    ("81 braces split", "{" * 81, GSM, 2, 162),
    ("form feed is an extension char", "\f", GSM, 1, 2),
    # 164 septets > 160, so 153 per segment. Segment 1 takes the 152 'a's;
    # the € needs 2 septets but only 1 is left, so it starts segment 2
    # (2 + 10 = 12). Same count as a naive ceil(164/153) — see the
    # `remaining` test below for the proof the € moved. Note 152 'a' + '€'
    # alone is 154 septets: a single segment, no boundary to straddle.
    ("escape pair moved to segment 2", "a" * 152 + "€" + "b" * 10, GSM, 2, 164),
    # 306 septets, naive ceil(306/153) = 2, but segment 1 holds only 152
    # (the € moves), segment 2 holds € + 151 'b' = 153, the last 'b' spills.
    ("escape pair costs an extra segment", "a" * 152 + "€" + "b" * 152, GSM, 3, 306),
    ("£ and é are GSM basic", "£5 café", GSM, 1, 7),
    ("CR LF are GSM basic", "a\r\nb", GSM, 1, 4),
    ("Greek capitals and Æ ß ¿ are GSM basic", "ΔΦΓΛΩΠΨΣΘΞ Æß¿", GSM, 1, 14),
    # GSM has capital Ç only; lower-case ç forces UCS-2.
    ("lower-case ç is not GSM", "garçon", UCS, 1, 6),
    ("backtick is not GSM", "`", UCS, 1, 1),
    # 'H' 'i' ' ' + 👋 (a surrogate pair: 2 units).
    ("one emoji switches to UCS-2", "Hi 👋", UCS, 1, 5),
    # In UCS-2 € is a single code unit: € ' ' 😀 = 1 + 1 + 2.
    ("extension char in UCS-2 counts one", "€ 😀", UCS, 1, 4),
    ("70 UCS-2 fits one segment", "ŵ" * 70, UCS, 1, 70),
    ("71 UCS-2 splits", "ŵ" * 71, UCS, 2, 71),
    ("134 UCS-2 is exactly 2 x 67", "ŵ" * 134, UCS, 2, 134),
    ("135 UCS-2 needs a third", "ŵ" * 135, UCS, 3, 135),
    # 134 units, naive 2 segments; segment 1 holds 66 ŵ, the emoji needs 2 of
    # the 1 left and moves; segment 2: 2 + 65 = 67, the last ŵ spills.
    ("surrogate pair costs an extra segment", "ŵ" * 66 + "😀" + "ŵ" * 66, UCS, 3, 134),
    # 6 + 1 + 1 + 1 + 6 + 1 + 3 + 1 + 1 + 1 + 2 characters, one unit each.
    ("Welsh ŵ ŷ are UCS-2", "Croeso i Gymru! Dŵr a tŷ", UCS, 1, 24),
]


@pytest.mark.parametrize(
    "body, encoding, segments, units",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_count_segments(body: str, encoding: str, segments: int, units: int) -> None:
    info = count_segments(body)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)
    assert info.chars == len(body)


def test_remaining_shows_escape_pair_was_not_split() -> None:
    info = count_segments("a" * 152 + "€" + "b" * 10)
    # Had the ESC gone in segment 1, segment 2 would hold 1 + 10 = 11 (142 left).
    assert (info.per_segment, info.remaining) == (153, 141)


def test_single_segment_fields() -> None:
    assert count_segments("a" * 100).remaining == 60
    assert count_segments("ŵ" * 60).per_segment == 70
    assert count_segments("").remaining == 160


def test_check_body() -> None:
    check_body("a" * MAX_BODY)
    with pytest.raises(ValueError) as err:
        check_body("a" * 1734)
    assert str(err.value) == "Message is 1,734 characters; SMS messages can be at most 1,600."


def test_estimate_cost() -> None:
    assert estimate_cost(2, 1000, Decimal("0.0463")) == Decimal("92.6")
    assert estimate_cost(0, 1000, Decimal("0.04")) == 0
    with pytest.raises(TypeError):
        estimate_cost(1, 1, 0.04)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        estimate_cost(-1, 1, Decimal("0.04"))


# (body, normalised body, changes reported)
NORMALISE_CASES = [
    ("It’s “great”", "It's \"great\"", ["3 curly quotes → straight quotes"]),
    ("it’s", "it's", ["1 curly quote → straight quote"]),
    ("2020–2024 — now", "2020-2024 - now", ["1 en dash → -", "1 em dash → -"]),
    ("−5", "-5", ["1 minus sign → -"]),
    ("Wait…", "Wait...", ["1 ellipsis → ..."]),
    ("• one\n• two", "- one\n- two", ["2 bullets → -"]),
    ("10\u00a0am", "10 am", ["1 non-breaking or unusual space → space"]),
    ("zero\u200bwidth\ufeff", "zerowidth", ["2 zero-width characters removed"]),
    ("«Oui»", '"Oui"', ["2 angle quotes → straight quotes"]),
    ("a\tb", "a b", ["1 tab → space"]),
    # Unmapped characters stay, so the caller can say the message is UCS-2.
    ("Join us 🎉 “today”", 'Join us 🎉 "today"', ["2 curly quotes → straight quotes"]),
    ("Dŵr a tŷ", "Dŵr a tŷ", []),
    # The joiners hold the family emoji together: kept.
    ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧", []),
    # Between plain letters a joiner does nothing: removed.
    ("a\u200db", "ab", ["1 zero-width character removed"]),
    ("plain text", "plain text", []),
]


@pytest.mark.parametrize("body, expected, changes", NORMALISE_CASES)
def test_normalise(body: str, expected: str, changes: list[str]) -> None:
    assert normalise(body) == (expected, changes)


def test_normalise_leaves_emoji_message_ucs2() -> None:
    new, _ = normalise("Join us 🎉 “today”")
    assert count_segments(new).encoding == UCS


GSM_TEXT = st.text(alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)), max_size=700)
ANY_TEXT = st.one_of(st.text(max_size=700), GSM_TEXT)
MAPPABLE_TEXT = st.text(
    alphabet=st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION | SMART_CHARACTERS)), max_size=300
)


@given(ANY_TEXT)
def test_segment_invariants(body: str) -> None:
    info = count_segments(body)
    assert (info.segments >= 1) == bool(body)
    assert info.units <= info.segments * info.per_segment
    assert 0 <= info.remaining <= info.per_segment
    assert info.encoding == (GSM if is_gsm7(body) else UCS)


@given(MAPPABLE_TEXT)
def test_normalise_reaches_gsm7_when_everything_is_mappable(body: str) -> None:
    new, changes = normalise(body)
    assert is_gsm7(new)
    assert bool(changes) == (new != body)


@given(ANY_TEXT)
def test_normalise_never_touches_unmapped_characters(body: str) -> None:
    def unmapped(text: str) -> list[str]:
        return [c for c in text if not is_gsm7(c) and c not in SMART_CHARACTERS]

    new, _ = normalise(body)
    assert unmapped(new) == unmapped(body)
    assert normalise(new) == (new, [])  # idempotent
