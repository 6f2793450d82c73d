-- The organisers' inbox: a supporter's message the bot did not understand, kept for a person to
-- answer. The supporter's group is read from `supporters` at each use (it changes when they move),
-- so who may see an item follows the supporter, never a copy.
CREATE TABLE inbox_items (
    id            INTEGER PRIMARY KEY,
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    channel       TEXT NOT NULL,
    text          TEXT NOT NULL,
    received_at   TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered', 'done')),
    handled_by    TEXT,  -- the organiser who answered or closed it ('web:organiser:3', 'cli')
    handled_at    TEXT,
    answer        TEXT,
    CHECK ((status = 'open') = (handled_at IS NULL))
);
-- Open items newest first, for everyone (partial: handled items cost it nothing).
CREATE INDEX inbox_items_open ON inbox_items(received_at, id) WHERE status = 'open';
-- Open items of a set of groups: supporters_group finds the supporters, this their open items
-- (and every item of one supporter, for erasure and merging).
CREATE INDEX inbox_items_supporter ON inbox_items(supporter_id, status, received_at);
-- Recently handled items, newest first.
CREATE INDEX inbox_items_handled ON inbox_items(handled_at) WHERE status <> 'open';
