-- Users disabled for a while ("Disable for a while", mfa.Exemption): returned to previous_state when
-- until (unix ms) has passed, by the portal's background runner, also after a restart.
CREATE TABLE exemptions (
	upn_key            TEXT    NOT NULL PRIMARY KEY,
	upn                TEXT    NOT NULL,
	previous_state     TEXT    NOT NULL,
	previous_reenabled INTEGER NOT NULL,
	started_at         INTEGER NOT NULL,
	until              INTEGER NOT NULL,
	reason             TEXT    NOT NULL,
	actor              TEXT    NOT NULL,
	actor_role         TEXT    NOT NULL,
	actor_method       TEXT    NOT NULL
);
CREATE INDEX exemptions_by_until ON exemptions (until);
