"""Sign-in links and console sessions, stored as hashes of their secrets."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from storage.db import Row, Tx, ts


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class LoginToken:
    id: int
    channel: str
    address: str
    code_hash: str
    attempts: int
    expires_at: str
    used_at: str | None


@dataclass(frozen=True)
class Session:
    id: int
    channel: str
    address: str
    user_agent: str | None
    created_at: str
    last_seen_at: str
    expires_at: str
    ended_at: str | None
    ended_why: str | None


_TOKEN = "SELECT id, channel, address, code_hash, attempts, expires_at, used_at FROM login_tokens"
_SESSION = ("SELECT id, channel, address, user_agent, created_at, last_seen_at, expires_at, ended_at, ended_why "
            "FROM console_sessions")


def _token(r: Row) -> LoginToken:
    return LoginToken(r[0], r[1], r[2], r[3], r[4], r[5], r[6])


def _session(r: Row) -> Session:
    return Session(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8])


def add_token(tx: Tx, channel: str, address: str, token: str, code: str, now: datetime, expires: datetime) -> None:
    tx.write("INSERT INTO login_tokens (channel, address, token_hash, code_hash, created_at, expires_at) "
             "VALUES (?, ?, ?, ?, ?, ?)", (channel, address, digest(token), digest(code), ts(now), ts(expires)))


async def token_by_secret(tx: Tx, token: str) -> LoginToken | None:
    row = await tx.one(f"{_TOKEN} WHERE token_hash = ?", (digest(token),))
    return _token(row) if row else None


async def latest_token(tx: Tx, channel: str, address: str) -> LoginToken | None:
    """The newest sign-in link sent to this identity (the one its code belongs to)."""
    row = await tx.one(f"{_TOKEN} WHERE channel = ? AND address = ? ORDER BY id DESC LIMIT 1", (channel, address))
    return _token(row) if row else None


async def use_token(tx: Tx, token_id: int, now: datetime) -> bool:
    """Spend a link; False when it was already spent (two clicks racing)."""
    return await tx.execute("UPDATE login_tokens SET used_at = ? WHERE id = ? AND used_at IS NULL",
                            (ts(now), token_id)) == 1


def count_attempt(tx: Tx, token_id: int) -> None:
    tx.write("UPDATE login_tokens SET attempts = attempts + 1 WHERE id = ?", (token_id,))


def forget_tokens_before(tx: Tx, moment: datetime) -> None:
    tx.write("DELETE FROM login_tokens WHERE expires_at < ?", (ts(moment),))


def add_session(tx: Tx, channel: str, address: str, token: str, user_agent: str | None,
                now: datetime, expires: datetime) -> None:
    tx.write("INSERT INTO console_sessions (channel, address, token_hash, user_agent, created_at, last_seen_at, "
             "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
             (channel, address, digest(token), (user_agent or "")[:200], ts(now), ts(now), ts(expires)))


async def session_by_secret(tx: Tx, token: str) -> Session | None:
    row = await tx.one(f"{_SESSION} WHERE token_hash = ?", (digest(token),))
    return _session(row) if row else None


def touch(tx: Tx, session_id: int, now: datetime) -> None:
    tx.write("UPDATE console_sessions SET last_seen_at = ? WHERE id = ?", (ts(now), session_id))


def end(tx: Tx, session_id: int, why: str, now: datetime) -> None:
    tx.write("UPDATE console_sessions SET ended_at = ?, ended_why = ? WHERE id = ? AND ended_at IS NULL",
             (ts(now), why, session_id))


def end_all(tx: Tx, channel: str, address: str, why: str, now: datetime) -> None:
    tx.write("UPDATE console_sessions SET ended_at = ?, ended_why = ? "
             "WHERE channel = ? AND address = ? AND ended_at IS NULL", (ts(now), why, channel, address))


async def for_identity(tx: Tx, channel: str, address: str, limit: int = 20) -> list[Session]:
    rows = await tx.query(f"{_SESSION} WHERE channel = ? AND address = ? ORDER BY id DESC LIMIT ?",
                          (channel, address, limit))
    return [_session(r) for r in rows]


async def get(tx: Tx, session_id: int) -> Session | None:
    row = await tx.one(f"{_SESSION} WHERE id = ?", (session_id,))
    return _session(row) if row else None
