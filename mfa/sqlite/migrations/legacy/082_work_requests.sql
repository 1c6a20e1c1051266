-- Requests for work a lease holder does (mfa.WorkRequestStore): "sync now" asked on any replica,
-- polled by the one that syncs. requested_at is unix ms.
CREATE TABLE work_requests (
	name         TEXT    NOT NULL PRIMARY KEY,
	requested_at INTEGER NOT NULL
);
