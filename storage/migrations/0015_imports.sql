-- Lists in and out: a supporter's last name, how an imported consent was given, opt-outs imported
-- for numbers not yet known, and whether an import ran to its end.

-- A last name, for lists that keep one; erasure clears it with the first name.
ALTER TABLE supporters ADD COLUMN last_name TEXT;

-- How someone consented, as an import's evidence states it ('paper form at the stall', 'web form'):
-- source says it came in by 'import'; this keeps the method the file gave. Erasure clears it.
ALTER TABLE consent_log ADD COLUMN method TEXT;

-- The suppression list also holds numbers opted out on another platform and imported before Muster
-- knew them ('opted_out'), beside erased supporters ('erased'): an import never adds either.
ALTER TABLE suppression ADD COLUMN reason TEXT NOT NULL DEFAULT 'erased' CHECK (reason IN ('erased', 'opted_out'));
ALTER TABLE suppression ADD COLUMN import_id INTEGER REFERENCES imports(id);

-- An import is recorded as it starts and finished when its last row is in: a file whose import
-- stopped half-way may be imported again (its rows already in are then unchanged).
ALTER TABLE imports ADD COLUMN finished_at TEXT;
