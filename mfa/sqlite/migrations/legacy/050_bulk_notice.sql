-- What the admin should know about how a bulk file was read (e.g. it was not UTF-8 and was read as
-- Windows-1252), shown on the verify page; empty when nothing.
ALTER TABLE bulk_jobs ADD COLUMN notice TEXT NOT NULL DEFAULT '';
