-- Counts for searches longer than four characters that match many users (mfa/longprefix.go;
-- docs/PERFORMANCE.md, "Long searches with a status filter"). The prefixes of five characters or
-- more listed here are counted in prefix_counts like the short ones: by the triggers below, and by
-- a bulk update's batch writer (userWriter.countedPrefixes). A prefix is listed, and counted from
-- scratch in the same write transaction, the first time a search for it matches many users
-- (countLongPrefix, longprefix.go).
CREATE TABLE long_prefixes (
	prefix TEXT NOT NULL PRIMARY KEY,
	-- Its first five characters: what a term is joined on (substr(term, 1, 5)).
	head   TEXT NOT NULL,
	CHECK (length(prefix) > 4 AND head = substr(prefix, 1, 5))
) WITHOUT ROWID;
CREATE INDEX long_prefixes_by_head ON long_prefixes (head, prefix);

-- As in the baseline, with the long prefixes a term starts with, past the characters it shares
-- with the user's previous term (so every term now: one sharing four characters or more may still
-- count under a long prefix).
DROP TRIGGER user_terms_count_insert;
CREATE TRIGGER user_terms_count_insert AFTER INSERT ON user_terms
BEGIN
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT substr(NEW.term, 1, k.k), u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, 1
	FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k, users u
	WHERE u.id = NEW.user_id AND NEW.lcp < k.k AND length(NEW.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT p.prefix, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, 1
	FROM long_prefixes p, users u
	WHERE p.head = substr(NEW.term, 1, 5) AND length(p.prefix) > NEW.lcp AND substr(NEW.term, 1, length(p.prefix)) = p.prefix
		AND u.id = NEW.user_id
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;

DROP TRIGGER user_terms_count_delete;
CREATE TRIGGER user_terms_count_delete AFTER DELETE ON user_terms
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE (account_enabled, privileged, methods_class, ca_covered, state) =
			(SELECT account_enabled, privileged, methods_class, ca_covered, state FROM users WHERE id = OLD.user_id)
		AND prefix IN (SELECT substr(OLD.term, 1, k.k) FROM (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
			WHERE OLD.lcp < k.k AND length(OLD.term) >= k.k
			UNION ALL
			SELECT p.prefix FROM long_prefixes p
			WHERE p.head = substr(OLD.term, 1, 5) AND length(p.prefix) > OLD.lcp AND substr(OLD.term, 1, length(p.prefix)) = p.prefix);
END;

DROP TRIGGER users_state_to_prefix_counts;
CREATE TRIGGER users_state_to_prefix_counts AFTER UPDATE OF account_enabled, privileged, methods_class, ca_covered, state ON users
	WHEN (OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.ca_covered IS NOT NEW.ca_covered OR OLD.state IS NOT NEW.state)
		AND (SELECT deferred FROM counts_deferred WHERE id = 1) = 0
BEGIN
	UPDATE prefix_counts SET n = n - 1
	WHERE account_enabled = OLD.account_enabled AND privileged = OLD.privileged
		AND methods_class = OLD.methods_class AND ca_covered = OLD.ca_covered AND state = OLD.state AND prefix IN (
		SELECT substr(t.term, 1, k.k) FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
		WHERE t.user_id = OLD.id AND t.lcp < k.k AND length(t.term) >= k.k
		UNION ALL
		SELECT p.prefix FROM user_terms t, long_prefixes p
		WHERE t.user_id = OLD.id AND p.head = substr(t.term, 1, 5) AND length(p.prefix) > t.lcp AND substr(t.term, 1, length(p.prefix)) = p.prefix);
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT substr(t.term, 1, k.k), NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.ca_covered, NEW.state, 1
	FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
	WHERE t.user_id = NEW.id AND t.lcp < k.k AND length(t.term) >= k.k
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
	INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
	SELECT p.prefix, NEW.account_enabled, NEW.privileged, NEW.methods_class, NEW.ca_covered, NEW.state, 1
	FROM user_terms t, long_prefixes p
	WHERE t.user_id = NEW.id AND p.head = substr(t.term, 1, 5) AND length(p.prefix) > t.lcp AND substr(t.term, 1, length(p.prefix)) = p.prefix
	ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + 1;
END;
