-- Consent evidence for people who did not consent in the chat: imported lists, the web pages and the
-- API. A consent record says who, when, how and what they were told (PECR, the ICO's guidance).

-- The exact words someone agreed to, by version: a chat question, a file's stated wording, a web
-- form's tick box. A consent_log row's wording_version names one of these (or a chat text key).
CREATE TABLE consent_wordings (
    version     TEXT PRIMARY KEY,
    text        TEXT NOT NULL,
    source      TEXT NOT NULL,           -- where it was shown: 'import', 'web', 'api'
    created_at  TEXT NOT NULL
);

-- Each import of a file: who, when, which file (its name and SHA-256), what became of its rows,
-- and the evidence given for the whole file.
CREATE TABLE imports (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('supporters', 'opt-outs')),
    file_name   TEXT NOT NULL,
    sha256      TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    at          TEXT NOT NULL,
    counts      TEXT NOT NULL DEFAULT '{}',   -- JSON: outcome -> rows
    evidence    TEXT                          -- JSON: source, date, method, wording_version
);
CREATE INDEX imports_sha256 ON imports(sha256, kind);

-- The consent log takes the new ways in ('import-opt-out', 'web', 'api') and points at the import
-- that made a row. SQLite cannot change a CHECK in place: the table is copied.
CREATE TABLE consent_log_next (
    id               INTEGER PRIMARY KEY,
    supporter_id     INTEGER REFERENCES supporters(id) ON DELETE SET NULL,
    channel          TEXT NOT NULL,
    action           TEXT NOT NULL CHECK (action IN ('opt_in', 'opt_out')),
    source           TEXT NOT NULL CHECK (source IN ('keyword', 'flow', 'carrier', 'import', 'organiser',
                                                     'import-opt-out', 'web', 'api')),
    wording_version  TEXT,
    at               TEXT NOT NULL,
    reason           TEXT,
    import_id        INTEGER REFERENCES imports(id)
);
INSERT INTO consent_log_next (id, supporter_id, channel, action, source, wording_version, at, reason)
    SELECT id, supporter_id, channel, action, source, wording_version, at, reason FROM consent_log;
DROP TABLE consent_log;
ALTER TABLE consent_log_next RENAME TO consent_log;
CREATE INDEX consent_log_supporter ON consent_log(supporter_id);
CREATE INDEX consent_log_at ON consent_log(at, action);
CREATE INDEX consent_log_import ON consent_log(import_id) WHERE import_id IS NOT NULL;
