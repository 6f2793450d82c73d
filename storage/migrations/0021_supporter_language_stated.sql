-- Whether a supporter's language was stated (chosen with CYMRAEG or ENGLISH or at sign-up, sent by
-- their Telegram app, set by an organiser or by an import's language column), as opposed to
-- English by default. A broadcast treats an unstated language as unknown: with
-- MUSTER_UNKNOWN_LANGUAGE=all such a supporter gets every version in one message.
-- Before this migration only a language other than English shows it was stated.
ALTER TABLE supporters ADD COLUMN language_stated INTEGER NOT NULL DEFAULT 0;
UPDATE supporters SET language_stated = 1 WHERE language <> 'en';
