-- A narrow index of each user's state by id: a search filtered by state reads the state of each
-- of its matches from here (a few MB, mostly cached) instead of from the wide users rows. A
-- state change moves its entry within one page.
CREATE INDEX users_state_by_id ON users (id, state);
