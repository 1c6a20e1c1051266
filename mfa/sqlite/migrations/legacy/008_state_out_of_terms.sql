-- The MFA state leaves the search terms. A state change (what a bulk update does a million times)
-- used to rewrite every search term row of the user and move its entries in both prefix indexes,
-- more than half of its cost (docs/PERFORMANCE.md). Searches filtered by state now read the state
-- from users by id, and count from prefix_counts below.
DROP TRIGGER users_filters_to_terms;
DROP INDEX user_terms_by_prefix1;
DROP INDEX user_terms_by_prefix2;
DROP INDEX user_terms_by_user;
ALTER TABLE user_terms DROP COLUMN state;
CREATE INDEX user_terms_by_user ON user_terms (user_id, lcp);
CREATE INDEX user_terms_by_prefix1 ON user_terms (substr(term, 1, 1), sort_key, user_id, account_enabled, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2 ON user_terms (substr(term, 1, 2), sort_key, user_id, account_enabled, lcp) WHERE lcp < 2;

CREATE TRIGGER users_filters_to_terms AFTER UPDATE OF account_enabled, sort_key ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.sort_key IS NOT NEW.sort_key
BEGIN
	UPDATE user_terms SET account_enabled = NEW.account_enabled, sort_key = NEW.sort_key
	WHERE user_id = NEW.id;
END;

-- How many users have a search term starting with each prefix of one to four characters, per
-- account state and MFA state: the total of a short search (which may match a fifth of the
-- directory) is read, not counted. A user counts once per prefix: of its terms that start with a
-- prefix of k characters exactly one has lcp < k (see user_terms); terms shorter than k do not
-- match a search of k characters.
CREATE TABLE prefix_counts (
	prefix          TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (prefix, account_enabled, state)
) WITHOUT ROWID;

-- While a bulk update's transaction holds counts_deferred.deferred = 1, the triggers that keep
-- user_counts and prefix_counts in step with state changes do nothing: the bulk writer adds up the
-- changes of its whole batch and applies them once before it commits (and sets the flag back). No
-- other writer can see the flag set: writers are serialized, and a transaction that does not
-- commit leaves it as it was.
CREATE TABLE counts_deferred (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	deferred INTEGER NOT NULL CHECK (deferred IN (0, 1))
);
INSERT INTO counts_deferred (id, deferred) VALUES (1, 0);

DROP TRIGGER users_count_update;
CREATE TRIGGER users_count_update AFTER UPDATE OF account_enabled, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE user_counts SET n = n - 1 WHERE account_enabled = OLD.account_enabled AND state = OLD.state;
	INSERT INTO user_counts (account_enabled, state, n) VALUES (NEW.account_enabled, NEW.state, 1)
	ON CONFLICT (account_enabled, state) DO UPDATE SET n = n + 1;
END;

-- A term counts for the state of its user; a user's terms are written after the user (on insert
-- and on rename) and deleted before it (users_delete_terms), so the user row is there to read.
CREATE TRIGGER user_terms_count_insert AFTER INSERT ON user_terms
	WHEN NEW.lcp < 4
BEGIN
	INSERT INTO prefix_counts (prefix, account_enabled, state, n)
	SELECT substr(NEW.term, 1, k.k), u.account_enabled, u.state, 1
	FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k, users u
	WHERE u.id = NEW.user_id AND NEW.lcp < k.k AND length(NEW.term) >= k.k
	ON CONFLICT (prefix, account_enabled, state) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER user_terms_count_delete AFTER DELETE ON user_terms
	WHEN OLD.lcp < 4
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE account_enabled = (SELECT account_enabled FROM users WHERE id = OLD.user_id)
		AND state = (SELECT state FROM users WHERE id = OLD.user_id)
		AND prefix IN (SELECT substr(OLD.term, 1, k.k) FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
			WHERE OLD.lcp < k.k AND length(OLD.term) >= k.k);
END;

CREATE TRIGGER users_delete_terms BEFORE DELETE ON users
BEGIN
	DELETE FROM user_terms WHERE user_id = OLD.id;
END;

CREATE TRIGGER users_state_to_prefix_counts AFTER UPDATE OF account_enabled, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND state = OLD.state AND prefix IN (
		SELECT substr(t.term, 1, k.k) FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
		WHERE t.user_id = OLD.id AND t.lcp < k.k AND length(t.term) >= k.k);
	INSERT INTO prefix_counts (prefix, account_enabled, state, n)
	SELECT substr(t.term, 1, k.k), NEW.account_enabled, NEW.state, 1
	FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
	WHERE t.user_id = NEW.id AND t.lcp < k.k AND length(t.term) >= k.k
	ON CONFLICT (prefix, account_enabled, state) DO UPDATE SET n = n + 1;
END;

INSERT INTO prefix_counts (prefix, account_enabled, state, n)
SELECT substr(t.term, 1, k.k), u.account_enabled, u.state, COUNT(*)
FROM user_terms t JOIN users u ON u.id = t.user_id, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
WHERE t.lcp < k.k AND length(t.term) >= k.k
GROUP BY 1, 2, 3;
