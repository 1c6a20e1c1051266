-- The overview tab's daily snapshots (mfa.OverviewCounts): one row a day (UTC), the last of the day.
CREATE TABLE overview_days (
	day                TEXT    NOT NULL PRIMARY KEY, -- YYYY-MM-DD
	taken_at           INTEGER NOT NULL,             -- unix ms
	enabled            INTEGER NOT NULL,
	enforced           INTEGER NOT NULL,
	disabled           INTEGER NOT NULL,
	registered         INTEGER NOT NULL,
	not_registered     INTEGER NOT NULL,
	admins_without_mfa INTEGER NOT NULL
);
