-- The end users' security info on the embedded directory (SPEC §7). users.methods stays the list of
-- registered methods (the default first) and users.app_passwords their number; these tables hold
-- what the portal needs beyond them. Times are unix ms.

-- A user's password (argon2id), set with a setup link.
CREATE TABLE user_passwords (
	user_id       INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	password_hash TEXT    NOT NULL,
	set_at        INTEGER NOT NULL
);

-- One live setup link per user: only the SHA-256 of its secret.
CREATE TABLE setup_links (
	user_id    INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	hash       TEXT    NOT NULL UNIQUE,
	expires_at INTEGER NOT NULL
);

-- Users' browser sessions: only the SHA-256 of the cookie's token. stage is what the sign-in
-- still needs (mfa.Need).
CREATE TABLE user_sessions (
	hash         TEXT    NOT NULL PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	upn          TEXT    NOT NULL,
	stage        TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX user_sessions_by_user ON user_sessions (user_id);

-- The one code a session waits for (mfa.Challenge). Ids are never reused, so that a request still
-- holding a replaced challenge's id cannot use up its successor.
CREATE TABLE user_challenges (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	session_hash TEXT    NOT NULL UNIQUE REFERENCES user_sessions (hash) ON DELETE CASCADE,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose      TEXT    NOT NULL,
	method       TEXT    NOT NULL,
	channel      TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	code_hash    TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL,
	attempts     INTEGER NOT NULL DEFAULT 0
);

-- What a registered method needs beyond its type: a phone number or an authenticator secret.
CREATE TABLE user_methods (
	user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	type      TEXT    NOT NULL,
	phone     TEXT    NOT NULL DEFAULT '',
	channel   TEXT    NOT NULL DEFAULT '',
	secret    TEXT    NOT NULL DEFAULT '',
	added_at  INTEGER NOT NULL,
	last_step INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (user_id, type)
);

-- App passwords: the argon2id hash and a 16-bit hint of the password (mfa.AppPassword).
CREATE TABLE app_passwords (
	id           INTEGER PRIMARY KEY,
	user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name         TEXT    NOT NULL,
	hash         TEXT    NOT NULL,
	hint         TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX app_passwords_by_user ON app_passwords (user_id, hint);

-- Remembered devices: only the SHA-256 of the cookie's token.
CREATE TABLE remembered_devices (
	hash          TEXT    NOT NULL PRIMARY KEY,
	user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	remembered_at INTEGER NOT NULL
);
CREATE INDEX remembered_devices_by_user ON remembered_devices (user_id);

-- Whatever path changes users.methods or users.app_passwords (Manage user settings, users import,
-- bulk writes), the details of methods no longer registered and the app passwords of a user whose
-- count went to 0 go with them: deleted for real, not left behind.
CREATE TRIGGER users_methods_details AFTER UPDATE OF methods ON users
	WHEN OLD.methods IS NOT NEW.methods
BEGIN
	DELETE FROM user_methods WHERE user_id = NEW.id AND instr(' ' || NEW.methods || ' ', ' ' || type || ' ') = 0;
END;
CREATE TRIGGER users_app_passwords_reset AFTER UPDATE OF app_passwords ON users
	WHEN NEW.app_passwords = 0 AND OLD.app_passwords <> 0
BEGIN
	DELETE FROM app_passwords WHERE user_id = NEW.id;
END;
