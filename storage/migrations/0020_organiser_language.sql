-- The language an organiser reads the web console in ('en', 'cy'); NULL until they choose one,
-- when their browser's Accept-Language decides. Kept on each of their role rows alike.
ALTER TABLE organisers ADD COLUMN language TEXT;
