-- The registration list pages by one key instead of (enabled_at, id): SQLite seeks an index by a
-- row value only on its first column, so a page after many users enabled in the same millisecond
-- (an import, the demo tenant, a bulk batch) scanned all of them from the start. The key is the
-- second the user was enabled, then the id: ties of a second are in id order.
DROP INDEX users_awaiting_registration;
CREATE INDEX users_awaiting_registration ON users ((enabled_at / 1000) * 1000000000 + id)
	WHERE state = 'enabled' AND (methods = '' OR reenabled_with_methods = 1);
