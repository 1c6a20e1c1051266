-- Why a running bulk job is paused (the directory could not be reached), shown on its page; empty
-- while it runs normally.
ALTER TABLE bulk_jobs ADD COLUMN paused_reason TEXT NOT NULL DEFAULT '';
