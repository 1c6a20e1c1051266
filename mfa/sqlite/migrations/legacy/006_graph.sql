-- The local index of a Microsoft Graph directory lives in the users table; these tables add what
-- the index needs. graph_users maps a user row to its Graph object id and the full sync (generation)
-- that last saw it: users not seen by a complete full sync are removed after it.
CREATE TABLE graph_users (
	user_id  INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	graph_id TEXT    NOT NULL UNIQUE,
	sync_gen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX graph_users_by_gen ON graph_users (sync_gen);

-- The state of the sync: one row. Times are unix ms, 0 = never.
CREATE TABLE directory_sync (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	running       INTEGER NOT NULL DEFAULT 0,
	generation    INTEGER NOT NULL DEFAULT 0, -- of the running or last full sync
	started_at    INTEGER NOT NULL DEFAULT 0,
	last_sync     INTEGER NOT NULL DEFAULT 0, -- when the last complete full sync finished
	done          INTEGER NOT NULL DEFAULT 0,
	total         INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT    NOT NULL DEFAULT '',
	last_error_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO directory_sync (id) VALUES (1);
