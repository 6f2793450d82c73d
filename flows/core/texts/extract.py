"""Babel's extractor for `en.py`: each key becomes a message with the key as its context.

Named in `babel.cfg`, so `pybabel extract` (run by `make catalogues`) writes `locale/muster.pot`.
The counted phrases `words.<word>.one` / `.other` become one plural message, `words.<word>`.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import IO, Any

Extracted = tuple[int, str, tuple[str, ...], list[str]]


def extract_texts(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any) -> Iterator[Extracted]:
    tree = ast.parse(fileobj.read())
    entries: list[tuple[int, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for k, v in zip(node.keys, node.values, strict=True):
                if isinstance(k, ast.Constant) and isinstance(v, ast.Constant) and isinstance(k.value, str):
                    entries.append((k.lineno, k.value, ast.literal_eval(v)))
    forms = {key: (line, text) for line, key, text in entries}
    for line, key, text in sorted(entries):
        if key.startswith("words.") and key.endswith(".one"):
            word = key.removesuffix(".one")
            yield line, "npgettext", (word, text, forms[word + ".other"][1]), ["Counted: {n} is the number."]
        elif key.startswith("words.") and key.endswith(".other"):
            continue
        else:
            yield line, "pgettext", (key, text), []

