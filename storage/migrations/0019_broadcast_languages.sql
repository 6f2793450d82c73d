-- A broadcast's versions in other languages than the default (English, broadcasts.body and
-- cta_text): a JSON object by language code, {"cy": {"body": "…", "cta_text": "…"}}, NULL for none.
-- Each recipient gets the version in their language (supporters.language), else the default's.
ALTER TABLE broadcasts ADD COLUMN translations TEXT;
