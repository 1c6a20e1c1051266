-- Bulk update's cost on PostgreSQL (docs/PERFORMANCE.md, "Bulk update on PostgreSQL: where the time
-- goes").

-- The counts of a statement that moved users (bulk update's batches of up to 30,000 state changes):
-- each moved user's terms are read by its id (an index range of a few entries), their prefixes
-- grouped once by the user's old and new filters, and only then counted down and up. The planner
-- knows nothing of the transition tables' join (it guessed 4.5 million moved users for 30,000), so
-- it read all of user_terms (3 million rows at a million users) into a hash at every batch, and
-- sorted the prefixes on disk: 100 µs of the server's CPU a moved user, against 27 µs for the
-- UPDATE itself. OFFSET 0 keeps the look-up by id a nested loop whatever the guess; enable_sort off
-- (for this function only) makes the grouping a hash, which fits in memory for the real numbers.
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
			SELECT left(t.term, k.k) AS pr, mv.e0, mv.p0, mv.m0, mv.c0, mv.s0, mv.e1, mv.p1, mv.m1, mv.c1, mv.s1, count(*) AS n
			FROM moved mv CROSS JOIN LATERAL (SELECT term, lcp FROM user_terms WHERE user_id = mv.id AND lcp < 4 OFFSET 0) t
			JOIN (VALUES (1), (2), (3), (4)) k (k) ON k.k > t.lcp AND k.k <= length(t.term)
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

-- A bulk job's rows go with the job, deleted by this trigger rather than by a foreign key: the key
-- checked every row of the COPY that stores a verified file (a look-up and a row lock on the job's
-- row for each of a million rows, 19 µs a row), while only CreateJob writes rows, in the
-- transaction that inserts their job (and migrate --to copies them after their jobs).
ALTER TABLE bulk_rows DROP CONSTRAINT bulk_rows_job_id_fkey;
CREATE FUNCTION bulk_jobs_delete_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	DELETE FROM bulk_rows WHERE job_id IN (SELECT id FROM old_jobs);
	RETURN NULL;
END $$;
CREATE TRIGGER bulk_jobs_delete_rows AFTER DELETE ON bulk_jobs
	REFERENCING OLD TABLE AS old_jobs FOR EACH STATEMENT EXECUTE FUNCTION bulk_jobs_delete_rows();

-- A row's outcome is written once, by an UPDATE of the row that verify stored: with half of each
-- page left free that new version fits beside the old one (a HOT update), so that the primary key
-- gets no new entry and the page is written once (at 100,000 rows: 1.2 instead of 3.3 WAL records
-- a row, and half the statement's time).
ALTER TABLE bulk_rows SET (fillfactor = 50);
