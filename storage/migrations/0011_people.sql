-- The console's supporter pages: searching, filtering and sorting 100,000 supporters and more, a
-- page at a time (keyset: each page starts after the last row's sort key, never at an OFFSET).
-- Every index leaves erased supporters out (they are never listed), and each query says
-- `status <> 'erased'` so that it may use them.

-- Newest first, for everyone and for one local group.
CREATE INDEX supporters_joined ON supporters(created_at);
CREATE INDEX supporters_group_joined ON supporters(group_id, created_at);
-- By name (case folded): sorting, and a search for the start of a name.
CREATE INDEX supporters_name ON supporters(lower(first_name));
CREATE INDEX supporters_group_name ON supporters(group_id, lower(first_name));
-- A search for the start of an email address, a postcode, or a whole outward code ('M1').
CREATE INDEX supporters_email ON supporters(lower(email));
CREATE INDEX supporters_postcode ON supporters(postcode);
CREATE INDEX supporters_area ON supporters(area);
-- "Recruited how many" on a supporter's page.
CREATE INDEX supporters_referred_by ON supporters(referred_by);

-- An opt-out an organiser records on a supporter's behalf says why (what the supporter asked, and
-- how: "asked by email", "said so at the stall"). Erasure clears it with the rest of them.
ALTER TABLE consent_log ADD COLUMN reason TEXT;
