-- An action alert's recipients by local group, counted once when it starts (its messages are all
-- made then), so that its report reads a few rows instead of grouping every one of its messages
-- by supporter. group_id 0 stands for supporters in no local group.
CREATE TABLE broadcast_groups (
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    group_id      INTEGER NOT NULL,
    recipients    INTEGER NOT NULL,
    PRIMARY KEY (broadcast_id, group_id)
);
