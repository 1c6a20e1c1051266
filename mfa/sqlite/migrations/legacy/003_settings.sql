-- The service settings (mfa.Settings) as one JSON document, changed only together with its audit
-- record.
CREATE TABLE service_settings (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	document TEXT    NOT NULL,
	version  INTEGER NOT NULL
);
