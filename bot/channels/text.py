"""Text helpers for chat channels that need no SDK: length limits and splitting."""
from __future__ import annotations

TELEGRAM_LIMIT = 4096


def units(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji outside the BMP counts two)."""
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Cut text into parts of at most `limit` units: on paragraphs, then lines, then words, then hard."""
    if units(text) <= limit:
        return [text]
    parts: list[str] = []
    for piece in _pack(text.split("\n\n"), "\n\n", limit):
        if units(piece) <= limit:
            parts.append(piece)
            continue
        for line_block in _pack(piece.split("\n"), "\n", limit):
            if units(line_block) <= limit:
                parts.append(line_block)
                continue
            for word_block in _pack(line_block.split(" "), " ", limit):
                parts.extend([word_block] if units(word_block) <= limit else _hard(word_block, limit))
    return [p for p in parts if p.strip()] or [text[:limit]]


def _pack(pieces: list[str], sep: str, limit: int) -> list[str]:
    """Join consecutive pieces with `sep` while they fit; an oversized piece stays on its own."""
    blocks: list[str] = []
    current: str | None = None
    for piece in pieces:
        candidate = piece if current is None else current + sep + piece
        if units(candidate) <= limit:
            current = candidate
            continue
        if current is not None:
            blocks.append(current)
        current = piece
    if current is not None:
        blocks.append(current)
    return blocks


def _hard(text: str, limit: int) -> list[str]:
    """Cut by code points, so a surrogate pair is never split."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in text:
        width = units(char)
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
        current.append(char)
        size += width
    if current:
        parts.append("".join(current))
    return parts
