-- API tokens (mfa.Token): only the SHA-256 hash of a token is stored, never the token itself.
CREATE TABLE tokens (
	name         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
	role         TEXT    NOT NULL,
	hash         TEXT    NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,           -- unix ms
	created_by   TEXT    NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0  -- unix ms, 0 = never used
);
