-- When each user was last moved to Enabled (unix ms; 0 when not Enabled), for the registration
-- tracker: set by every writer (a change of state, bulk update, import, the Graph sync) from the time
-- of the change. Users Enabled before this migration count from when their state was last set or
-- read, the best the store knows.
ALTER TABLE users ADD COLUMN enabled_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET enabled_at = max(state_read_at, 1) WHERE state = 'enabled';

-- Enabled users who have not completed registration (no methods, or re-enabled while holding old
-- ones), those enabled longest ago first: the registration tab pages it by keyset and counts it.
-- Only those users are in it, so a state change of anyone else does not touch it.
CREATE INDEX users_awaiting_registration ON users (enabled_at, id)
	WHERE state = 'enabled' AND (methods = '' OR reenabled_with_methods = 1);
