package sqlite

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

const userColumns = `u.id, u.upn, u.display_name, u.account_enabled, u.privileged, u.state, u.methods,
	u.app_passwords, u.remembered_not_before, u.reenabled_with_methods, u.state_read_at, u.version, u.sort_key, u.enabled_at`

// row is a scanned user with its sort key, for cursors.
type row struct {
	user    *mfa.User
	sortKey string
	id      int64
}

func scanUser(sc interface{ Scan(...any) error }) (row, error) {
	var (
		u                     mfa.User
		id                    int64
		enabled, priv, reenab int
		state, methods, sk    string
		notBefore, readAt     int64
		enabledAt             int64
	)
	if err := sc.Scan(&id, &u.UPN, &u.DisplayName, &enabled, &priv, &state, &methods,
		&u.AppPasswords, &notBefore, &reenab, &readAt, &u.Version, &sk, &enabledAt); err != nil {
		return row{}, err
	}
	u.ID = strconv.FormatInt(id, 10)
	u.AccountEnabled, u.Privileged, u.HadMethodsWhenReenabled = enabled == 1, priv == 1, reenab == 1
	u.State = mfa.State(state)
	u.Methods, _ = mfa.ParseMethodList(methods) // written by this package from valid types
	u.RememberedDevicesNotBefore = fromMillis(notBefore)
	u.StateReadAt = fromMillis(readAt)
	u.EnabledAt = fromMillis(enabledAt)
	return row{user: &u, sortKey: sk, id: id}, nil
}

// FindUser returns the user with the given UPN, case-insensitively.
func (d *DB) FindUser(ctx context.Context, upn string) (*mfa.User, error) {
	r, err := scanUser(d.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return r.user, err
}

// cursor is the keyset position of a row: its sort key and id.
type cursor struct {
	SortKey string `json:"k"`
	ID      int64  `json:"i"`
}

func encodeCursor(r row) string {
	b, _ := json.Marshal(cursor{r.sortKey, r.id})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s string) (cursor, error) {
	var c cursor
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil && len(b) < 2048 {
		err = json.Unmarshal(b, &c)
	} else if err == nil {
		err = errors.New("too long")
	}
	if err != nil || c.ID <= 0 {
		return cursor{}, mfa.FieldErrorf("cursor", "the page cursor is not valid: start again from the first page")
	}
	return c, nil
}

const maxPrefixRune = "\U0010FFFF"

// FindUsers returns a page of users in display-name order by keyset, and the total count.
//
// Without a search the total is read from user_counts and the page from the users index that
// matches the filters. A search of one or two characters pages over the partial index
// user_terms_by_prefix1 (2), which holds each matching user once, in display-name order. A longer
// search takes the range of its terms in user_terms (one row per user: lcp < length) and sorts the
// matches after the cursor, keeping only the page. The total of a search of up to four characters
// is read from prefix_counts; a longer one's is counted over its range. A status filter reads each
// candidate's state from users_by_enabled_state_name, by its whole key. In every case the page's users are then read by id, so no
// request scans or sorts the directory.
func (d *DB) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	fq, err := findUsersQuery(f)
	if err != nil {
		return nil, err
	}
	page := &mfa.UserPage{}
	if err := d.db.QueryRowContext(ctx, fq.count, fq.countArgs...).Scan(&page.Total); err != nil {
		return nil, err
	}
	if page.Total == 0 {
		return page, nil
	}
	backwards := fq.backwards
	rows, err := d.db.QueryContext(ctx, fq.page, fq.pageArgs...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var got []row
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		got = append(got, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	more := len(got) > f.Limit
	if more {
		got = got[:f.Limit]
	}
	if backwards {
		slices.Reverse(got)
	}
	for _, r := range got {
		page.Users = append(page.Users, r.user)
	}
	if len(got) > 0 {
		first, last := got[0], got[len(got)-1]
		if backwards {
			page.NextCursor = encodeCursor(last)
			if more {
				page.PrevCursor = encodeCursor(first)
			}
		} else {
			if more {
				page.NextCursor = encodeCursor(last)
			}
			if f.After != "" {
				page.PrevCursor = encodeCursor(first)
			}
		}
	}
	return page, nil
}

// findQuery is the SQL of a FindUsers call: the total's query and the page's.
type findQuery struct {
	count     string
	countArgs []any
	page      string
	pageArgs  []any
	backwards bool
}

// countedPrefix is the longest search whose total is read from prefix_counts (migration 008).
const countedPrefix = 4

// findUsersQuery builds the queries of FindUsers (on its own, so that a test can check their plans).
func findUsersQuery(f mfa.UserFilter) (findQuery, error) {
	term := mfa.Fold(f.Query)
	n := utf8.RuneCountInString(term)
	short := utf8.ValidString(term) // substr counts characters only in valid text
	var (
		src     string // the table (and index) the keys come from, aliased t
		where   []string
		args    []any
		keyCols = [2]string{"t.sort_key", "t.id"}
	)
	switch {
	case term == "":
		src = "users t"
	case n <= 2 && short:
		src = fmt.Sprintf("user_terms t INDEXED BY user_terms_by_prefix%d", n)
		where = append(where, fmt.Sprintf("substr(t.term, 1, %d) = ? AND t.lcp < %d", n, n))
		args = append(args, term)
		keyCols[1] = "t.user_id"
	default:
		src = "user_terms t"
		where = append(where, "t.term >= ? AND t.term < ? AND t.lcp < ?")
		args = append(args, term, term+maxPrefixRune, n)
		keyCols[1] = "t.user_id"
	}
	var viewWhere []string
	var viewArgs []any
	if f.View == mfa.ViewAllowed || f.View == mfa.ViewBlocked {
		viewWhere = append(viewWhere, "t.account_enabled = ?")
		viewArgs = append(viewArgs, boolInt(f.View == mfa.ViewAllowed))
	}
	if f.Status != mfa.StatusAny {
		if term == "" {
			viewWhere = append(viewWhere, "t.state = ?")
		} else {
			// The terms do not hold the state (a state change would rewrite them): each match
			// is looked up in users' index by state, by its whole key (the term row holds the
			// account state, sort key and id), in the terms' order.
			src += " CROSS JOIN users s INDEXED BY users_by_enabled_state_name" +
				" ON s.account_enabled = t.account_enabled AND s.sort_key = t.sort_key AND s.id = t.user_id"
			viewWhere = append(viewWhere, "s.state = ?")
		}
		viewArgs = append(viewArgs, string(f.Status))
	}
	where, args = append(where, viewWhere...), append(args, viewArgs...)

	var fq findQuery
	switch {
	case term == "":
		fq.count = "SELECT COALESCE(SUM(n), 0) FROM user_counts t"
		fq.countArgs = slices.Clone(viewArgs)
		if len(viewWhere) > 0 {
			fq.count += " WHERE " + strings.Join(viewWhere, " AND ")
		}
	case n <= countedPrefix && short:
		cw := []string{"t.prefix = ?"}
		fq.countArgs = []any{term}
		if f.View == mfa.ViewAllowed || f.View == mfa.ViewBlocked {
			cw, fq.countArgs = append(cw, "t.account_enabled = ?"), append(fq.countArgs, boolInt(f.View == mfa.ViewAllowed))
		}
		if f.Status != mfa.StatusAny {
			cw, fq.countArgs = append(cw, "t.state = ?"), append(fq.countArgs, string(f.Status))
		}
		fq.count = "SELECT COALESCE(SUM(n), 0) FROM prefix_counts t WHERE " + strings.Join(cw, " AND ")
	default:
		fq.count = "SELECT COUNT(*) FROM " + src + " WHERE " + strings.Join(where, " AND ")
		fq.countArgs = slices.Clone(args)
	}

	desc := ""
	fq.backwards = f.Before != ""
	if fq.backwards {
		desc = " DESC"
	}
	if f.After != "" || f.Before != "" {
		key, err := decodeCursor(f.After + f.Before)
		if err != nil {
			return findQuery{}, err
		}
		cmp := ">"
		if fq.backwards {
			cmp = "<"
		}
		where = append(where, "("+keyCols[0]+", "+keyCols[1]+") "+cmp+" (?, ?)")
		args = append(args, key.SortKey, key.ID)
	}
	// The keys of the page (index-only, but for a status filter on a search), then its users by id.
	keys := "SELECT " + keyCols[0] + " AS k, " + keyCols[1] + " AS i FROM " + src
	if len(where) > 0 {
		keys += " WHERE " + strings.Join(where, " AND ")
	}
	keys += " ORDER BY " + keyCols[0] + desc + ", " + keyCols[1] + desc + " LIMIT ?"
	fq.pageArgs = append(args, f.Limit+1)
	if term == "" && f.View == mfa.ViewAll && f.Status != mfa.StatusAny {
		// users has one index by state, which starts with the account state: the page of all
		// users in one state merges the page of each half (migration 009).
		arm := strings.Replace(keys, "WHERE ", "WHERE t.account_enabled = %d AND ", 1)
		keys = "SELECT k, i FROM (" + fmt.Sprintf(arm, 0) + ") UNION ALL SELECT k, i FROM (" + fmt.Sprintf(arm, 1) + ")" +
			" ORDER BY k" + desc + ", i" + desc + " LIMIT ?"
		fq.pageArgs = slices.Concat(fq.pageArgs, fq.pageArgs, []any{f.Limit + 1})
	}
	fq.page = "SELECT " + userColumns + " FROM (" + keys + ") m CROSS JOIN users u ON u.id = m.i ORDER BY m.k" + desc + ", m.i" + desc
	return fq, nil
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
	_, err := tx.ExecContext(ctx, `UPDATE users SET upn = ?, upn_key = ?, display_name = ?, sort_key = ?,
		account_enabled = ?, privileged = ?, state = ?, methods = ?, app_passwords = ?, remembered_not_before = ?,
		reenabled_with_methods = ?, state_read_at = ?, enabled_at = ?, version = version + 1 WHERE id = ?`,
		u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, sortKey,
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods),
		u.AppPasswords, toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(u.StateReadAt),
		toMillis(u.EnabledAt), id)
	if err != nil {
		return err
	}
	for _, t := range terms {
		if _, err := tx.ExecContext(ctx, insertTerm, t.term, id, t.lcp, sortKey, boolInt(u.AccountEnabled)); err != nil {
			return err
		}
	}
	return nil
}

const insertTerm = "INSERT OR IGNORE INTO user_terms (term, user_id, lcp, sort_key, account_enabled) VALUES (?, ?, ?, ?, ?)"

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
		privileged, state, methods, app_passwords, remembered_not_before, reenabled_with_methods, state_read_at, enabled_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
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
	res, err := in.user.ExecContext(ctx, u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, sortKey,
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods), u.AppPasswords,
		toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(now), toMillis(enabledAt))
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
		if _, err := in.term.ExecContext(ctx, t.term, id, t.lcp, sortKey, boolInt(u.AccountEnabled)); err != nil {
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
