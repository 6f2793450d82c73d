-- Claims are owned: a row being sent records which instance claimed it and until when (a lease,
-- renewed while its send is alive). Recovery touches only claims of instances known to be gone:
-- on SQLite the database lock proves it; with several workers on one database, an expired lease.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
-- Partial: only rows being sent are in it, so the rest of the outbox pays nothing for it.
CREATE INDEX outbox_claims ON outbox(claimed_by) WHERE status = 'sending';
