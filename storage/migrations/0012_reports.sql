-- Broadcast reports at 100,000 messages and more, read from indexes rather than from the rows:
-- its counts by status and channel, and the provider ids its receipts are kept under, from
-- outbox_broadcast (widened from (broadcast, status)); its recipients by local group from
-- outbox_broadcast_supporter, which also answers "was this supporter sent this broadcast" at
-- once; its recipients listed a page at a time in outbox order (keyset on the id, whatever the
-- status) from outbox_broadcast_order. Opt-outs in the day after a broadcast are found from the
-- few consent changes of that day.
DROP INDEX outbox_broadcast;
CREATE INDEX outbox_broadcast ON outbox(broadcast_id, status, channel, provider_id);
CREATE INDEX outbox_broadcast_supporter ON outbox(broadcast_id, supporter_id);
CREATE INDEX outbox_broadcast_order ON outbox(broadcast_id, id);
CREATE INDEX consent_log_at ON consent_log(at, action);

-- Receipts are looked up by (channel, provider_id) for every message of a report: kept in that
-- order (WITHOUT ROWID), a lookup finds the receipt itself, not a key pointing to it.
CREATE TABLE deliveries_by_key (
    channel      TEXT NOT NULL,
    provider_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    stage        INTEGER NOT NULL,
    error_code   TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
) WITHOUT ROWID;
INSERT INTO deliveries_by_key (channel, provider_id, status, stage, error_code, updated_at)
    SELECT channel, provider_id, status, stage, error_code, updated_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_by_key RENAME TO deliveries;
