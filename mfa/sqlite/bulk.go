package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

var (
	_ mfa.JobStore     = (*DB)(nil)
	_ mfa.UserLookup   = (*DB)(nil)
	_ mfa.PlanLookup   = (*DB)(nil)
	_ mfa.BatchUpdater = (*DB)(nil)
)

// FindUsersByUPN looks many users up at once, in chunks of 500 (SQLite's variable limit is far above).
func (d *DB) FindUsersByUPN(ctx context.Context, upns []string) (map[string]*mfa.User, error) {
	found, err := findRowsByUPN(ctx, d.db, upns)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*mfa.User, len(found))
	for k, r := range found {
		out[k] = r.user
	}
	return out, nil
}

// LookupForPlan reads what planning a bulk row needs of each user, 500 to a query: the columns it
// needs only, by the user-name index, scanned without copying (a million-row plan).
func (d *DB) LookupForPlan(ctx context.Context, keys []string) (map[string]mfa.PlanUser, error) {
	out := make(map[string]mfa.PlanUser, len(keys))
	index := make(map[string]string, len(keys)) // a key as returned → the caller's string
	for _, k := range keys {
		index[k] = k
	}
	err := queryIn(ctx, d.plan, "SELECT upn_key, id, state, privileged, methods <> '' FROM users WHERE upn_key IN (?)", keys,
		func(rows *sql.Rows) error {
			var key, state sql.RawBytes
			var id int64
			var u mfa.PlanUser
			if err := rows.Scan(&key, &id, &state, &u.Privileged, &u.HasMethods); err != nil {
				return err
			}
			if k, ok := index[string(key)]; ok {
				u.ID, u.State = strconv.FormatInt(id, 10), stateOf(state)
				out[k] = u
			}
			return nil
		})
	return out, err
}

// stateOf is the State spelled by b, without allocating for the three that exist.
func stateOf(b []byte) mfa.State {
	for _, s := range []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced} {
		if string(b) == string(s) {
			return s
		}
	}
	return mfa.State(b)
}

// inChunk is how many values one "IN (...)" look-up binds (SQLite's variable limit is far above).
const inChunk = 500

// queryIn runs query over vals inChunk at a time, its "IN (?)" widened to each chunk, and calls
// scan for every row.
func queryIn[T any](ctx context.Context, q querier, query string, vals []T, scan func(*sql.Rows) error) error {
	head, tail, ok := strings.Cut(query, "IN (?)")
	if !ok {
		return fmt.Errorf("queryIn: no IN (?) in %q", query)
	}
	args := make([]any, 0, inChunk)
	for len(vals) > 0 {
		n := min(inChunk, len(vals))
		args = args[:0]
		for _, v := range vals[:n] {
			args = append(args, v)
		}
		vals = vals[n:]
		rows, err := q.QueryContext(ctx, head+"IN (?"+strings.Repeat(",?", n-1)+")"+tail, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := scan(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// findRowsByUPN reads users by UPN, 500 to a query, keyed by mfa.NormalizeUPN.
func findRowsByUPN(ctx context.Context, q querier, upns []string) (map[string]row, error) {
	out := make(map[string]row, len(upns))
	keys := make([]string, len(upns))
	for i, u := range upns {
		keys[i] = mfa.NormalizeUPN(u)
	}
	err := queryIn(ctx, q, "SELECT "+userColumns+" FROM users u WHERE u.upn_key IN (?)", keys, func(rows *sql.Rows) error {
		r, err := scanUser(rows)
		if err == nil {
			out[mfa.NormalizeUPN(r.user.UPN)] = r
		}
		return err
	})
	return out, err
}

// findRowsByID reads users by id, 500 to a query.
func findRowsByID(ctx context.Context, q querier, ids []int64) (map[int64]row, error) {
	out := make(map[int64]row, len(ids))
	err := queryIn(ctx, q, "SELECT "+userColumns+" FROM users u WHERE u.id IN (?)", ids, func(rows *sql.Rows) error {
		r, err := scanUser(rows)
		if err == nil {
			out[r.id] = r
		}
		return err
	})
	return out, err
}

// findRefs reads the users of refs: by id where the ref has one and the user still has the ref's
// UPN, by UPN otherwise. A user named twice is one row (one *mfa.User) for both.
func findRefs(ctx context.Context, q querier, refs []mfa.UserRef) ([]*row, error) {
	var ids []int64
	for _, ref := range refs {
		if id, err := strconv.ParseInt(ref.ID, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	byID, err := findRowsByID(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*row, len(refs))
	var byName []string
	for i, ref := range refs {
		id, _ := strconv.ParseInt(ref.ID, 10, 64)
		if r, ok := byID[id]; ok && mfa.NormalizeUPN(r.user.UPN) == mfa.NormalizeUPN(ref.UPN) {
			out[i] = &r
		} else {
			byName = append(byName, ref.UPN)
		}
	}
	if len(byName) > 0 {
		byUPN, err := findRowsByUPN(ctx, q, byName)
		if err != nil {
			return nil, err
		}
		for i, ref := range refs {
			if r, ok := byUPN[mfa.NormalizeUPN(ref.UPN)]; out[i] == nil && ok {
				out[i] = &r
			}
		}
	}
	// One *mfa.User per user, so that a later ref sees an earlier one's change.
	seen := map[int64]*row{}
	for i, r := range out {
		if r == nil {
			continue
		}
		if first, ok := seen[r.id]; ok {
			out[i] = first
		} else {
			seen[r.id] = r
		}
	}
	return out, nil
}

// UpdateUsers changes many users in one immediate transaction; each user's fn error is its own.
// The users are read 500 to a query (by id where the ref has one) and statements are prepared once
// for the batch: this is bulk update's hot path.
func (d *DB) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(i int, u *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	users := make([]*mfa.User, len(refs))
	errs := make([]error, len(refs))
	err := d.inTxOn(ctx, d.bulk, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		found, err := findRefs(ctx, tx, refs)
		if err != nil {
			return err
		}
		w := &userWriter{tx: tx, batch: true}
		defer w.close()
		audit, err := d.newAuditWriter(tx)
		if err != nil {
			return err
		}
		audit.batch = true
		defer audit.close()
		for i, ref := range refs {
			r := found[i]
			if r == nil {
				errs[i] = mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", ref.UPN)
				continue
			}
			// r.user is shared by repeated UPNs, so that a later one sees the earlier change.
			before := *r.user
			rec, err := fn(i, r.user)
			if err != nil {
				errs[i] = err
				*r.user = before
				users[i] = &before
				continue
			}
			if rec != nil {
				if err := w.write(ctx, r.id, &before, r.user); err != nil {
					return err
				}
				if err := audit.append(ctx, rec); err != nil {
					return err
				}
				r.user.Version++
			}
			u := *r.user
			users[i] = &u
		}
		if err := audit.flush(ctx); err != nil {
			return err
		}
		return w.finish(ctx)
	})
	if err != nil {
		return nil, nil, err
	}
	return users, errs, nil
}

// userWriter stores changed users within a transaction. A change of state, methods (within their
// class: mfa.ClassifyMethods) or settings only (the common case, and bulk update's) is one narrow
// prepared UPDATE, which sets no column of an index but the state's; a change of name or filters
// (methods class included) rewrites the search terms too.
//
// A batch writer (bulk update) also takes the upkeep of user_counts and prefix_counts off the
// triggers for its transaction (counts_deferred): it adds up the changes of all its users and
// applies the sums in finish, which must run before the commit. One state change otherwise costs
// a dozen small writes to those tables.
//
// A batch writer also holds its narrow writes back and stores them 100 to a statement (an UPDATE
// from a list of VALUES) when it has 100, before a full write of the same user, and in finish: one
// statement a user cost about as much as the write itself. Nothing reads users in between: a batch
// reads all its users first.
type userWriter struct {
	tx     *sql.Tx
	narrow *sql.Stmt
	batch  bool

	deferred bool
	users    map[countKey]int
	moves    map[countMove]map[string]int // per move of class, how many users moved under each prefix
	long     map[string][]string          // the long prefixes counted (long_prefixes), by their first five characters

	held     []any // narrowColumns values a held write, in order
	heldIDs  map[int64]bool
	heldStmt *sql.Stmt // for a full set of narrowPerUpdate writes
}

// narrowColumns are the values of a narrow write: id, then the columns it sets.
const narrowColumns = 9

// narrowPerUpdate is how many held narrow writes one statement stores.
const narrowPerUpdate = 100

// heldUpdateSQL stores n held narrow writes; version is set, not incremented, as the writer knows it.
func heldUpdateSQL(n int) string {
	return `UPDATE users SET state = v.column2, methods = v.column3, app_passwords = v.column4, remembered_not_before = v.column5,
		reenabled_with_methods = v.column6, state_read_at = v.column7, version = v.column8, enabled_at = v.column9
		FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",") + `) AS v WHERE users.id = v.column1`
}

// flushHeld stores the held narrow writes.
func (w *userWriter) flushHeld(ctx context.Context) error {
	for rest := w.held; len(rest) > 0; {
		n := min(narrowPerUpdate, len(rest)/narrowColumns)
		args := rest[:n*narrowColumns]
		rest = rest[n*narrowColumns:]
		var err error
		if n == narrowPerUpdate {
			if w.heldStmt == nil {
				if w.heldStmt, err = w.tx.PrepareContext(ctx, heldUpdateSQL(narrowPerUpdate)); err != nil {
					return err
				}
			}
			_, err = w.heldStmt.ExecContext(ctx, args...)
		} else {
			_, err = w.tx.ExecContext(ctx, heldUpdateSQL(n), args...)
		}
		if err != nil {
			return err
		}
	}
	w.held = w.held[:0]
	clear(w.heldIDs)
	return nil
}

// countKey is a user's class as user_counts and prefix_counts count it (listDims).
type countKey struct {
	enabled    bool
	privileged bool
	methods    mfa.MethodsClass
	covered    bool
	state      mfa.State
}

func countKeyOf(u *mfa.User) countKey {
	return countKey{u.AccountEnabled, u.Privileged, mfa.ClassifyMethods(u.Methods), u.Coverage.Covered(), u.State}
}

type prefixKey struct {
	prefix string
	countKey
}

// countMove is a user's move from one class to another. A batch's users make few distinct moves
// (a bulk update: a handful), so its prefix counts are added up per move and prefix, one map
// update per prefix of a user, and turned into prefix_counts' changes in finish.
type countMove struct{ from, to countKey }

func (w *userWriter) write(ctx context.Context, id int64, before, after *mfa.User) error {
	// Every change says when the user became Enabled: the time of a change of state is the time its
	// state was set (or read, from Graph).
	at := after.StateReadAt
	if at.IsZero() {
		at = time.Now()
	}
	after.EnabledAt = mfa.EnabledSince(before, after, at)
	if w.batch && !w.deferred {
		if _, err := w.tx.ExecContext(ctx, "UPDATE counts_deferred SET deferred = 1 WHERE id = 1"); err != nil {
			return err
		}
		w.deferred, w.users, w.moves = true, map[countKey]int{}, map[countMove]map[string]int{}
		// No other writer lists one before this transaction ends.
		var err error
		if w.long, err = readLongPrefixes(ctx, w.tx); err != nil {
			return err
		}
	}
	from, to := countKeyOf(before), countKeyOf(after)
	if before.UPN != after.UPN || before.DisplayName != after.DisplayName || before.AccountEnabled != after.AccountEnabled ||
		before.Privileged != after.Privileged || !sameCoverage(before.Coverage, after.Coverage) || from.methods != to.methods {
		// The search terms are rewritten, and their triggers count them (never deferred).
		if w.deferred && from != to {
			w.users[from]--
			w.users[to]++
		}
		if w.heldIDs[id] {
			if err := w.flushHeld(ctx); err != nil {
				return err
			}
		}
		return updateUser(ctx, w.tx, id, after)
	}
	if w.deferred && from != to {
		w.users[from]--
		w.users[to]++
		m := w.moves[countMove{from, to}]
		if m == nil {
			m = map[string]int{}
			w.moves[countMove{from, to}] = m
		}
		_, terms := termRows(after)
		for _, p := range countedPrefixes(terms, w.long) {
			m[p]++
		}
	}
	if w.batch {
		if w.heldIDs[id] {
			// The same user again: its first write goes first.
			if err := w.flushHeld(ctx); err != nil {
				return err
			}
		}
		if w.heldIDs == nil {
			w.heldIDs = map[int64]bool{}
		}
		w.heldIDs[id] = true
		w.held = append(w.held, id, string(after.State), mfa.FormatMethodList(after.Methods), after.AppPasswords,
			toMillis(after.RememberedDevicesNotBefore), boolInt(after.HadMethodsWhenReenabled), toMillis(after.StateReadAt), before.Version+1,
			toMillis(after.EnabledAt))
		if len(w.held) >= narrowPerUpdate*narrowColumns {
			return w.flushHeld(ctx)
		}
		return nil
	}
	if w.narrow == nil {
		var err error
		if w.narrow, err = w.tx.PrepareContext(ctx, `UPDATE users SET state = ?, methods = ?, app_passwords = ?, remembered_not_before = ?,
			reenabled_with_methods = ?, state_read_at = ?, enabled_at = ?, version = version + 1 WHERE id = ?`); err != nil {
			return err
		}
	}
	_, err := w.narrow.ExecContext(ctx, string(after.State), mfa.FormatMethodList(after.Methods), after.AppPasswords,
		toMillis(after.RememberedDevicesNotBefore), boolInt(after.HadMethodsWhenReenabled), toMillis(after.StateReadAt),
		toMillis(after.EnabledAt), id)
	return err
}

// finish applies the counts a batch writer added up and hands their upkeep back to the triggers.
func (w *userWriter) finish(ctx context.Context) error {
	if err := w.flushHeld(ctx); err != nil {
		return err
	}
	if !w.deferred {
		return nil
	}
	for _, k := range sortedKeys(w.users, func(a, b countKey) int { return compareCountKeys(a, b) }) {
		if d := w.users[k]; d != 0 {
			if _, err := w.tx.ExecContext(ctx, `INSERT INTO user_counts (account_enabled, privileged, methods_class, ca_covered, state, n) VALUES (?, ?, ?, ?, ?, ?)
				ON CONFLICT (account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + excluded.n`,
				boolInt(k.enabled), boolInt(k.privileged), int(k.methods), boolInt(k.covered), string(k.state), d); err != nil {
				return err
			}
		}
	}
	prefixes := map[prefixKey]int{}
	for mv, m := range w.moves {
		for p, n := range m {
			prefixes[prefixKey{p, mv.from}] -= n
			prefixes[prefixKey{p, mv.to}] += n
		}
	}
	up, err := w.tx.PrepareContext(ctx, `INSERT INTO prefix_counts (prefix, account_enabled, privileged, methods_class, ca_covered, state, n) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (prefix, account_enabled, privileged, methods_class, ca_covered, state) DO UPDATE SET n = n + excluded.n`)
	if err != nil {
		return err
	}
	defer up.Close()
	for _, k := range sortedKeys(prefixes, func(a, b prefixKey) int {
		if c := strings.Compare(a.prefix, b.prefix); c != 0 {
			return c
		}
		return compareCountKeys(a.countKey, b.countKey)
	}) {
		if d := prefixes[k]; d != 0 {
			if _, err := up.ExecContext(ctx, k.prefix, boolInt(k.enabled), boolInt(k.privileged), int(k.methods), boolInt(k.covered), string(k.state), d); err != nil {
				return err
			}
		}
	}
	_, err = w.tx.ExecContext(ctx, "UPDATE counts_deferred SET deferred = 0 WHERE id = 1")
	w.deferred = false
	return err
}

func compareCountKeys(a, b countKey) int {
	switch {
	case a.enabled != b.enabled:
		return boolInt(a.enabled) - boolInt(b.enabled)
	case a.privileged != b.privileged:
		return boolInt(a.privileged) - boolInt(b.privileged)
	case a.methods != b.methods:
		return int(a.methods) - int(b.methods)
	case a.covered != b.covered:
		return boolInt(a.covered) - boolInt(b.covered)
	}
	return strings.Compare(string(a.state), string(b.state))
}

// sortedKeys returns the keys of m in the order of cmp (prefix_counts is then written in key order).
func sortedKeys[K comparable](m map[K]int, cmp func(a, b K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}

// countedPrefixes returns the prefixes under which prefix_counts counts a user with these terms
// (sorted, with their lcp, as termRows returns them), long the long prefixes counted by their first
// five characters: what the triggers on user_terms compute.
func countedPrefixes(terms []termRow, long map[string][]string) []string {
	var out []string
	for _, t := range terms {
		for k := t.lcp + 1; k <= countedPrefix; k++ {
			if p, ok := firstRunes(t.term, k); ok {
				out = append(out, p)
			}
		}
		if head, ok := firstRunes(t.term, countedPrefix+1); ok {
			for _, p := range long[head] {
				if strings.HasPrefix(t.term, p) && utf8.RuneCountInString(p) > t.lcp {
					out = append(out, p)
				}
			}
		}
	}
	return out
}

// firstRunes returns the first k characters of s, false if s is shorter.
func firstRunes(s string, k int) (string, bool) {
	i := 0
	for n := 0; n < k; n++ {
		if i >= len(s) {
			return "", false
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], true
}

func (w *userWriter) close() {
	if w.narrow != nil {
		w.narrow.Close()
	}
	if w.heldStmt != nil {
		w.heldStmt.Close()
	}
}

// writeUser stores one changed user (see userWriter).
func writeUser(ctx context.Context, tx *sql.Tx, id int64, before, after *mfa.User) error {
	w := &userWriter{tx: tx}
	defer w.close()
	return w.write(ctx, id, before, after)
}

const jobColumns = `id, status, file_name, actor, actor_role, actor_method, client_ip, reason, n_enable, n_enforce, n_disable,
	n_unchanged, n_errors, total, done, changed, unchanged, failed, cancel_requested, created_at, started_at, finished_at, updated_at,
	paused_reason, notice, undo_of`

func scanJob(sc interface{ Scan(...any) error }) (*mfa.Job, error) {
	var j mfa.Job
	var status, role string
	var cancel int
	var created, started, finished, updated int64
	if err := sc.Scan(&j.ID, &status, &j.FileName, &j.Actor.Name, &role, &j.Actor.Method, &j.Actor.IP, &j.Reason,
		&j.Counts.Enable, &j.Counts.Enforce, &j.Counts.Disable, &j.Counts.Unchanged, &j.Counts.Errors, &j.Total, &j.Done,
		&j.Changed, &j.Unchanged, &j.Failed, &cancel, &created, &started, &finished, &updated, &j.PausedReason, &j.Notice, &j.UndoOf); err != nil {
		return nil, err
	}
	j.Status, j.Actor.Role, j.CancelRequested = mfa.JobStatus(status), mfa.Role(role), cancel == 1
	j.CreatedAt, j.StartedAt, j.FinishedAt, j.UpdatedAt = fromMillis(created), fromMillis(started), fromMillis(finished), fromMillis(updated)
	return &j, nil
}

// planRowsPerInsert is how many plan rows one INSERT statement stores: a million-row plan is then
// 10,000 statements, not a million.
const planRowsPerInsert = 100

// CreateJob stores a planned job and its rows in one transaction.
func (d *DB) CreateJob(ctx context.Context, j *mfa.Job, write func(add func([]mfa.BulkRow) error) error) error {
	defer func() { // the plan's look-ups are done: their caches go (planPool)
		d.plan.SetMaxIdleConns(0)
		d.plan.SetMaxIdleConns(2)
	}()
	return d.inTx(ctx, func(tx *sql.Tx) error {
		insertSQL := func(n int) string {
			return `INSERT INTO bulk_rows (job_id, seq, line, username, from_state, to_state, action, error, warnings, user_id) VALUES ` +
				strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?),", n), ",")
		}
		full, err := tx.PrepareContext(ctx, insertSQL(planRowsPerInsert))
		if err != nil {
			return err
		}
		defer full.Close()
		// The job row first (rows reference it), its counts once the plan is complete.
		if _, err := tx.ExecContext(ctx, `INSERT INTO bulk_jobs (id, status, file_name, actor, actor_role, actor_method, client_ip,
			reason, n_enable, n_enforce, n_disable, n_unchanged, n_errors, total, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, 0, 0, ?, ?)`,
			j.ID, string(j.Status), j.FileName, j.Actor.Name, string(j.Actor.Role), j.Actor.Method, j.Actor.IP, j.Reason,
			toMillis(j.CreatedAt), toMillis(j.UpdatedAt)); err != nil {
			return err
		}
		args := make([]any, 0, 10*planRowsPerInsert)
		err = write(func(rows []mfa.BulkRow) error {
			for len(rows) > 0 {
				n := min(planRowsPerInsert, len(rows))
				args = args[:0]
				for _, r := range rows[:n] {
					args = append(args, j.ID, r.Seq, r.Line, r.Username, string(r.From), string(r.To), string(r.Action),
						r.Error, encodeWarnings(r.Warnings), parseID(r.UserID))
				}
				rows = rows[n:]
				var err error
				if n == planRowsPerInsert {
					_, err = full.ExecContext(ctx, args...)
				} else {
					_, err = tx.ExecContext(ctx, insertSQL(n), args...)
				}
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		c := j.Counts
		_, err = tx.ExecContext(ctx, `UPDATE bulk_jobs SET n_enable = ?, n_enforce = ?, n_disable = ?, n_unchanged = ?, n_errors = ?,
			total = ?, notice = ?, undo_of = ? WHERE id = ?`, c.Enable, c.Enforce, c.Disable, c.Unchanged, c.Errors, j.Total, j.Notice, j.UndoOf, j.ID)
		return err
	})
}

// FindJob returns a job by id.
func (d *DB) FindJob(ctx context.Context, id string) (*mfa.Job, error) {
	j, err := scanJob(d.db.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM bulk_jobs WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no bulk update %q", id)
	}
	return j, err
}

// ListJobs returns the newest jobs first.
func (d *DB) ListJobs(ctx context.Context, limit int) ([]*mfa.Job, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+jobColumns+" FROM bulk_jobs ORDER BY created_at DESC LIMIT ?", limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*mfa.Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

const rowColumns = "seq, line, username, from_state, to_state, action, error, warnings, outcome, message, user_id"

// encodeWarnings joins a row's warnings with \x1f, each of mfa.PlanWarnings as \x01 and its index
// (one byte): most rows of a large plan carry the same two or three.
func encodeWarnings(ws []string) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(0x1f)
		}
		if k := slices.Index(mfa.PlanWarnings, w); k >= 0 && k < 0x1f {
			b.WriteByte(0x01)
			b.WriteByte(byte('0' + k))
		} else {
			b.WriteString(w)
		}
	}
	return b.String()
}

// decodeWarnings is the inverse of encodeWarnings.
func decodeWarnings(s string) []string {
	if s == "" {
		return nil
	}
	ws := strings.Split(s, "\x1f")
	for i, w := range ws {
		if len(w) == 2 && w[0] == 0x01 {
			if k := int(w[1] - '0'); k >= 0 && k < len(mfa.PlanWarnings) {
				ws[i] = mfa.PlanWarnings[k]
			}
		}
	}
	return ws
}

// parseID is a user's id in users, 0 if id is not one.
func parseID(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func (d *DB) queryRows(ctx context.Context, q string, args ...any) ([]mfa.BulkRow, error) {
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.BulkRow
	for rows.Next() {
		var r mfa.BulkRow
		var from, to, action, warnings, outcome string
		var userID int64
		if err := rows.Scan(&r.Seq, &r.Line, &r.Username, &from, &to, &action, &r.Error, &warnings, &outcome, &r.Message, &userID); err != nil {
			return nil, err
		}
		if userID > 0 {
			r.UserID = strconv.FormatInt(userID, 10)
		}
		r.From, r.To, r.Action, r.Outcome = mfa.State(from), mfa.State(to), mfa.RowAction(action), mfa.Outcome(outcome)
		r.Warnings = decodeWarnings(warnings)
		out = append(out, r)
	}
	return out, rows.Err()
}

// JobRows returns rows in seq order after f.AfterSeq, by the index that fits the filter.
func (d *DB) JobRows(ctx context.Context, id string, f mfa.RowFilter) ([]mfa.BulkRow, error) {
	cond := ""
	switch {
	case f.Errors:
		cond = " AND action = 'error'"
	case f.Problems:
		cond = " AND (error <> '' OR warnings <> '')"
	}
	return d.queryRows(ctx, "SELECT "+rowColumns+" FROM bulk_rows WHERE job_id = ? AND seq > ?"+cond+" ORDER BY seq LIMIT ?", id, f.AfterSeq, f.Limit)
}

// pendingRowsQuery walks the job's rows from a position along the primary key (no index of
// pending rows: see bulk_rows in migrations/100_baseline.sql).
const pendingRowsQuery = "SELECT " + rowColumns + ` FROM bulk_rows
	WHERE job_id = ? AND seq > ? AND outcome = '' AND action IN ('enable', 'enforce', 'disable') ORDER BY seq LIMIT ?`

// PendingRows returns applicable rows without an outcome after afterSeq.
func (d *DB) PendingRows(ctx context.Context, id string, afterSeq int64, limit int) ([]mfa.BulkRow, error) {
	return d.queryRows(ctx, pendingRowsQuery, id, afterSeq, limit)
}

// RecordOutcomes stores outcomes and advances the counters in one transaction. Rows with the same
// outcome and message (in a bulk update, most of a batch) are stored by one statement for up to 500
// of them.
func (d *DB) RecordOutcomes(ctx context.Context, id string, rows []mfa.BulkRow, at time.Time) error {
	type group struct {
		outcome mfa.Outcome
		message string
	}
	var order []group
	seqs := map[group][]any{}
	for _, r := range rows {
		if r.Outcome == "" {
			continue
		}
		g := group{r.Outcome, r.Message}
		if _, ok := seqs[g]; !ok {
			order = append(order, g)
		}
		seqs[g] = append(seqs[g], r.Seq)
	}
	return d.inTxOn(ctx, d.bulk, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		var done, changed, unchanged, failed int64
		for _, g := range order {
			all := seqs[g]
			for len(all) > 0 {
				n := min(inChunk, len(all))
				args := append([]any{string(g.outcome), g.message, id}, all[:n]...)
				all = all[n:]
				// outcome = '': a row recorded already (before a restart) is not counted twice.
				res, err := tx.ExecContext(ctx, "UPDATE bulk_rows SET outcome = ?, message = ? WHERE job_id = ? AND seq IN (?"+
					strings.Repeat(",?", n-1)+") AND outcome = ''", args...)
				if err != nil {
					return err
				}
				k, _ := res.RowsAffected()
				done += k
				switch g.outcome {
				case mfa.OutcomeChanged:
					changed += k
				case mfa.OutcomeUnchanged:
					unchanged += k
				default:
					failed += k
				}
			}
		}
		_, err := tx.ExecContext(ctx, `UPDATE bulk_jobs SET done = done + ?, changed = changed + ?, unchanged = unchanged + ?,
			failed = failed + ?, updated_at = ? WHERE id = ?`, done, changed, unchanged, failed, toMillis(at), id)
		return err
	})
}

// SetJobStatus moves a job between statuses.
func (d *DB) SetJobStatus(ctx context.Context, id string, from []mfa.JobStatus, to mfa.JobStatus, at time.Time) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		var cur string
		if err := tx.QueryRowContext(ctx, "SELECT status FROM bulk_jobs WHERE id = ?", id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
			return mfa.Errorf(mfa.ENOTFOUND, "no bulk update %q", id)
		} else if err != nil {
			return err
		}
		ok := false
		for _, f := range from {
			ok = ok || string(f) == cur
		}
		if !ok {
			return mfa.Errorf(mfa.ECONFLICT, "this bulk update is %s, not %s", cur, from[0])
		}
		ms := toMillis(at)
		var err error
		switch to {
		case mfa.JobQueued:
			_, err = tx.ExecContext(ctx, "UPDATE bulk_jobs SET status = ?, updated_at = ?, queued_at = ? WHERE id = ?", string(to), ms, ms, id)
		case mfa.JobRunning:
			_, err = tx.ExecContext(ctx, "UPDATE bulk_jobs SET status = ?, updated_at = ?, started_at = CASE started_at WHEN 0 THEN ? ELSE started_at END WHERE id = ?", string(to), ms, ms, id)
		case mfa.JobDone, mfa.JobCancelled:
			_, err = tx.ExecContext(ctx, "UPDATE bulk_jobs SET status = ?, updated_at = ?, finished_at = ? WHERE id = ?", string(to), ms, ms, id)
		default:
			_, err = tx.ExecContext(ctx, "UPDATE bulk_jobs SET status = ?, updated_at = ? WHERE id = ?", string(to), ms, id)
		}
		return err
	})
}

// SetJobPaused records why a running job waits.
func (d *DB) SetJobPaused(ctx context.Context, id, reason string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "UPDATE bulk_jobs SET paused_reason = ?, updated_at = ? WHERE id = ?", reason, toMillis(at), id)
	return err
}

// QueueJob queues a planned job with its reason.
func (d *DB) QueueJob(ctx context.Context, id, reason string, at time.Time) error {
	res, err := d.db.ExecContext(ctx, "UPDATE bulk_jobs SET status = 'queued', reason = ?, queued_at = ?, updated_at = ? WHERE id = ? AND status = 'planned'",
		reason, toMillis(at), toMillis(at), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := d.FindJob(ctx, id); err != nil {
			return err
		}
		return mfa.Errorf(mfa.ECONFLICT, "this bulk update was already started or cancelled")
	}
	return nil
}

// RequestCancel cancels a planned or queued job at once and marks a running one to stop.
func (d *DB) RequestCancel(ctx context.Context, id string, at time.Time) (*mfa.Job, error) {
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var cur string
		if err := tx.QueryRowContext(ctx, "SELECT status FROM bulk_jobs WHERE id = ?", id).Scan(&cur); errors.Is(err, sql.ErrNoRows) {
			return mfa.Errorf(mfa.ENOTFOUND, "no bulk update %q", id)
		} else if err != nil {
			return err
		}
		switch mfa.JobStatus(cur) {
		case mfa.JobPlanned, mfa.JobQueued:
			_, err := tx.ExecContext(ctx, "UPDATE bulk_jobs SET status = 'cancelled', cancel_requested = 1, finished_at = ?, updated_at = ? WHERE id = ?", toMillis(at), toMillis(at), id)
			return err
		case mfa.JobRunning:
			_, err := tx.ExecContext(ctx, "UPDATE bulk_jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?", toMillis(at), id)
			return err
		}
		return mfa.Errorf(mfa.ECONFLICT, "this bulk update has already ended (%s)", cur)
	})
	if err != nil {
		return nil, err
	}
	return d.FindJob(ctx, id)
}

// NextJob returns the oldest queued or running job.
func (d *DB) NextJob(ctx context.Context) (*mfa.Job, error) {
	j, err := scanJob(d.db.QueryRowContext(ctx, "SELECT "+jobColumns+" FROM bulk_jobs WHERE status IN ('queued', 'running') ORDER BY queued_at LIMIT 1"))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return j, err
}

// DeleteJob removes a planned job and its rows.
func (d *DB) DeleteJob(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM bulk_jobs WHERE id = ? AND status = 'planned'", id)
	return err
}
