-- The bulk job a job undoes ("undo this update"); empty for a job planned from a file.
ALTER TABLE bulk_jobs ADD COLUMN undo_of TEXT NOT NULL DEFAULT '';
