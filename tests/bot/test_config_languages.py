"""MUSTER_LANGUAGES and MUSTER_UNKNOWN_LANGUAGE: checked at start-up, passed to the flows."""
from __future__ import annotations

import pytest

from bot.config import ConfigError, load


def test_languages_reach_the_flows_in_their_order():
    flow = load(MUSTER_LANGUAGES="cy, en", MUSTER_UNKNOWN_LANGUAGE="all").flow_settings()
    assert flow.languages == ("cy", "en") and flow.unknown_language == "all"
    assert load().flow_settings().languages == ("en",)


@pytest.mark.parametrize(("value", "said"), [
    ("en,fr", "MUSTER_LANGUAGES: no catalogue for 'fr'"),
    ("cy", "MUSTER_LANGUAGES: must include en"),
    ("en,cy,en", "MUSTER_LANGUAGES: a language is listed twice"),
])
def test_a_wrong_language_list_names_the_key(value, said):
    with pytest.raises(ConfigError, match=said):
        load(MUSTER_LANGUAGES=value)


def test_a_wrong_unknown_language_names_the_key():
    with pytest.raises(ConfigError, match="MUSTER_UNKNOWN_LANGUAGE"):
        load(MUSTER_UNKNOWN_LANGUAGE="both")
