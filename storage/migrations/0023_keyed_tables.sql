-- Every inbound message writes its provider id to inbound_seen and its supporter's conversation; both
-- tables are found only by their keys. Kept in key order (WITHOUT ROWID), each write goes to one
-- b-tree instead of two (the rows, and the key's index pointing to them), and a lookup finds the row
-- itself. An outbox row has no provider id until it is sent (replies and notices never fill it in
-- before their send): the index of provider ids holds only the rows that have one, and every query
-- that reads it names a provider id, which is how SQLite and PostgreSQL know a row it wants is in it.
CREATE TABLE inbound_seen_by_id (
    provider_id  TEXT PRIMARY KEY,
    received_at  TEXT NOT NULL
) WITHOUT ROWID;
INSERT INTO inbound_seen_by_id (provider_id, received_at) SELECT provider_id, received_at FROM inbound_seen;
DROP TABLE inbound_seen;
ALTER TABLE inbound_seen_by_id RENAME TO inbound_seen;

CREATE TABLE conversations_by_key (
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    flow          TEXT,
    step          TEXT,
    data          TEXT NOT NULL DEFAULT '{}',
    choices       TEXT NOT NULL DEFAULT '[]',
    misses        INTEGER NOT NULL DEFAULT 0,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (supporter_id, channel)
) WITHOUT ROWID;
INSERT INTO conversations_by_key (supporter_id, channel, flow, step, data, choices, misses, updated_at)
    SELECT supporter_id, channel, flow, step, data, choices, misses, updated_at FROM conversations;
DROP TABLE conversations;
ALTER TABLE conversations_by_key RENAME TO conversations;

DROP INDEX outbox_provider;
CREATE INDEX outbox_provider ON outbox(provider_id) WHERE provider_id IS NOT NULL;
