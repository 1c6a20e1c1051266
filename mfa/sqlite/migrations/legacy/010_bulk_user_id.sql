-- The user a bulk row was planned against (users.id; 0 if none): the job finds the user by id,
-- without a look-up by name, as long as the user still has the row's user name.
ALTER TABLE bulk_rows ADD COLUMN user_id INTEGER NOT NULL DEFAULT 0;
