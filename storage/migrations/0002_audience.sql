-- What several features share about who can be reached: interests, referrals,
-- undeliverable numbers, the erasure suppression list, and linked Telegram group chats.

ALTER TABLE supporters ADD COLUMN sms_undeliverable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE supporters ADD COLUMN referral_code TEXT;
ALTER TABLE supporters ADD COLUMN referred_by INTEGER REFERENCES supporters(id) ON DELETE SET NULL;
CREATE UNIQUE INDEX supporters_referral_code ON supporters(referral_code);

CREATE TABLE supporter_interests (
    supporter_id  INTEGER NOT NULL REFERENCES supporters(id) ON DELETE CASCADE,
    interest      TEXT NOT NULL,
    PRIMARY KEY (supporter_id, interest)
);
CREATE INDEX supporter_interests_interest ON supporter_interests(interest);

-- Salted hashes of erased supporters' phone numbers and Telegram ids: never re-added by import.
CREATE TABLE suppression (
    hash        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('phone', 'telegram')),
    created_at  TEXT NOT NULL
);

-- Telegram group chats linked to a local group (announcement and broadcast targets).
CREATE TABLE telegram_groups (
    chat_id    INTEGER PRIMARY KEY,
    group_id   INTEGER NOT NULL REFERENCES local_groups(id) ON DELETE CASCADE,
    title      TEXT,
    linked_by  INTEGER,
    linked_at  TEXT NOT NULL,
    active     INTEGER NOT NULL DEFAULT 1
);
