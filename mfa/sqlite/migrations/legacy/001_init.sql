-- Users of the embedded directory. sort_key is the folded display name (mfa.Fold).
CREATE TABLE users (
	id                     INTEGER PRIMARY KEY,
	upn                    TEXT    NOT NULL,
	upn_key                TEXT    NOT NULL UNIQUE,
	display_name           TEXT    NOT NULL,
	sort_key               TEXT    NOT NULL,
	account_enabled        INTEGER NOT NULL CHECK (account_enabled IN (0, 1)),
	privileged             INTEGER NOT NULL CHECK (privileged IN (0, 1)),
	state                  TEXT    NOT NULL CHECK (state IN ('disabled', 'enabled', 'enforced')),
	methods                TEXT    NOT NULL DEFAULT '',
	app_passwords          INTEGER NOT NULL DEFAULT 0,
	remembered_not_before  INTEGER NOT NULL DEFAULT 0, -- unix ms, 0 = never reset
	reenabled_with_methods INTEGER NOT NULL DEFAULT 0,
	state_read_at          INTEGER NOT NULL,           -- unix ms
	version                INTEGER NOT NULL DEFAULT 1
);

-- One index per combination of the page's filters, each in display-name order, so that every
-- default view pages by keyset without a sort or a scan.
CREATE INDEX users_by_name               ON users (sort_key, id);
CREATE INDEX users_by_enabled_name       ON users (account_enabled, sort_key, id);
CREATE INDEX users_by_state_name         ON users (state, sort_key, id);
CREATE INDEX users_by_enabled_state_name ON users (account_enabled, state, sort_key, id);

-- Search terms (mfa.SearchTerms), prefix-searched, one row per user and distinct term, written by the
-- code as a whole set per user. With each term are copied the user's sort key and filter columns, so
-- that a search is answered from this table and its indexes alone, and lcp: how many characters the
-- term shares with the user's previous term in sorted order. Of a user's terms that start with a
-- prefix of n characters, exactly one has lcp < n, so matches are counted and listed once per user
-- without DISTINCT.
CREATE TABLE user_terms (
	term            TEXT    NOT NULL,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	lcp             INTEGER NOT NULL,
	sort_key        TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	PRIMARY KEY (term, user_id)
) WITHOUT ROWID;
CREATE INDEX user_terms_by_user ON user_terms (user_id);

-- Searches of one or two characters match too many users to sort: these indexes hold each user once
-- per distinct first one (two) characters of its terms, in display-name order, so that such a search
-- pages by keyset like a view, and is counted index-only.
CREATE INDEX user_terms_by_prefix1 ON user_terms (substr(term, 1, 1), sort_key, user_id, account_enabled, state, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2 ON user_terms (substr(term, 1, 2), sort_key, user_id, account_enabled, state, lcp) WHERE lcp < 2;

CREATE TRIGGER users_filters_to_terms AFTER UPDATE OF account_enabled, state, sort_key ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.state IS NOT NEW.state OR OLD.sort_key IS NOT NEW.sort_key
BEGIN
	UPDATE user_terms SET account_enabled = NEW.account_enabled, state = NEW.state, sort_key = NEW.sort_key
	WHERE user_id = NEW.id;
END;

-- Counts per filter combination, so that the total of a default view is read, not counted.
CREATE TABLE user_counts (
	account_enabled INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (account_enabled, state)
) WITHOUT ROWID;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
BEGIN
	INSERT INTO user_counts (account_enabled, state, n) VALUES (NEW.account_enabled, NEW.state, 1)
	ON CONFLICT (account_enabled, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users
BEGIN
	UPDATE user_counts SET n = n - 1 WHERE account_enabled = OLD.account_enabled AND state = OLD.state;
END;

CREATE TRIGGER users_count_update AFTER UPDATE OF account_enabled, state ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.state IS NOT NEW.state
BEGIN
	UPDATE user_counts SET n = n - 1 WHERE account_enabled = OLD.account_enabled AND state = OLD.state;
	INSERT INTO user_counts (account_enabled, state, n) VALUES (NEW.account_enabled, NEW.state, 1)
	ON CONFLICT (account_enabled, state) DO UPDATE SET n = n + 1;
END;

-- Local sign-in accounts of the portal.
CREATE TABLE accounts (
	name          TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
	role          TEXT    NOT NULL,
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

-- Browser sessions: only the id travels in the cookie.
CREATE TABLE sessions (
	id           TEXT    NOT NULL PRIMARY KEY,
	account      TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	method       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account);

-- Small key/value settings of the portal itself (e.g. whether the demo tenant was seeded).
CREATE TABLE meta (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);
