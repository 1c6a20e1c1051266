-- Counts for searches longer than four characters that match many users (docs/PERFORMANCE.md,
-- "Long searches with a status filter").
--
-- A search longer than the prefix indexes reads its range of user_terms, which holds every filter
-- column but the state: its total with a status filter needed the state of every match, read from
-- users by id (11,000-12,000 look-ups for a common surname at 1,000,000 users: 35-70 ms). The
-- prefixes of five characters or more listed here are counted in prefix_counts like the short
-- ones, kept by the same triggers. A prefix is listed, and counted from scratch with the writers of
-- users and user_terms held off meanwhile, the first time a search for it matches many users
-- (countLongPrefix, longprefix.go); the others cost no writer anything.
CREATE TABLE long_prefixes (
	prefix text COLLATE "C" NOT NULL PRIMARY KEY,
	-- Its first five characters: what a term is joined on (left(term, 5)).
	head   text COLLATE "C" NOT NULL GENERATED ALWAYS AS (left(prefix, 5)) STORED,
	CHECK (length(prefix) > 4)
);
CREATE INDEX long_prefixes_by_head ON long_prefixes (head, prefix);

-- The prefixes under which a term counts its user: of one to four characters, and those listed in
-- long_prefixes, each only from the characters it does not share with the user's previous term
-- (lcp: a user counts once under each prefix).
CREATE OR REPLACE FUNCTION term_prefixes(term text, lcp integer) RETURNS SETOF text LANGUAGE sql STABLE AS $$
	SELECT left(term, k) FROM generate_series(lcp + 1, 4) k WHERE length(term) >= k
	UNION ALL
	SELECT p.prefix FROM long_prefixes p WHERE p.head = left(term, 5) AND length(p.prefix) > lcp AND starts_with(term, p.prefix)
$$;

-- As in 001, every term now (a term sharing four characters or more with the user's previous one
-- may still count under a long prefix).
CREATE OR REPLACE FUNCTION user_terms_counts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO prefix_counts AS c (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
		SELECT p, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, count(*)
		FROM new_terms t JOIN users u ON u.id = t.user_id, term_prefixes(t.term, t.lcp) p
		GROUP BY 1, 2, 3, 4, 5, 6
		ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = c.n + excluded.n;
	ELSE
		UPDATE prefix_counts c SET n = c.n - d.n
		FROM (SELECT p AS prefix, u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state, count(*) AS n
			FROM old_terms t JOIN users u ON u.id = t.user_id, term_prefixes(t.term, t.lcp) p
			GROUP BY 1, 2, 3, 4, 5, 6) d
		WHERE (c.prefix, c.account_enabled, c.privileged, c.methods_class, c.ca_covered, c.state) =
			(d.prefix, d.account_enabled, d.privileged, d.methods_class, d.ca_covered, d.state);
	END IF;
	RETURN NULL;
END $$;

-- As in 002, with the long prefixes: each moved user's terms (all of them, the same index range
-- as before) give their short prefixes and, looked up by their first five characters, their long
-- ones.
CREATE OR REPLACE FUNCTION users_counts() RETURNS trigger LANGUAGE plpgsql SET enable_sort = off AS $$
BEGIN
	IF TG_OP = 'INSERT' THEN
		INSERT INTO user_counts AS c (account_enabled, privileged, methods_class, ca_covered, state, n)
		SELECT account_enabled, privileged, methods_class, ca_covered, state, count(*) FROM new_users GROUP BY 1, 2, 3, 4, 5
		ON CONFLICT (account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = c.n + excluded.n;
	ELSIF TG_OP = 'DELETE' THEN
		UPDATE user_counts c SET n = c.n - d.n
		FROM (SELECT account_enabled, privileged, methods_class, ca_covered, state, count(*) AS n FROM old_users GROUP BY 1, 2, 3, 4, 5) d
		WHERE (c.account_enabled, c.privileged, c.methods_class, c.ca_covered, c.state) =
			(d.account_enabled, d.privileged, d.methods_class, d.ca_covered, d.state);
	ELSE
		WITH moved AS MATERIALIZED (
			SELECT o.id, o.account_enabled AS e0, o.privileged AS p0, o.methods_class AS m0, o.ca_covered AS c0, o.state AS s0,
				n.account_enabled AS e1, n.privileged AS p1, n.methods_class AS m1, n.ca_covered AS c1, n.state AS s1
			FROM old_users o JOIN new_users n ON n.id = o.id
			WHERE (o.account_enabled, o.privileged, o.methods_class, o.ca_covered, o.state) IS DISTINCT FROM
				(n.account_enabled, n.privileged, n.methods_class, n.ca_covered, n.state)
		), users_moved AS (
			INSERT INTO user_counts AS c (account_enabled, privileged, methods_class, ca_covered, state, n)
			SELECT e, p, m, cv, s, sum(d) FROM (
				SELECT e0, p0, m0, c0, s0, -1 FROM moved
				UNION ALL SELECT e1, p1, m1, c1, s1, 1 FROM moved) x (e, p, m, cv, s, d)
			GROUP BY 1, 2, 3, 4, 5 HAVING sum(d) <> 0
			ON CONFLICT (account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = c.n + excluded.n
		), moves AS (
			SELECT pr.pr, mv.e0, mv.p0, mv.m0, mv.c0, mv.s0, mv.e1, mv.p1, mv.m1, mv.c1, mv.s1, count(*) AS n
			FROM moved mv CROSS JOIN LATERAL (SELECT term, lcp FROM user_terms WHERE user_id = mv.id OFFSET 0) t
			CROSS JOIN LATERAL (
				SELECT left(t.term, k.k) FROM (VALUES (1), (2), (3), (4)) k (k) WHERE k.k > t.lcp AND k.k <= length(t.term)
				UNION ALL
				SELECT p.prefix FROM long_prefixes p
				WHERE p.head = left(t.term, 5) AND length(p.prefix) > t.lcp AND starts_with(t.term, p.prefix)
			) pr (pr)
			GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11
		)
		INSERT INTO prefix_counts AS c (prefix, account_enabled, privileged, methods_class, ca_covered, state, n)
		SELECT mo.pr, x.e, x.p, x.m, x.cv, x.s, sum(x.d) FROM moves mo
			CROSS JOIN LATERAL (VALUES (mo.e0, mo.p0, mo.m0, mo.c0, mo.s0, -mo.n), (mo.e1, mo.p1, mo.m1, mo.c1, mo.s1, mo.n)) x (e, p, m, cv, s, d)
		GROUP BY 1, 2, 3, 4, 5, 6 HAVING sum(x.d) <> 0
		ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = c.n + excluded.n;
	END IF;
	RETURN NULL;
END $$;
