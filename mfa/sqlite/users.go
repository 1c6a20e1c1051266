package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

const userColumns = `u.id, u.upn, u.display_name, u.account_enabled, u.privileged, u.state, u.methods,
	u.app_passwords, u.remembered_not_before, u.reenabled_with_methods, u.state_read_at, u.version, u.sort_key, u.enabled_at,
	u.upn_key, u.ca_status, u.ca_policies, u.security_defaults`

// row is a scanned user with its sort keys, for cursors.
type row struct {
	user    *mfa.User
	sortKey string
	upnKey  string
	id      int64
}

func scanUser(sc interface{ Scan(...any) error }) (row, error) {
	var (
		u                     mfa.User
		id                    int64
		enabled, priv, reenab int
		state, methods, sk, k string
		notBefore, readAt     int64
		enabledAt             int64
		caStatus, caPolicies  string
		secDefaults           int
	)
	if err := sc.Scan(&id, &u.UPN, &u.DisplayName, &enabled, &priv, &state, &methods,
		&u.AppPasswords, &notBefore, &reenab, &readAt, &u.Version, &sk, &enabledAt, &k,
		&caStatus, &caPolicies, &secDefaults); err != nil {
		return row{}, err
	}
	u.Coverage = decodeCoverage(caStatus, caPolicies, secDefaults)
	u.ID = strconv.FormatInt(id, 10)
	u.AccountEnabled, u.Privileged, u.HadMethodsWhenReenabled = enabled == 1, priv == 1, reenab == 1
	u.State = mfa.State(state)
	u.Methods, _ = mfa.ParseMethodList(methods) // written by this package from valid types
	u.RememberedDevicesNotBefore = fromMillis(notBefore)
	u.StateReadAt = fromMillis(readAt)
	u.EnabledAt = fromMillis(enabledAt)
	return row{user: &u, sortKey: sk, upnKey: k, id: id}, nil
}

// FindUser returns the user with the given UPN, case-insensitively.
func (d *DB) FindUser(ctx context.Context, upn string) (*mfa.User, error) {
	r, err := scanUser(d.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return r.user, err
}

// ImportUsers creates or updates users in one transaction.
func (d *DB) ImportUsers(ctx context.Context, users []mfa.ImportUser, cols mfa.ImportColumns, now time.Time, record mfa.ImportRecorder) (mfa.ImportResult, error) {
	var res mfa.ImportResult
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := newInserter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		audit, err := d.newAuditWriter(tx)
		if err != nil {
			return err
		}
		defer audit.close()
		recordImport := func(before, after *mfa.User) error {
			if record == nil {
				return nil
			}
			if rec := record(before, after); rec != nil {
				return audit.append(ctx, rec)
			}
			return nil
		}
		for _, iu := range users {
			u := iu.User
			existing, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(u.UPN)))
			if errors.Is(err, sql.ErrNoRows) {
				if err := ins.insert(ctx, &u, now); err != nil {
					return fmt.Errorf("line %d: %w", iu.Line, err)
				}
				if err := recordImport(nil, &u); err != nil {
					return err
				}
				res.Created++
				continue
			}
			if err != nil {
				return err
			}
			e := existing.user
			before := *e
			e.UPN, e.DisplayName = u.UPN, u.DisplayName
			if cols.State && e.State != u.State {
				e.State, e.StateReadAt = u.State, now
			}
			if cols.AccountEnabled {
				e.AccountEnabled = u.AccountEnabled
			}
			if cols.Admin {
				e.Privileged = u.Privileged
			}
			if cols.Methods {
				e.Methods = u.Methods
			}
			e.EnabledAt = mfa.EnabledSince(&before, e, now)
			if err := updateUser(ctx, tx, existing.id, e); err != nil {
				return err
			}
			if err := recordImport(&before, e); err != nil {
				return err
			}
			res.Updated++
		}
		return nil
	})
	if err != nil {
		return mfa.ImportResult{}, err
	}
	return res, nil
}

// updateUser rewrites a user's row and search terms and bumps its version.
func updateUser(ctx context.Context, tx *sql.Tx, id int64, u *mfa.User) error {
	// The old terms go first, so that the trigger that copies the filter columns to them has none.
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_terms WHERE user_id = ?", id); err != nil {
		return err
	}
	sortKey, terms := termRows(u)
	caStatus, caPolicies := encodeCoverage(u.Coverage)
	_, err := tx.ExecContext(ctx, `UPDATE users SET upn = ?, upn_key = ?, display_name = ?, sort_key = ?,
		account_enabled = ?, privileged = ?, state = ?, methods = ?, app_passwords = ?, remembered_not_before = ?,
		reenabled_with_methods = ?, state_read_at = ?, enabled_at = ?, methods_class = ?,
		ca_status = ?, ca_policies = ?, security_defaults = ?, ca_covered = ?, version = version + 1 WHERE id = ?`,
		u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, sortKey,
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods),
		u.AppPasswords, toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(u.StateReadAt),
		toMillis(u.EnabledAt), int(mfa.ClassifyMethods(u.Methods)),
		caStatus, caPolicies, boolInt(u.Coverage.SecurityDefaults), boolInt(u.Coverage.Covered()), id)
	if err != nil {
		return err
	}
	for _, t := range terms {
		if _, err := tx.ExecContext(ctx, insertTerm, termArgs(t, id, sortKey, u)...); err != nil {
			return err
		}
	}
	return nil
}

const insertTerm = `INSERT OR IGNORE INTO user_terms (term, user_id, lcp, sort_key, upn_key, account_enabled, privileged, methods_class, ca_covered)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`

// termArgs are the values of insertTerm for one of the user's terms: the user's sort keys and
// filter columns but the state, as users holds them (methods_class is computed there by SQL, the
// same as mfa.ClassifyMethods: TestMethodsClassMatchesSQL).
func termArgs(t termRow, id int64, sortKey string, u *mfa.User) []any {
	return []any{t.term, id, t.lcp, sortKey, mfa.NormalizeUPN(u.UPN), boolInt(u.AccountEnabled), boolInt(u.Privileged),
		int(mfa.ClassifyMethods(u.Methods)), boolInt(u.Coverage.Covered())}
}

// termRow is a search term of a user with its lcp: the number of characters it shares with the
// user's previous term in sorted (byte) order.
type termRow struct {
	term string
	lcp  int
}

// termRows returns the user's sort key (the folded display name, which mfa.SearchTerms returns
// first), and search terms sorted and without duplicates, with their lcp.
func termRows(u *mfa.User) (string, []termRow) {
	terms := mfa.SearchTerms(u.DisplayName, u.UPN)
	sortKey := terms[0]
	slices.Sort(terms)
	terms = slices.Compact(terms)
	out := make([]termRow, len(terms))
	for i, t := range terms {
		out[i].term = t
		if i > 0 {
			out[i].lcp = commonPrefixRunes(terms[i-1], t)
		}
	}
	return sortKey, out
}

func commonPrefixRunes(a, b string) int {
	n := 0
	for a != "" && b != "" {
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if ra != rb || sa != sb || a[:sa] != b[:sb] {
			break
		}
		a, b, n = a[sa:], b[sb:], n+1
	}
	return n
}

// inserter adds new users with prepared statements (the seeding hot path).
type inserter struct {
	user, term *sql.Stmt
}

func newInserter(ctx context.Context, tx *sql.Tx) (*inserter, error) {
	user, err := tx.PrepareContext(ctx, `INSERT INTO users (upn, upn_key, display_name, sort_key, account_enabled,
		privileged, state, methods, app_passwords, remembered_not_before, reenabled_with_methods, state_read_at, enabled_at, methods_class,
		ca_status, ca_policies, security_defaults, ca_covered, methods_read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	term, err := tx.PrepareContext(ctx, insertTerm)
	if err != nil {
		user.Close()
		return nil, err
	}
	return &inserter{user: user, term: term}, nil
}

func (in *inserter) close() { in.user.Close(); in.term.Close() }

func (in *inserter) insert(ctx context.Context, u *mfa.User, now time.Time) error {
	if u.State == "" {
		u.State = mfa.StateDisabled
	}
	sortKey, terms := termRows(u)
	// A new user is Enabled from now on, unless it says since when (the demo tenant does).
	enabledAt := u.EnabledAt
	if u.State != mfa.StateEnabled {
		enabledAt = time.Time{}
	} else if enabledAt.IsZero() {
		enabledAt = now
	}
	caStatus, caPolicies := encodeCoverage(u.Coverage)
	res, err := in.user.ExecContext(ctx, u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, sortKey,
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods), u.AppPasswords,
		toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(now), toMillis(enabledAt),
		int(mfa.ClassifyMethods(u.Methods)), caStatus, caPolicies, boolInt(u.Coverage.SecurityDefaults), boolInt(u.Coverage.Covered()),
		toMillis(now))
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "user %s already exists", u.UPN)
	}
	if err != nil {
		return err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	for _, t := range terms {
		if _, err := in.term.ExecContext(ctx, termArgs(t, id, sortKey, u)...); err != nil {
			return err
		}
	}
	return nil
}

// seedBatch is how many users SeedUsers inserts between progress reports (and commits, when the
// directory was not empty).
const seedBatch = 20000

// SeedUsers inserts users (for the demo tenant). progress, if not nil, is called after every
// 20,000 users and at the end.
//
// Into an empty directory the users are loaded in one transaction, with the secondary indexes of
// users and user_terms dropped first and rebuilt at the end by sorting: at a million users that takes
// under 60 % of the time of updating them row by row (docs/PERFORMANCE.md). It is all or nothing (an
// interrupted seed leaves the directory empty, never without its indexes), and the write-ahead log,
// which grows to the size of the directory meanwhile, is truncated afterwards. Into a directory that
// has users already, they are inserted in transactions of 20,000.
func (d *DB) SeedUsers(ctx context.Context, users iter.Seq[mfa.User], now time.Time, progress func(done int)) (int, error) {
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	next, stop := iter.Pull(users)
	defer stop()
	done := 0
	// insertSome inserts up to max users (all if max < 0), reporting progress; it answers false
	// when the users ran out.
	insertSome := func(tx *sql.Tx, max int) (bool, error) {
		ins, err := newInserter(ctx, tx)
		if err != nil {
			return false, err
		}
		defer ins.close()
		for n := 0; max < 0 || n < max; n++ {
			u, ok := next()
			if !ok {
				return false, nil
			}
			if err := ins.insert(ctx, &u, now); err != nil {
				return false, err
			}
			if done++; progress != nil && done%seedBatch == 0 {
				progress(done)
			}
		}
		return true, nil
	}
	finish := func() {
		if progress != nil && done%seedBatch != 0 {
			progress(done)
		}
	}

	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	var empty bool
	if err := tx.QueryRowContext(ctx, "SELECT NOT EXISTS (SELECT 1 FROM users)").Scan(&empty); err != nil {
		tx.Rollback()
		return 0, err
	}
	if empty {
		if err := bulkLoad(ctx, tx, func() error { _, err := insertSome(tx, -1); return err }); err != nil {
			tx.Rollback()
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		// Best effort: a checkpoint that cannot complete now leaves a larger log, nothing worse.
		conn.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
		finish()
		return done, nil
	}
	for {
		more, err := insertSome(tx, seedBatch)
		if err == nil {
			err = tx.Commit()
		} else {
			tx.Rollback()
		}
		if err != nil || !more {
			finish()
			return done, err
		}
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return done, err
		}
	}
}

// bulkLoad runs load with the secondary indexes of users and user_terms dropped, then rebuilds them
// from their stored definitions; all in tx.
func bulkLoad(ctx context.Context, tx *sql.Tx, load func() error) error {
	rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_schema
		WHERE type = 'index' AND tbl_name IN ('users', 'user_terms') AND sql IS NOT NULL ORDER BY name`)
	if err != nil {
		return err
	}
	var names, defs []string
	for rows.Next() {
		var name, def string
		if err := rows.Scan(&name, &def); err != nil {
			rows.Close()
			return err
		}
		names, defs = append(names, name), append(defs, def)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, name := range names {
		if _, err := tx.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return err
		}
	}
	if err := load(); err != nil {
		return err
	}
	for _, def := range defs {
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return err
		}
	}
	return nil
}

// CountUsers returns the number of users in the directory.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0) FROM user_counts").Scan(&n)
	return n, err
}
