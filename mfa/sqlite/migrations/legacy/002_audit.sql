-- The append-only, hash-chained audit log (mfa.AuditRecord). seq is 1, 2, 3...; each record's hash
-- covers its content and prev_hash, the hash of the record before it.
CREATE TABLE audit (
	seq          INTEGER PRIMARY KEY,
	time         INTEGER NOT NULL, -- unix ms
	actor        TEXT    NOT NULL,
	actor_key    TEXT    NOT NULL, -- lower-cased, for the filter
	actor_role   TEXT    NOT NULL,
	actor_method TEXT    NOT NULL,
	action       TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	target_key   TEXT    NOT NULL, -- lower-cased, for the filter
	before       TEXT    NOT NULL,
	after        TEXT    NOT NULL,
	source       TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	client_ip    TEXT    NOT NULL,
	outcome      TEXT    NOT NULL,
	prev_hash    TEXT    NOT NULL,
	hash         TEXT    NOT NULL
);
CREATE INDEX audit_by_target ON audit (target_key, seq);
CREATE INDEX audit_by_actor  ON audit (actor_key, seq);
CREATE INDEX audit_by_action ON audit (action, seq);
CREATE INDEX audit_by_time   ON audit (time, seq);

-- The portal never updates or deletes a record; these make a mistake fail loudly. (Someone with the
-- file can drop them: that is what the hash chain and `mfaportal audit verify` are for.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
