-- One index of users by MFA state instead of two: the view of all users with one state pages by
-- merging its two halves (sign-in allowed, blocked) of users_by_enabled_state_name. Every state
-- change moved an entry in both indexes; a bulk update changes a million states.
DROP INDEX users_by_state_name;
