-- The users list filters on admins and registered methods and sorts by user name or status
-- (SPEC §10), every combination paged by keyset and counted without counting (docs/PERFORMANCE.md).
--
-- The enumerated filters are columns of users: account_enabled, privileged, methods_class and state.
-- A page is the merge of one keyset range per combination of their allowed values ("arms", built by
-- findUsersQuery), each a search of an index that starts with those columns. The MFA state, which
-- a bulk update changes a million times, is in one index only (users_by_filters_name); the search
-- terms copy the other three, which change seldom.

DROP TRIGGER users_filters_to_terms;
DROP TRIGGER users_count_insert;
DROP TRIGGER users_count_delete;
DROP TRIGGER users_count_update;
DROP TRIGGER users_state_to_prefix_counts;
DROP TRIGGER users_delete_terms;
DROP TRIGGER user_terms_count_insert;
DROP TRIGGER user_terms_count_delete;

-- 0: no registered method, 1: only phones that get SMS or voice calls, 2: anything else
-- (mfa.ClassifyMethods, from the space-separated list of mfa.FormatMethodList). The writers of this
-- package set it with methods; the triggers users_methods_class_* below mend it after any other
-- writer. (Not a generated column: SQLite reads the table row to check a virtual one, so an index
-- on it would not cover a probe, and a stored one cannot be added to a table that has rows.)
ALTER TABLE users ADD COLUMN methods_class INTEGER NOT NULL DEFAULT 0;
UPDATE users SET methods_class = CASE
	WHEN trim(replace(replace(replace(' ' || methods || ' ',
		' mobilePhone ', ' '), ' alternateMobilePhone ', ' '), ' officePhone ', ' ')) = '' THEN 1
	ELSE 2 END
WHERE methods <> '';

DROP INDEX users_by_name;
DROP INDEX users_by_enabled_name;
DROP INDEX users_by_enabled_state_name;
CREATE INDEX users_by_filters_name ON users (account_enabled, privileged, methods_class, state, sort_key, id);
CREATE INDEX users_by_filters_upn ON users (account_enabled, privileged, methods_class, upn_key, id);

-- The terms carry the user's sort keys and filter columns but the state (see 008).
CREATE TABLE user_terms_040 (
	term            TEXT    NOT NULL,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	lcp             INTEGER NOT NULL,
	sort_key        TEXT    NOT NULL,
	upn_key         TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	PRIMARY KEY (term, user_id)
) WITHOUT ROWID;
INSERT INTO user_terms_040 (term, user_id, lcp, sort_key, upn_key, account_enabled, privileged, methods_class)
SELECT t.term, t.user_id, t.lcp, u.sort_key, u.upn_key, u.account_enabled, u.privileged, u.methods_class
FROM user_terms t JOIN users u ON u.id = t.user_id
ORDER BY t.term, t.user_id;
DROP TABLE user_terms;
ALTER TABLE user_terms_040 RENAME TO user_terms;

CREATE INDEX user_terms_by_user ON user_terms (user_id, lcp);
-- Searches of one to three characters page by keyset like a view: each index holds a user once per
-- distinct first n characters of its terms, by filters, in display-name (user-name) order.
CREATE INDEX user_terms_by_prefix1 ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, sort_key, user_id, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2 ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, sort_key, user_id, lcp) WHERE lcp < 2;
CREATE INDEX user_terms_by_prefix3 ON user_terms (substr(term, 1, 3), account_enabled, privileged, methods_class, sort_key, user_id, lcp) WHERE lcp < 3;
CREATE INDEX user_terms_by_prefix1_upn ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, upn_key, user_id, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2_upn ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, upn_key, user_id, lcp) WHERE lcp < 2;

-- Counts by every filter column.
DROP TABLE user_counts;
CREATE TABLE user_counts (
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (account_enabled, privileged, methods_class, state)
) WITHOUT ROWID;
INSERT INTO user_counts (account_enabled, privileged, methods_class, state, n)
SELECT account_enabled, privileged, methods_class, state, COUNT(*) FROM users GROUP BY 1, 2, 3, 4;

DROP TABLE prefix_counts;
CREATE TABLE prefix_counts (
	prefix          TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (prefix, account_enabled, privileged, methods_class, state)
) WITHOUT ROWID;
INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, state, n)
SELECT substr(t.term, 1, k.k), u.account_enabled, u.privileged, u.methods_class, u.state, COUNT(*)
FROM user_terms t JOIN users u ON u.id = t.user_id, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
WHERE t.lcp < k.k AND length(t.term) >= k.k
GROUP BY 1, 2, 3, 4, 5;

CREATE TRIGGER users_methods_class_insert AFTER INSERT ON users
	WHEN NEW.methods_class IS NOT CASE WHEN NEW.methods = '' THEN 0
		WHEN trim(replace(replace(replace(' ' || NEW.methods || ' ',
			' mobilePhone ', ' '), ' alternateMobilePhone ', ' '), ' officePhone ', ' ')) = '' THEN 1 ELSE 2 END
BEGIN
	UPDATE users SET methods_class = CASE WHEN NEW.methods = '' THEN 0
		WHEN trim(replace(replace(replace(' ' || NEW.methods || ' ',
			' mobilePhone ', ' '), ' alternateMobilePhone ', ' '), ' officePhone ', ' ')) = '' THEN 1 ELSE 2 END
	WHERE id = NEW.id;
END;

CREATE TRIGGER users_methods_class_update AFTER UPDATE OF methods, methods_class ON users
	WHEN NEW.methods_class IS NOT CASE WHEN NEW.methods = '' THEN 0
		WHEN trim(replace(replace(replace(' ' || NEW.methods || ' ',
			' mobilePhone ', ' '), ' alternateMobilePhone ', ' '), ' officePhone ', ' ')) = '' THEN 1 ELSE 2 END
BEGIN
	UPDATE users SET methods_class = CASE WHEN NEW.methods = '' THEN 0
		WHEN trim(replace(replace(replace(' ' || NEW.methods || ' ',
			' mobilePhone ', ' '), ' alternateMobilePhone ', ' '), ' officePhone ', ' ')) = '' THEN 1 ELSE 2 END
	WHERE id = NEW.id;
END;

-- The terms follow their user's sort keys and filters.
CREATE TRIGGER users_filters_to_terms AFTER UPDATE OF account_enabled, privileged, methods_class, sort_key, upn_key ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.sort_key IS NOT NEW.sort_key OR OLD.upn_key IS NOT NEW.upn_key
BEGIN
	UPDATE user_terms SET account_enabled = NEW.account_enabled, privileged = NEW.privileged,
		methods_class = NEW.methods_class, sort_key = NEW.sort_key, upn_key = NEW.upn_key
	WHERE user_id = NEW.id;
END;

CREATE TRIGGER users_delete_terms BEFORE DELETE ON users
BEGIN
	DELETE FROM user_terms WHERE user_id = OLD.id;
END;

-- user_counts and prefix_counts, as in 008, by every filter column; counts_deferred still lets a
-- bulk update's batch add its state changes up itself.
CREATE TRIGGER users_count_insert AFTER INSERT ON users
BEGIN
	INSERT INTO user_counts (account_enabled, privileged, methods_class, state, n)
	VALUES (NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.state, 1)
	ON CONFLICT (account_enabled, privileged, methods_class, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER users_count_delete AFTER DELETE ON users
BEGIN
	UPDATE user_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND state = OLD.state;
END;

CREATE TRIGGER users_count_update AFTER UPDATE OF account_enabled, privileged, methods_class, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE user_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND state = OLD.state;
	INSERT INTO user_counts (account_enabled, privileged, methods_class, state, n)
	VALUES (NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.state, 1)
	ON CONFLICT (account_enabled, privileged, methods_class, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_terms_count_insert AFTER INSERT ON user_terms
	WHEN NEW.lcp < 4
BEGIN
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, state, n)
	SELECT substr(NEW.term, 1, k.k), u.account_enabled, u.privileged, u.methods_class, u.state, 1
	FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k, users u
	WHERE u.id = NEW.user_id AND NEW.lcp < k.k AND length(NEW.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_terms_count_delete AFTER DELETE ON user_terms
	WHEN OLD.lcp < 4
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE (account_enabled, privileged, methods_class, state) =
			(SELECT account_enabled, privileged, methods_class, state FROM users WHERE id = OLD.user_id)
		AND prefix IN (SELECT substr(OLD.term, 1, k.k) FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
			WHERE OLD.lcp < k.k AND length(OLD.term) >= k.k);
END;

CREATE TRIGGER users_state_to_prefix_counts AFTER UPDATE OF account_enabled, privileged, methods_class, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND state = OLD.state AND prefix IN (
		SELECT substr(t.term, 1, k.k) FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
		WHERE t.user_id = OLD.id AND t.lcp < k.k AND length(t.term) >= k.k);
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, state, n)
	SELECT substr(t.term, 1, k.k), NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.state, 1
	FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
	WHERE t.user_id = NEW.id AND t.lcp < k.k AND length(t.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, state) DO UPDATE SET n = n + 1;
END;
