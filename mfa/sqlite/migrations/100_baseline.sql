-- The baseline: the whole schema of the store, as applying legacy/001 to legacy/083 leaves it
-- (TestSchemaSameEveryWay compares them). A data folder older than the baseline is brought up to it
-- by those files (legacy.go); later migrations number on from 101. Times are unix ms, 0 = never.
--
-- Triggers on one table fire newest first, so their order below is part of the schema: e.g.
-- users_count_insert must fire before users_methods_class_insert mends the class of a user
-- written without it (users_count_update then moves the count), so it is created after it.

-------------------------------------------------------------------------------------------------
-- The directory: users, their search terms and the counts of the users list (SPEC §10,
-- docs/PERFORMANCE.md). The embedded directory, or the local index of Microsoft Graph.
-------------------------------------------------------------------------------------------------

-- Users. sort_key is the folded display name (mfa.Fold), upn_key the folded user name.
CREATE TABLE users (
	id                     INTEGER PRIMARY KEY,
	upn                    TEXT    NOT NULL,
	upn_key                TEXT    NOT NULL UNIQUE,
	display_name           TEXT    NOT NULL,
	sort_key               TEXT    NOT NULL,
	account_enabled        INTEGER NOT NULL CHECK (account_enabled IN (0, 1)),
	privileged             INTEGER NOT NULL CHECK (privileged IN (0, 1)),
	state                  TEXT    NOT NULL CHECK (state IN ('disabled', 'enabled', 'enforced')),
	-- The registered methods, space-separated, the default first (mfa.FormatMethodList), and the
	-- number of app passwords; what the portal needs beyond them is in user_methods, app_passwords.
	methods                TEXT    NOT NULL DEFAULT '',
	app_passwords          INTEGER NOT NULL DEFAULT 0,
	remembered_not_before  INTEGER NOT NULL DEFAULT 0, -- 0 = never reset
	reenabled_with_methods INTEGER NOT NULL DEFAULT 0,
	state_read_at          INTEGER NOT NULL,
	version                INTEGER NOT NULL DEFAULT 1,
	-- 0: no registered method, 1: only phones that get SMS or voice calls, 2: anything else
	-- (mfa.ClassifyMethods). The writers of this package set it with methods; the triggers
	-- users_methods_class_* mend it after any other writer. (Not a generated column: SQLite reads the
	-- table row to check a virtual one, so an index on it would not cover a probe, and a stored one
	-- cannot be added to a table that has rows.)
	methods_class          INTEGER NOT NULL DEFAULT 0,
	-- When the user was last moved to Enabled (0 when not Enabled), for the registration tracker:
	-- set by every writer (a change of state, bulk update, import, the Graph sync) from the time of
	-- the change (mfa.EnabledSince).
	enabled_at             INTEGER NOT NULL DEFAULT 0,
	-- Conditional Access coverage as the last Graph sync evaluated it (SPEC §11): ca_status ('' not
	-- evaluated — the embedded directory — 'required', 'reportOnly', 'none'), the names of the
	-- policies (a JSON array), whether security defaults are on, and ca_covered (1 when Conditional
	-- Access or security defaults require MFA), the list's coverage filter.
	ca_status              TEXT    NOT NULL DEFAULT '',
	ca_policies            TEXT    NOT NULL DEFAULT '',
	security_defaults      INTEGER NOT NULL DEFAULT 0,
	ca_covered             INTEGER NOT NULL DEFAULT 0,
	-- When the methods were last read (the registration report may be older than a change the
	-- portal made and read back since).
	methods_read_at        INTEGER NOT NULL DEFAULT 0
);

-- Enabled users who have not completed registration (no methods, or re-enabled while holding old
-- ones), those enabled longest ago first: the registration tab pages it by keyset and counts it.
-- Only those users are in it, so a state change of anyone else does not touch it. One key, not
-- (enabled_at, id): SQLite seeks an index by a row value only on its first column, so a page after
-- many users enabled in the same millisecond (an import, a bulk batch) would scan all of them. The
-- key is the second the user was enabled, then the id: ties of a second are in id order.
CREATE INDEX users_awaiting_registration ON users ((enabled_at / 1000) * 1000000000 + id)
	WHERE state = 'enabled' AND (methods = '' OR reenabled_with_methods = 1);

-- The list filters on account_enabled, privileged, methods_class, ca_covered (the filter columns,
-- listDims) and state. A page is the merge of one keyset range per combination of their allowed
-- values ("arms", findpage.go), each a search of an index that starts with those columns.
--
-- The MFA state, which a bulk update changes a million times, is in one index only, and without
-- the user-name key: a bulk update moves this index's entry of every user whose state it changes,
-- and with that key a state change of 100,000 users cost about 40 % more CPU. The few users of a
-- class in one state, read to be sorted by user name, take that key from their rows.
CREATE INDEX users_by_filters_name ON users (account_enabled, privileged, methods_class, ca_covered, state, sort_key, id);
-- Sorted by user name with a status filter, a page's candidates come from this index (or from
-- user_terms_by_prefixN_upn), which carries the sort key so that each candidate's state is read by
-- probing users_by_filters_name with its whole key, from the indexes alone.
CREATE INDEX users_by_filters_upn ON users (account_enabled, privileged, methods_class, ca_covered, upn_key, id, sort_key);

-- Search terms (mfa.SearchTerms), prefix-searched, one row per user and distinct term, written by
-- the code as a whole set per user. With each term are copied the user's sort keys and filter
-- columns but the state (which a bulk update would otherwise rewrite in every term of every user:
-- searches filtered by state read it from users), so that a search is answered from this table and
-- its indexes alone; and lcp: how many characters the term shares with the user's previous term in
-- sorted order. Of a user's terms that start with a prefix of n characters, exactly one has
-- lcp < n, so matches are counted and listed once per user without DISTINCT.
CREATE TABLE user_terms (
	term            TEXT    NOT NULL,
	user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	lcp             INTEGER NOT NULL,
	sort_key        TEXT    NOT NULL,
	upn_key         TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	ca_covered      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (term, user_id)
) WITHOUT ROWID;
CREATE INDEX user_terms_by_user ON user_terms (user_id, lcp);
-- Searches of one to three characters match too many users to sort: each index holds a user once
-- per distinct first n characters of its terms, by filters, in display-name (user-name) order, so
-- that such a search pages by keyset like a view.
CREATE INDEX user_terms_by_prefix1 ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2 ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 2;
CREATE INDEX user_terms_by_prefix3 ON user_terms (substr(term, 1, 3), account_enabled, privileged, methods_class, ca_covered, sort_key, user_id, lcp) WHERE lcp < 3;
CREATE INDEX user_terms_by_prefix1_upn ON user_terms (substr(term, 1, 1), account_enabled, privileged, methods_class, ca_covered, upn_key, user_id, lcp, sort_key) WHERE lcp < 1;
CREATE INDEX user_terms_by_prefix2_upn ON user_terms (substr(term, 1, 2), account_enabled, privileged, methods_class, ca_covered, upn_key, user_id, lcp, sort_key) WHERE lcp < 2;

-- Counts per combination of the filter columns and the state, so that the total of a list without
-- a search is read, not counted.
CREATE TABLE user_counts (
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	ca_covered      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (account_enabled, privileged, methods_class, ca_covered, state)
) WITHOUT ROWID;

-- How many users have a search term starting with each prefix of one to four characters, per
-- combination: the total of a short search (which may match a fifth of the directory) is read, not
-- counted. A user counts once per prefix: of its terms that start with a prefix of k characters
-- exactly one has lcp < k (see user_terms); terms shorter than k do not match a search of k.
CREATE TABLE prefix_counts (
	prefix          TEXT    NOT NULL,
	account_enabled INTEGER NOT NULL,
	privileged      INTEGER NOT NULL,
	methods_class   INTEGER NOT NULL,
	ca_covered      INTEGER NOT NULL,
	state           TEXT    NOT NULL,
	n               INTEGER NOT NULL,
	PRIMARY KEY (prefix, account_enabled, privileged, methods_class, ca_covered, state)
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

-------------------------------------------------------------------------------------------------
-- Microsoft Graph: what the local index needs beyond the users table.
-------------------------------------------------------------------------------------------------

-- A user row's Graph object id and the full sync (generation) that last saw it: users not seen by
-- a complete full sync are removed after it.
CREATE TABLE graph_users (
	user_id  INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
	graph_id TEXT    NOT NULL UNIQUE,
	sync_gen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX graph_users_by_gen ON graph_users (sync_gen);

-- The state of the sync: one row.
CREATE TABLE directory_sync (
	id            INTEGER PRIMARY KEY CHECK (id = 1),
	running       INTEGER NOT NULL DEFAULT 0,
	generation    INTEGER NOT NULL DEFAULT 0, -- of the running or last full sync
	started_at    INTEGER NOT NULL DEFAULT 0,
	last_sync     INTEGER NOT NULL DEFAULT 0, -- when the last complete full sync finished
	done          INTEGER NOT NULL DEFAULT 0,
	total         INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT    NOT NULL DEFAULT '',
	last_error_at INTEGER NOT NULL DEFAULT 0
);
INSERT INTO directory_sync (id) VALUES (1);

-- What the last sync learnt of the tenant's Conditional Access (mfa.ConditionalAccessSummary as
-- JSON): one row.
CREATE TABLE conditional_access (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	summary TEXT NOT NULL
);

-------------------------------------------------------------------------------------------------
-- The end users' security info on the embedded directory (SPEC §7).
-------------------------------------------------------------------------------------------------

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

-------------------------------------------------------------------------------------------------
-- What keeps the directory's copies and counts in step with users, whoever writes them (this
-- package's writers, the Graph sync, an import). In the order they must be created (see the top).
-------------------------------------------------------------------------------------------------

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

-- methods_class from methods, for writers that do not set it (TestMethodsClassMatchesSQL checks
-- it agrees with mfa.ClassifyMethods).
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

-- A user's terms are deleted before it, so that user_terms_count_delete still reads its row; they
-- are written after it (on insert and on rename) by the code.
CREATE TRIGGER users_delete_terms BEFORE DELETE ON users
BEGIN
	DELETE FROM user_terms WHERE user_id = OLD.id;
END;

-- The terms follow their user's sort keys and filter columns.
CREATE TRIGGER users_filters_to_terms AFTER UPDATE OF account_enabled, privileged, methods_class, ca_covered, sort_key, upn_key ON users
	WHEN OLD.account_enabled IS NOT NEW.account_enabled OR OLD.privileged IS NOT NEW.privileged
		OR OLD.methods_class IS NOT NEW.methods_class OR OLD.ca_covered IS NOT NEW.ca_covered
		OR OLD.sort_key IS NOT NEW.sort_key OR OLD.upn_key IS NOT NEW.upn_key
BEGIN
	UPDATE user_terms SET account_enabled = NEW.account_enabled, privileged = NEW.privileged,
		methods_class = NEW.methods_class, ca_covered = NEW.ca_covered, sort_key = NEW.sort_key, upn_key = NEW.upn_key
	WHERE user_id = NEW.id;
END;

-- user_counts follows the users; a change of the filter columns or the state moves a user's count
-- unless a bulk update's batch adds them up itself (counts_deferred).
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

-- prefix_counts follows the terms, each counted for the filters and state of its user, whose row
-- is there to read (users_delete_terms).
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

-- And a change of a user's filter columns or state moves the counts of its terms' prefixes
-- (unless deferred, as above).
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

-------------------------------------------------------------------------------------------------
-- The portal's own: its accounts and sessions, the audit log, settings, tokens.
-------------------------------------------------------------------------------------------------

-- Local sign-in accounts of the portal, with their authenticator app (mfa.AccountMFAStore): the
-- TOTP secret ('' when none), when it was enrolled, and the last time step a code was accepted
-- for (a code works once).
CREATE TABLE accounts (
	name             TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
	role             TEXT    NOT NULL,
	password_hash    TEXT    NOT NULL,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	totp_secret      TEXT    NOT NULL DEFAULT '',
	totp_enrolled_at INTEGER NOT NULL DEFAULT 0,
	totp_last_step   INTEGER NOT NULL DEFAULT 0
);

-- Browser sessions of the accounts: only the id travels in the cookie.
CREATE TABLE sessions (
	id           TEXT    NOT NULL PRIMARY KEY,
	account      TEXT    NOT NULL,
	role         TEXT    NOT NULL,
	method       TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account);

-- Sign-in throttle counters (mfa.Throttle), per namespace ("admin", "user"): recent failures of an
-- account ("a:NAME") or an address ("ip:ADDRESS"), kept so that a restart does not reset them.
CREATE TABLE signin_throttle (
	namespace TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	failures  INTEGER NOT NULL,
	last      INTEGER NOT NULL, -- of the last failure
	PRIMARY KEY (namespace, key)
) WITHOUT ROWID;
CREATE INDEX signin_throttle_by_last ON signin_throttle (last);

-- Small key/value settings of the portal itself (e.g. whether the demo tenant was seeded).
CREATE TABLE meta (
	key   TEXT NOT NULL PRIMARY KEY,
	value TEXT NOT NULL
);

-- The append-only, hash-chained audit log (mfa.AuditRecord). seq is 1, 2, 3...; each record's hash
-- covers its content and prev_hash, the hash of the record before it.
CREATE TABLE audit (
	seq          INTEGER PRIMARY KEY,
	time         INTEGER NOT NULL,
	actor        TEXT    NOT NULL,
	actor_key    TEXT    NOT NULL, -- lower-cased, for the filter
	actor_role   TEXT    NOT NULL,
	actor_method TEXT    NOT NULL,
	action       TEXT    NOT NULL,
	target       TEXT    NOT NULL,
	target_key   TEXT    NOT NULL, -- lower-cased, for the filter
	before       TEXT    NOT NULL,
	after        TEXT    NOT NULL,
	source       TEXT    NOT NULL,
	reason       TEXT    NOT NULL,
	client_ip    TEXT    NOT NULL,
	outcome      TEXT    NOT NULL,
	prev_hash    TEXT    NOT NULL,
	hash         TEXT    NOT NULL
);
CREATE INDEX audit_by_target ON audit (target_key, seq);
CREATE INDEX audit_by_actor  ON audit (actor_key, seq);
CREATE INDEX audit_by_action ON audit (action, seq);
CREATE INDEX audit_by_time   ON audit (time, seq);

-- The portal never updates or deletes a record; these make a mistake fail loudly. (Someone with the
-- file can drop them: that is what the hash chain and `mfaportal audit verify` are for.)
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- The service settings (mfa.Settings) as one JSON document, changed only together with its audit
-- record.
CREATE TABLE service_settings (
	id       INTEGER PRIMARY KEY CHECK (id = 1),
	document TEXT    NOT NULL,
	version  INTEGER NOT NULL
);

-- API tokens (mfa.Token): only the SHA-256 hash of a token is stored, never the token itself.
CREATE TABLE tokens (
	name         TEXT    NOT NULL PRIMARY KEY COLLATE NOCASE,
	role         TEXT    NOT NULL,
	hash         TEXT    NOT NULL UNIQUE,
	created_at   INTEGER NOT NULL,
	created_by   TEXT    NOT NULL,
	last_used_at INTEGER NOT NULL DEFAULT 0 -- 0 = never used
);

-- The email sent to users awaiting registration (mfa.NotifyTemplate), once an admin saved one: one
-- row, changed only together with its audit record.
CREATE TABLE notify_template (
	id      INTEGER PRIMARY KEY CHECK (id = 1),
	subject TEXT    NOT NULL,
	body    TEXT    NOT NULL,
	version INTEGER NOT NULL
);

-- Users disabled for a while ("Disable for a while", mfa.Exemption): returned to previous_state when
-- until has passed, by the portal's background runner, also after a restart.
CREATE TABLE exemptions (
	upn_key            TEXT    NOT NULL PRIMARY KEY,
	upn                TEXT    NOT NULL,
	previous_state     TEXT    NOT NULL,
	previous_reenabled INTEGER NOT NULL,
	started_at         INTEGER NOT NULL,
	until              INTEGER NOT NULL,
	reason             TEXT    NOT NULL,
	actor              TEXT    NOT NULL,
	actor_role         TEXT    NOT NULL,
	actor_method       TEXT    NOT NULL
);
CREATE INDEX exemptions_by_until ON exemptions (until);

-- The overview tab's daily snapshots (mfa.OverviewCounts): one row a day (UTC), the last of the day.
CREATE TABLE overview_days (
	day                TEXT    NOT NULL PRIMARY KEY, -- YYYY-MM-DD
	taken_at           INTEGER NOT NULL,
	enabled            INTEGER NOT NULL,
	enforced           INTEGER NOT NULL,
	disabled           INTEGER NOT NULL,
	registered         INTEGER NOT NULL,
	not_registered     INTEGER NOT NULL,
	admins_without_mfa INTEGER NOT NULL
);

-------------------------------------------------------------------------------------------------
-- Bulk update jobs and their rows. A job is created "planned" from a verified file; confirmed, it
-- is queued and applied batch by batch, each row's outcome stored, so that it survives a restart.
-------------------------------------------------------------------------------------------------

CREATE TABLE bulk_jobs (
	id               TEXT    NOT NULL PRIMARY KEY,
	status           TEXT    NOT NULL CHECK (status IN ('planned', 'queued', 'running', 'done', 'cancelled')),
	file_name        TEXT    NOT NULL,
	actor            TEXT    NOT NULL,
	actor_role       TEXT    NOT NULL,
	actor_method     TEXT    NOT NULL,
	client_ip        TEXT    NOT NULL,
	reason           TEXT    NOT NULL,
	n_enable         INTEGER NOT NULL,
	n_enforce        INTEGER NOT NULL,
	n_disable        INTEGER NOT NULL,
	n_unchanged      INTEGER NOT NULL,
	n_errors         INTEGER NOT NULL,
	total            INTEGER NOT NULL, -- rows to apply
	done             INTEGER NOT NULL DEFAULT 0,
	changed          INTEGER NOT NULL DEFAULT 0,
	unchanged        INTEGER NOT NULL DEFAULT 0,
	failed           INTEGER NOT NULL DEFAULT 0,
	cancel_requested INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL,
	queued_at        INTEGER NOT NULL DEFAULT 0, -- the runner takes jobs in this order
	started_at       INTEGER NOT NULL DEFAULT 0,
	finished_at      INTEGER NOT NULL DEFAULT 0,
	updated_at       INTEGER NOT NULL,
	-- Why a running job is paused (the directory could not be reached), shown on its page; empty
	-- while it runs normally.
	paused_reason    TEXT    NOT NULL DEFAULT '',
	-- What the admin should know about how the file was read (e.g. it was not UTF-8 and was read as
	-- Windows-1252), shown on the verify page; empty when nothing.
	notice           TEXT    NOT NULL DEFAULT '',
	-- The job this one undoes ("undo this update"); empty for a job planned from a file.
	undo_of          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX bulk_jobs_by_created ON bulk_jobs (created_at);
CREATE INDEX bulk_jobs_runnable ON bulk_jobs (queued_at) WHERE status IN ('queued', 'running');

-- The runner finds a job's next rows by their position (after the last row it applied), not by an
-- index of the rows still pending: that would cost a write for every planned row and another for
-- every applied one, a million of each in a large job.
CREATE TABLE bulk_rows (
	job_id     TEXT    NOT NULL REFERENCES bulk_jobs (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	line       INTEGER NOT NULL,
	username   TEXT    NOT NULL,
	from_state TEXT    NOT NULL,
	to_state   TEXT    NOT NULL,
	action     TEXT    NOT NULL,
	error      TEXT    NOT NULL,
	warnings   TEXT    NOT NULL, -- joined with \x1f
	outcome    TEXT    NOT NULL DEFAULT '',
	message    TEXT    NOT NULL DEFAULT '',
	-- The user the row was planned against (users.id; 0 if none): the job finds the user by id,
	-- without a look-up by name, as long as the user still has the row's user name.
	user_id    INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;
-- Rows with problems, for the preview and the errors file.
CREATE INDEX bulk_rows_problems ON bulk_rows (job_id, seq) WHERE error <> '' OR warnings <> '';
CREATE INDEX bulk_rows_errors   ON bulk_rows (job_id, seq) WHERE action = 'error';

-------------------------------------------------------------------------------------------------
-- Several processes on one store (SPEC §12).
-------------------------------------------------------------------------------------------------

-- Leases (mfa.LeaseStore): which process runs the bulk jobs and the Graph sync. epoch grows with
-- every take-over.
CREATE TABLE leases (
	name       TEXT    NOT NULL PRIMARY KEY,
	holder     TEXT    NOT NULL,
	epoch      INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);

-- Quick steps' one-time confirmation ids and their results (mfa.StepResultStore), in the store so
-- that replicas agree: an id is claimed once across all of them. at is the claim, then the finish;
-- result is the page's encoding of what the step did, rows its size.
CREATE TABLE step_results (
	op      TEXT    NOT NULL PRIMARY KEY,
	account TEXT    NOT NULL,
	at      INTEGER NOT NULL,
	done    INTEGER NOT NULL DEFAULT 0,
	result  BLOB,
	rows    INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX step_results_by_at ON step_results (at);

-- Requests for work a lease holder does (mfa.WorkRequestStore): "sync now" asked on any replica,
-- polled by the one that syncs.
CREATE TABLE work_requests (
	name         TEXT    NOT NULL PRIMARY KEY,
	requested_at INTEGER NOT NULL
);
