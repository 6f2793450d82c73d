-- Foundation: groups, supporters, consent, organisers, conversations, inbound dedupe, outbox.
-- Times are UTC text in one fixed-width ISO 8601 form, so they sort and compare as text.

CREATE TABLE local_groups (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    is_demo     INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

-- Postcode areas ("M", "SW") or outward codes ("M1", "SW1A") a group covers.
CREATE TABLE group_areas (
    area        TEXT PRIMARY KEY,
    group_id    INTEGER NOT NULL REFERENCES local_groups(id) ON DELETE CASCADE
);

CREATE TABLE supporters (
    id                INTEGER PRIMARY KEY,
    phone             TEXT UNIQUE,
    telegram_id       INTEGER UNIQUE,
    first_name        TEXT,
    email             TEXT,
    postcode          TEXT,
    area              TEXT,
    group_id          INTEGER REFERENCES local_groups(id) ON DELETE SET NULL,
    language          TEXT NOT NULL DEFAULT 'en',
    status            TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'active', 'erased')),
    -- current consent per channel, kept in step with consent_log in the same transaction
    sms_consent       TEXT NOT NULL DEFAULT 'none' CHECK (sms_consent IN ('none', 'opted_in', 'opted_out')),
    telegram_consent  TEXT NOT NULL DEFAULT 'none' CHECK (telegram_consent IN ('none', 'opted_in', 'opted_out')),
    last_channel      TEXT,
    created_at        TEXT NOT NULL,
    last_seen_at      TEXT
);
CREATE INDEX supporters_group ON supporters(group_id);

-- Append-only: every opt-in and opt-out, who, when, where, how, and what they were told.
CREATE TABLE consent_log (
    id               INTEGER PRIMARY KEY,
    supporter_id     INTEGER REFERENCES supporters(id) ON DELETE SET NULL,
    channel          TEXT NOT NULL,
    action           TEXT NOT NULL CHECK (action IN ('opt_in', 'opt_out')),
    source           TEXT NOT NULL CHECK (source IN ('keyword', 'flow', 'carrier', 'import', 'organiser')),
    wording_version  TEXT,
    at               TEXT NOT NULL
);
CREATE INDEX consent_log_supporter ON consent_log(supporter_id);

CREATE TABLE organisers (
    id           INTEGER PRIMARY KEY,
    phone        TEXT,
    telegram_id  INTEGER,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'organiser')),
    group_id     INTEGER REFERENCES local_groups(id) ON DELETE CASCADE,
    created_at   TEXT NOT NULL,
    CHECK (phone IS NOT NULL OR telegram_id IS NOT NULL)
);
CREATE UNIQUE INDEX organisers_identity ON organisers(COALESCE(phone, ''), COALESCE(telegram_id, 0), role, COALESCE(group_id, 0));

CREATE TABLE conversations (
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    flow          TEXT,
    step          TEXT,
    data          TEXT NOT NULL DEFAULT '{}',
    choices       TEXT NOT NULL DEFAULT '[]',
    misses        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (supporter_id, channel)
);

-- Provider ids already processed (Twilio MessageSid, Telegram update_id): retries are answered, not re-run.
CREATE TABLE inbound_seen (
    provider_id  TEXT PRIMARY KEY,
    received_at  TEXT NOT NULL
);

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    channel       TEXT NOT NULL,
    address       TEXT NOT NULL,
    supporter_id  INTEGER REFERENCES supporters(id) ON DELETE SET NULL,
    payload       TEXT NOT NULL,
    priority      INTEGER NOT NULL DEFAULT 0,
    status        TEXT NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'unknown', 'cancelled')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    not_before    TEXT NOT NULL,
    dedupe_key    TEXT UNIQUE,
    broadcast_id  INTEGER,
    provider_id   TEXT,
    error_code    TEXT,
    error         TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX outbox_due ON outbox(channel, status, priority, not_before, id);
CREATE INDEX outbox_provider ON outbox(provider_id);
CREATE INDEX outbox_supporter ON outbox(supporter_id);
