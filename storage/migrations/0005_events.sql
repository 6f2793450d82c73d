-- Events and RSVPs. Times are UTC text (storage.db.ts); `timezone` is how they are shown.

CREATE TABLE events (
    id               INTEGER PRIMARY KEY,
    public_id        TEXT NOT NULL UNIQUE,
    title            TEXT NOT NULL,
    description      TEXT,
    instructions     TEXT,
    starts_at        TEXT NOT NULL,
    ends_at          TEXT NOT NULL,
    timezone         TEXT NOT NULL DEFAULT 'Europe/London',
    venue            TEXT,
    address          TEXT,
    postcode         TEXT,
    address_public   INTEGER NOT NULL DEFAULT 1,
    online_url       TEXT,
    capacity         INTEGER CHECK (capacity IS NULL OR capacity > 0),
    group_id         INTEGER REFERENCES local_groups(id) ON DELETE SET NULL,
    status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'confirmed', 'cancelled')),
    created_by       INTEGER REFERENCES organisers(id) ON DELETE SET NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    -- bumped on each change of time or place; change notices go once per version
    version          INTEGER NOT NULL DEFAULT 1,
    noticed_version  INTEGER NOT NULL DEFAULT 1,
    cancel_noticed   INTEGER NOT NULL DEFAULT 0,
    announced_at     TEXT,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX events_status_start ON events(status, starts_at);
CREATE INDEX events_group_start ON events(group_id, starts_at);
CREATE INDEX events_status_end ON events(status, ends_at);

CREATE TABLE rsvps (
    event_id      INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    status        TEXT NOT NULL CHECK (status IN ('going', 'maybe', 'declined', 'waitlisted')),
    attended      INTEGER CHECK (attended IS NULL OR attended IN (0, 1)),
    -- the channel the RSVP came from: where reminders and notices go first
    channel       TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (event_id, supporter_id)
);
CREATE INDEX rsvps_event_status ON rsvps(event_id, status, updated_at);
CREATE INDEX rsvps_supporter ON rsvps(supporter_id, status);
