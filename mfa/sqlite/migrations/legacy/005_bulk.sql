-- Bulk update jobs and their rows. A job is created "planned" from a verified file; confirmed, it is
-- queued and applied batch by batch, each row's outcome stored, so that it survives a restart.
CREATE TABLE bulk_jobs (
	id               TEXT    NOT NULL PRIMARY KEY,
	status           TEXT    NOT NULL CHECK (status IN ('planned', 'queued', 'running', 'done', 'cancelled')),
	file_name        TEXT    NOT NULL,
	actor            TEXT    NOT NULL,
	actor_role       TEXT    NOT NULL,
	actor_method     TEXT    NOT NULL,
	client_ip        TEXT    NOT NULL,
	reason           TEXT    NOT NULL,
	n_enable         INTEGER NOT NULL,
	n_enforce        INTEGER NOT NULL,
	n_disable        INTEGER NOT NULL,
	n_unchanged      INTEGER NOT NULL,
	n_errors         INTEGER NOT NULL,
	total            INTEGER NOT NULL, -- rows to apply
	done             INTEGER NOT NULL DEFAULT 0,
	changed          INTEGER NOT NULL DEFAULT 0,
	unchanged        INTEGER NOT NULL DEFAULT 0,
	failed           INTEGER NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	queued_at        INTEGER NOT NULL DEFAULT 0, -- the runner takes jobs in this order
	started_at       INTEGER NOT NULL DEFAULT 0,
	finished_at      INTEGER NOT NULL DEFAULT 0,
	updated_at       INTEGER NOT NULL
);
CREATE INDEX bulk_jobs_by_created ON bulk_jobs (created_at);
CREATE INDEX bulk_jobs_runnable ON bulk_jobs (queued_at) WHERE status IN ('queued', 'running');

CREATE TABLE bulk_rows (
	job_id   TEXT    NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
	seq      INTEGER NOT NULL,
	line     INTEGER NOT NULL,
	username TEXT    NOT NULL,
	from_state TEXT  NOT NULL,
	to_state TEXT    NOT NULL,
	action   TEXT    NOT NULL,
	error    TEXT    NOT NULL,
	warnings TEXT    NOT NULL, -- joined with \x1f
	outcome  TEXT    NOT NULL DEFAULT '',
	message  TEXT    NOT NULL DEFAULT '',
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
-- Rows still to apply, in order; and rows with problems, for the preview and the errors file.
CREATE INDEX bulk_rows_pending  ON bulk_rows (job_id, seq) WHERE outcome = '' AND action IN ('enable', 'enforce', 'disable');
CREATE INDEX bulk_rows_problems ON bulk_rows (job_id, seq) WHERE error <> '' OR warnings <> '';
CREATE INDEX bulk_rows_errors   ON bulk_rows (job_id, seq) WHERE action = 'error';
