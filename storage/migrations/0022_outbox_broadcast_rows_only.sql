-- Most outbox rows are not a broadcast's: replies, notices, reminders. The three indexes a broadcast's
-- report reads hold only the rows of broadcasts, so queueing, claiming and settling any other row writes
-- none of them. Every query that reads them names a broadcast (broadcast_id = ? or IN), which is how
-- SQLite and PostgreSQL know a row it wants is in them.
DROP INDEX outbox_broadcast;
DROP INDEX outbox_broadcast_supporter;
DROP INDEX outbox_broadcast_order;
CREATE INDEX outbox_broadcast ON outbox(broadcast_id, status, channel, provider_id) WHERE broadcast_id IS NOT NULL;
CREATE INDEX outbox_broadcast_supporter ON outbox(broadcast_id, supporter_id) WHERE broadcast_id IS NOT NULL;
CREATE INDEX outbox_broadcast_order ON outbox(broadcast_id, id) WHERE broadcast_id IS NOT NULL;
