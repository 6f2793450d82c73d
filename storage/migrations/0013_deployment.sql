-- The settings the running service sends with (quiet hours, timezone, prices, rates…), recorded at
-- each start, so a command run from another shell decides as the service does. Never a secret.
CREATE TABLE deployment (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
