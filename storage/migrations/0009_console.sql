-- The web console: one-time sign-in links, sessions as rows, and the audit log of organiser actions.
-- Secrets are stored as SHA-256 hashes; the message that carries a link is its only clear copy,
-- and a link expires after ten minutes and works once.

-- A sign-in link (and its short code) sent to an organiser over their own channel.
CREATE TABLE login_tokens (
    id           INTEGER PRIMARY KEY,
    channel      TEXT NOT NULL CHECK (channel IN ('sms', 'telegram')),
    address      TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    code_hash    TEXT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    used_at      TEXT
);
CREATE INDEX login_tokens_identity ON login_tokens(channel, address, created_at);

-- A signed-in organiser's session. Their roles are read from `organisers` on every request.
CREATE TABLE console_sessions (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL CHECK (channel IN ('sms', 'telegram')),
    address       TEXT NOT NULL,
    token_hash    TEXT NOT NULL UNIQUE,
    user_agent    TEXT,
    created_at    TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    expires_at    TEXT NOT NULL,
    ended_at      TEXT,
    ended_why     TEXT
);
CREATE INDEX console_sessions_identity ON console_sessions(channel, address, ended_at);

-- Every organiser action from any front: who, when, what, from where.
CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    front    TEXT NOT NULL CHECK (front IN ('cli', 'chat', 'web')),
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    origin   TEXT
);
CREATE INDEX audit_log_at ON audit_log(at);
