-- The API's tokens, made by an admin for an integration (the movement's website, another tool).
-- A token is shown once when it is made; only its SHA-256 is kept, as for sign-in links. Each has
-- one scope ('signup': post sign-ups; 'read': read people, events, attendances and tags) and its
-- own rate. A revoked token is kept (revoked_at) so the audit log's label still names something.
CREATE TABLE api_tokens (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    scope         TEXT NOT NULL CHECK (scope IN ('signup', 'read')),
    hash          TEXT NOT NULL UNIQUE,
    per_minute    INTEGER NOT NULL CHECK (per_minute > 0),
    created_by    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    revoked_at    TEXT,
    last_used_at  TEXT
);
-- One live token per name: the name is what the audit log calls its calls ('api:website').
CREATE UNIQUE INDEX api_tokens_live_name ON api_tokens(name) WHERE revoked_at IS NULL;

-- The audit log takes the API as a fourth front. SQLite cannot change a CHECK in place: the table
-- is copied, ids and all.
CREATE TABLE audit_log_next (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    actor    TEXT NOT NULL,
    front    TEXT NOT NULL CHECK (front IN ('cli', 'chat', 'web', 'api')),
    action   TEXT NOT NULL,
    target   TEXT,
    detail   TEXT,
    origin   TEXT
);
INSERT INTO audit_log_next (id, at, actor, front, action, target, detail, origin)
    SELECT id, at, actor, front, action, target, detail, origin FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_next RENAME TO audit_log;
CREATE INDEX audit_log_at ON audit_log(at);
