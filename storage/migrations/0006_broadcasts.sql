-- Broadcasts and action alerts: what an organiser sends, to whom, when, and what came of it.
-- The audience is a JSON object of filters, evaluated when the broadcast starts.

CREATE TABLE broadcasts (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL DEFAULT 'broadcast' CHECK (kind IN ('broadcast', 'alert')),
    body            TEXT NOT NULL,
    audience        TEXT NOT NULL DEFAULT '{}',
    channel_mode    TEXT NOT NULL DEFAULT 'last' CHECK (channel_mode IN ('last', 'every')),
    status          TEXT NOT NULL DEFAULT 'draft'
                    CHECK (status IN ('draft', 'scheduled', 'sending', 'sent', 'cancelled', 'missed')),
    send_at         TEXT,
    repeat          TEXT NOT NULL DEFAULT 'none' CHECK (repeat IN ('none', 'daily', 'weekly')),
    parent_id       INTEGER REFERENCES broadcasts(id) ON DELETE SET NULL,
    urgent          INTEGER NOT NULL DEFAULT 0,
    normalise       INTEGER NOT NULL DEFAULT 1,
    cta_text        TEXT,
    cta_link        TEXT,
    deadline        TEXT,
    -- who asked for it, and where progress and the report go ("cli" has nowhere to go)
    created_by      TEXT NOT NULL,
    notify_channel  TEXT,
    notify_address  TEXT,
    scope_groups    TEXT,
    recipients      INTEGER NOT NULL DEFAULT 0,
    chats           INTEGER NOT NULL DEFAULT 0,
    progress_step   INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    started_at      TEXT,
    finished_at     TEXT
);
CREATE INDEX broadcasts_due ON broadcasts(status, send_at);

-- One response per supporter per alert; the last one counts.
CREATE TABLE alert_responses (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    response      TEXT NOT NULL CHECK (response IN ('done', 'cant')),
    at            TEXT NOT NULL,
    PRIMARY KEY (broadcast_id, supporter_id)
);

CREATE INDEX outbox_broadcast ON outbox(broadcast_id, status);
