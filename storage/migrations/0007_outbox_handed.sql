-- When a claimed row was handed to the provider. After a crash, a row still `sending` that was
-- never handed over cannot have gone out, so it is queued again instead of marked `unknown`.
ALTER TABLE outbox ADD COLUMN handed_at TEXT;
-- Rows left `sending` by a version that did not record this may have gone out.
UPDATE outbox SET status = 'unknown' WHERE status = 'sending';
