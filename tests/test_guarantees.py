"""The README's Guarantees name the tests that prove them: each named test must exist."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_test_the_guarantees_cite_exists() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Guarantees", 1)[1].split("\n## ", 1)[0]
    cited = re.findall(r"`(tests/[\w/]+\.py)(?:::(\w+))?`", section)
    assert len(cited) >= 10
    for path, name in cited:
        assert (ROOT / path).is_file(), f"README cites {path}, which does not exist"
        if name:
            assert re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text(), re.MULTILINE), \
                f"README cites {path}::{name}, which does not exist"
