-- Conditional Access coverage of the users read from Microsoft Graph (SPEC §11, issue 15).
--
-- Each user keeps what the last sync evaluated: ca_status ('' not evaluated — the embedded directory
-- — 'required', 'reportOnly', 'none'), the names of the policies (a JSON array), whether security
-- defaults are on, and ca_covered (1 when Conditional Access or security defaults require MFA): the
-- users list's coverage filter (coverage=ca|none), a filter column like those of migration 040 —
-- in users_by_filters_name/_upn, the search terms, user_counts and prefix_counts, before the state.
-- methods_read_at is when the methods were last read (the registration report may be older than a
-- change the portal made and read back since).

ALTER TABLE users ADD COLUMN ca_status TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN ca_policies TEXT NOT NULL DEFAULT '';
ALTER TABLE users ADD COLUMN security_defaults INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN ca_covered INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN methods_read_at INTEGER NOT NULL DEFAULT 0;
UPDATE users SET methods_read_at = state_read_at;

-- What the last sync learnt of the tenant (mfa.ConditionalAccessSummary as JSON): one row.
CREATE TABLE conditional_access (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	summary TEXT NOT NULL
);

DROP TRIGGER users_filters_to_terms;
DROP TRIGGER users_count_insert;
DROP TRIGGER users_count_delete;
DROP TRIGGER users_count_update;
DROP TRIGGER users_state_to_prefix_counts;
DROP TRIGGER user_terms_count_insert;
DROP TRIGGER user_terms_count_delete;

DROP INDEX users_by_filters_name;
DROP INDEX users_by_filters_upn;
CREATE INDEX users_by_filters_name ON users (account_enabled, privileged, methods_class, ca_covered, state, sort_key, id, upn_key);
CREATE INDEX users_by_filters_upn ON users (account_enabled, privileged, methods_class, ca_covered, upn_key, id, sort_key);

DROP INDEX user_terms_by_prefix1;
DROP INDEX user_terms_by_prefix2;
DROP INDEX user_terms_by_prefix3;
DROP INDEX user_terms_by_prefix1_upn;
DROP INDEX user_terms_by_prefix2_upn;
ALTER TABLE user_terms ADD COLUMN ca_covered INTEGER NOT NULL DEFAULT 0;
CREATE INDEX user_terms_by_prefix1 ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2 ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 2;
CREATE INDEX user_terms_by_prefix3 ON user_terms (substr(term, 1, 3), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 3;
CREATE INDEX user_terms_by_prefix1_upn ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, ca_covered, upn_key, user_id, lcp, sort_key) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2_upn ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, ca_covered, upn_key, user_id, lcp, sort_key) WHERE lcp < 2;

-- Counts by every filter column, ca_covered 0 for every user so far.
CREATE TABLE user_counts_061 (
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	ca_covered      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (account_enabled, privileged, methods_class, ca_covered, state)
) WITHOUT ROWID;
INSERT INTO user_counts_061 (account_enabled, privileged, methods_class, ca_covered, state, n)
SELECT account_enabled, privileged, methods_class, 0, state, n FROM user_counts;
DROP TABLE user_counts;
ALTER TABLE user_counts_061 RENAME TO user_counts;

CREATE TABLE prefix_counts_061 (
	prefix          TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	ca_covered      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (prefix, account_enabled, privileged, methods_class, ca_covered, state)
) WITHOUT ROWID;
INSERT INTO prefix_counts_061 (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
SELECT prefix, account_enabled, privileged, methods_class, 0, state, n FROM prefix_counts;
DROP TABLE prefix_counts;
ALTER TABLE prefix_counts_061 RENAME TO prefix_counts;

-- The triggers of 040, with ca_covered.
CREATE TRIGGER users_filters_to_terms AFTER UPDATE OF account_enabled, privileged, methods_class, ca_covered, sort_key, upn_key ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.ca_covered IS NOT NEW.ca_covered
		OR OLD.sort_key IS NOT NEW.sort_key OR OLD.upn_key IS NOT NEW.upn_key
BEGIN
	UPDATE user_terms SET account_enabled = NEW.account_enabled, privileged = NEW.privileged,
		methods_class = NEW.methods_class, ca_covered = NEW.ca_covered, sort_key = NEW.sort_key, upn_key = NEW.upn_key
	WHERE user_id = NEW.id;
END;

CREATE TRIGGER users_count_insert AFTER INSERT ON users
BEGIN
	INSERT INTO user_counts (account_enabled, privileged, methods_class, ca_covered, state, n)
	VALUES (NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.ca_covered, NEW.state, 1)
	ON CONFLICT (account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users
BEGIN
	UPDATE user_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND ca_covered = OLD.ca_covered AND state = OLD.state;
END;

CREATE TRIGGER users_count_update AFTER UPDATE OF account_enabled, privileged, methods_class, ca_covered, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.ca_covered IS NOT NEW.ca_covered OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE user_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND ca_covered = OLD.ca_covered AND state = OLD.state;
	INSERT INTO user_counts (account_enabled, privileged, methods_class, ca_covered, state, n)
	VALUES (NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.ca_covered, NEW.state, 1)
	ON CONFLICT (account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_terms_count_insert AFTER INSERT ON user_terms
	WHEN NEW.lcp < 4
BEGIN
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT substr(NEW.term, 1, k.k), u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, 1
	FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k, users u
	WHERE u.id = NEW.user_id AND NEW.lcp < k.k AND length(NEW.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_terms_count_delete AFTER DELETE ON user_terms
	WHEN OLD.lcp < 4
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE (account_enabled, privileged, methods_class, ca_covered, state) =
			(SELECT account_enabled, privileged, methods_class, ca_covered, state FROM users WHERE id = OLD.user_id)
		AND prefix IN (SELECT substr(OLD.term, 1, k.k) FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
			WHERE OLD.lcp < k.k AND length(OLD.term) >= k.k);
END;

CREATE TRIGGER users_state_to_prefix_counts AFTER UPDATE OF account_enabled, privileged, methods_class, ca_covered, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.ca_covered IS NOT NEW.ca_covered OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND ca_covered = OLD.ca_covered AND state = OLD.state AND prefix IN (
		SELECT substr(t.term, 1, k.k) FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
		WHERE t.user_id = OLD.id AND t.lcp < k.k AND length(t.term) >= k.k);
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT substr(t.term, 1, k.k), NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.ca_covered, NEW.state, 1
	FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
	WHERE t.user_id = NEW.id AND t.lcp < k.k AND length(t.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;
