"""Splitting long texts for Telegram's 4096-unit limit."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.channels.text import split, units


def test_short_text_is_one_part():
    assert split("hello") == ["hello"]


def test_splits_on_paragraphs_first():
    paragraphs = ["a" * 3000, "b" * 3000, "c" * 100]
    parts = split("\n\n".join(paragraphs))
    assert parts == ["a" * 3000, "b" * 3000 + "\n\n" + "c" * 100]


def test_then_lines_then_words_then_hard():
    assert split("x" * 10 + "\n" + "y" * 10, limit=15) == ["x" * 10, "y" * 10]
    assert split("aaaa bbbb cccc", limit=9) == ["aaaa bbbb", "cccc"]
    assert split("z" * 25, limit=10) == ["z" * 10, "z" * 10, "z" * 5]


def test_counts_utf16_units_and_never_splits_an_emoji():
    parts = split("😀" * 5, limit=4)
    assert parts == ["😀😀", "😀😀", "😀"]


@given(st.text(alphabet=st.sampled_from(["a", " ", "\n", "é", "😀"]), max_size=400), st.integers(2, 40))
def test_parts_fit_and_keep_every_visible_character(text, limit):
    parts = split(text, limit)
    assert all(units(p) <= limit for p in parts)
    if text.strip():
        assert "".join(parts).replace(" ", "").replace("\n", "") == text.replace(" ", "").replace("\n", "")
