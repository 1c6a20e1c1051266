-- The email sent to users awaiting registration (mfa.NotifyTemplate), once an admin saved one: one
-- row, changed only together with its audit record.
CREATE TABLE notify_template (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	subject TEXT    NOT NULL,
	body    TEXT    NOT NULL,
	version INTEGER NOT NULL
);
