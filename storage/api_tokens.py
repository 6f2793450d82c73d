"""API tokens: one row per token an admin made, found by the SHA-256 of the token presented."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, ts

SCOPES = ("signup", "read")


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    scope: str
    per_minute: int
    created_by: str
    created_at: str
    revoked_at: str | None
    last_used_at: str | None

    @classmethod
    def from_row(cls, row: Row) -> Token:
        return cls(*row)

    @property
    def live(self) -> bool:
        return self.revoked_at is None


_COLUMNS = "id, name, scope, per_minute, created_by, created_at, revoked_at, last_used_at"


async def create(tx: Tx, name: str, scope: str, digest: str, per_minute: int, created_by: str,
                 now: datetime) -> Token:
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {', '.join(SCOPES)}, not {scope!r}")
    row = await tx.one(
        f"INSERT INTO api_tokens (name, scope, hash, per_minute, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?) "
        f"RETURNING {_COLUMNS}", (name, scope, digest, per_minute, created_by, ts(now)))
    assert row is not None
    return Token.from_row(row)


async def by_hash(tx: Tx, digest: str) -> Token | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM api_tokens WHERE hash = ?", (digest,))
    return Token.from_row(row) if row else None


async def get(tx: Tx, token_id: int) -> Token | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM api_tokens WHERE id = ?", (token_id,))
    return Token.from_row(row) if row else None


async def live_named(tx: Tx, name: str) -> Token | None:
    row = await tx.one(f"SELECT {_COLUMNS} FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (name,))
    return Token.from_row(row) if row else None


async def listing(tx: Tx, include_revoked: bool = False) -> list[Token]:
    """Every token, live ones first, newest first."""
    rows = await tx.query(
        f"SELECT {_COLUMNS} FROM api_tokens WHERE (? OR revoked_at IS NULL) "
        "ORDER BY revoked_at IS NOT NULL, id DESC", (include_revoked,))
    return [Token.from_row(r) for r in rows]


def revoke(tx: Tx, token_id: int, now: datetime) -> None:
    tx.write("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", (ts(now), token_id))


def used(tx: Tx, token_id: int, now: datetime) -> None:
    tx.write("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", (ts(now), token_id))
