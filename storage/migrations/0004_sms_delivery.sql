-- Delivery reports from providers (Twilio status callbacks), one row per provider message id.
-- Kept apart from the outbox because a report can arrive before the send's outcome is committed;
-- joined to the outbox on (channel, provider_id) for broadcast reports.
-- `stage` orders the statuses (queued 1 < sending 2 < sent 3 < final 4) so a late report never
-- moves a message backwards.

CREATE TABLE deliveries (
    channel      TEXT NOT NULL,
    provider_id  TEXT NOT NULL,
    status       TEXT NOT NULL,
    stage        INTEGER NOT NULL,
    error_code   TEXT,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
);
