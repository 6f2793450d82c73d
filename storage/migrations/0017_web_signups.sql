-- The double opt-in of the public web pages and the API: a confirmation text asked for by a form,
-- answered YES by text; and what someone who RSVPed that way without campaign consent allowed.

-- Each confirmation asked for. The number is kept only as its salted hash (storage.suppression
-- digest): enough for "one confirmation text per number per hour" and the evidence of when and how
-- a consent was asked for, without keeping the numbers of people who never answered.
CREATE TABLE signup_requests (
    id               INTEGER PRIMARY KEY,
    phone_hash       TEXT NOT NULL,
    supporter_id     INTEGER REFERENCES supporters(id) ON DELETE SET NULL,
    source           TEXT NOT NULL CHECK (source IN ('web', 'api')),
    campaign         INTEGER NOT NULL DEFAULT 0 CHECK (campaign IN (0, 1)),
    wording_version  TEXT,
    event_id         INTEGER REFERENCES events(id) ON DELETE SET NULL,
    group_id         INTEGER REFERENCES local_groups(id) ON DELETE SET NULL,
    requested_at     TEXT NOT NULL,
    confirmed_at     TEXT,
    answer           TEXT CHECK (answer IS NULL OR answer IN ('yes', 'no'))
);
CREATE INDEX signup_requests_phone ON signup_requests(phone_hash, requested_at);

-- Someone who RSVPed from an event's page (or opened the bot from it) without agreeing to campaign
-- messages still hears about that event: its confirmation, reminders, changes and cancellation.
-- Only event notices read this (flows.supporter.events.reach); broadcasts never do. An opt-out on
-- the channel recorded at or after `granted_at` ends it (storage.web_signups.PERMITTED).
CREATE TABLE event_permissions (
    event_id       INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    supporter_id   INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    channel        TEXT NOT NULL CHECK (channel IN ('sms', 'telegram')),
    source         TEXT NOT NULL CHECK (source IN ('web', 'api')),
    request_id     INTEGER REFERENCES signup_requests(id) ON DELETE SET NULL,
    granted_at     TEXT NOT NULL,
    PRIMARY KEY (event_id, supporter_id, channel)
);
CREATE INDEX event_permissions_supporter ON event_permissions(supporter_id);
