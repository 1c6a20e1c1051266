-- Quick steps' one-time confirmation ids and their results (mfa.StepResultStore), in the store so
-- that replicas agree: an id is claimed once across all of them. at is unix ms: the claim, then
-- the finish; result is the page's encoding of what the step did, rows its size.
CREATE TABLE step_results (
	op      TEXT    NOT NULL PRIMARY KEY,
	account TEXT    NOT NULL,
	at      INTEGER NOT NULL,
	done    INTEGER NOT NULL DEFAULT 0,
	result  BLOB,
	rows    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX step_results_by_at ON step_results (at);
