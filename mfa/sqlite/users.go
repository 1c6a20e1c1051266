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
	"strings"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

const userColumns = `u.id, u.upn, u.display_name, u.account_enabled, u.privileged, u.state, u.methods,
	u.app_passwords, u.remembered_not_before, u.reenabled_with_methods, u.state_read_at, u.version, u.sort_key`

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
	)
	if err := sc.Scan(&id, &u.UPN, &u.DisplayName, &enabled, &priv, &state, &methods,
		&u.AppPasswords, &notBefore, &reenab, &readAt, &u.Version, &sk); err != nil {
		return row{}, err
	}
	u.ID = fmt.Sprint(id)
	u.AccountEnabled, u.Privileged, u.HadMethodsWhenReenabled = enabled == 1, priv == 1, reenab == 1
	u.State = mfa.State(state)
	u.Methods, _ = mfa.ParseMethodList(methods) // written by this package from valid types
	u.RememberedDevicesNotBefore = fromMillis(notBefore)
	u.StateReadAt = fromMillis(readAt)
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
// Without a search the total is read from user_counts and the page from the index that matches the
// filters, so the cost does not depend on the directory's size or on how deep the page is. With a
// search, matches are counted index-only in user_terms; then the cheaper of two plans fetches the
// page: when matches are dense, walk the display-name index and test each user's terms (about
// limit × users ÷ matches rows); when sparse, fetch the matches and sort them (about matches rows).
func (d *DB) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	var where []string
	var args []any
	if f.View == mfa.ViewAllowed || f.View == mfa.ViewBlocked {
		where = append(where, "account_enabled = ?")
		args = append(args, boolInt(f.View == mfa.ViewAllowed))
	}
	if f.Status != mfa.StatusAny {
		where = append(where, "state = ?")
		args = append(args, string(f.Status))
	}
	filter := func(prefix string) (string, []any) {
		parts := make([]string, len(where))
		for i, w := range where {
			parts[i] = prefix + w
		}
		return strings.Join(parts, " AND "), slices.Clone(args)
	}

	var inView int
	{
		cond, a := filter("")
		q := "SELECT COALESCE(SUM(n), 0) FROM user_counts"
		if cond != "" {
			q += " WHERE " + cond
		}
		if err := d.db.QueryRowContext(ctx, q, a...).Scan(&inView); err != nil {
			return nil, err
		}
	}

	page := &mfa.UserPage{Total: inView}
	term := mfa.Fold(f.Query)
	var from string
	var fromArgs []any
	cond, condArgs := filter("u.")
	if term == "" {
		from = "users u"
	} else {
		tcond, targs := filter("t.")
		countQ := "SELECT COUNT(DISTINCT t.user_id) FROM user_terms t WHERE t.term >= ? AND t.term < ?"
		targs = append([]any{term, term + maxPrefixRune}, targs...)
		if tcond != "" {
			countQ += " AND " + tcond
		}
		if err := d.db.QueryRowContext(ctx, countQ, targs...).Scan(&page.Total); err != nil {
			return nil, err
		}
		if page.Total == 0 {
			return page, nil
		}
		if page.Total*page.Total > (f.Limit+1)*inView { // dense: walk the name index
			from = "users u"
			if cond != "" {
				cond += " AND "
			}
			cond += "instr(u.search, ?) > 0"
			condArgs = append(condArgs, "\x1f"+term)
		} else { // sparse: fetch the matches, then sort them
			sub := "SELECT DISTINCT t.user_id FROM user_terms t WHERE t.term >= ? AND t.term < ?"
			if tc, _ := filter("t."); tc != "" {
				sub += " AND " + tc
			}
			from = "(" + sub + ") m CROSS JOIN users u ON u.id = m.user_id"
			fromArgs = targs
		}
	}

	order, cmp := "u.sort_key, u.id", ">"
	var key cursor
	backwards := f.Before != ""
	if f.After != "" || f.Before != "" {
		c, err := decodeCursor(f.After + f.Before)
		if err != nil {
			return nil, err
		}
		key = c
		if backwards {
			order, cmp = "u.sort_key DESC, u.id DESC", "<"
		}
		if cond != "" {
			cond += " AND "
		}
		cond += "(u.sort_key, u.id) " + cmp + " (?, ?)"
		condArgs = append(condArgs, key.SortKey, key.ID)
	}
	q := "SELECT " + userColumns + " FROM " + from
	if cond != "" {
		q += " WHERE " + cond
	}
	q += " ORDER BY " + order + " LIMIT ?"
	all := append(fromArgs, condArgs...)
	all = append(all, f.Limit+1)
	rows, err := d.db.QueryContext(ctx, q, all...)
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

// ImportUsers creates or updates users in one transaction.
func (d *DB) ImportUsers(ctx context.Context, users []mfa.ImportUser, cols mfa.ImportColumns, now time.Time) (mfa.ImportResult, error) {
	var res mfa.ImportResult
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := newInserter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		for _, iu := range users {
			u := iu.User
			existing, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(u.UPN)))
			if errors.Is(err, sql.ErrNoRows) {
				if err := ins.insert(ctx, &u, now); err != nil {
					return fmt.Errorf("line %d: %w", iu.Line, err)
				}
				res.Created++
				continue
			}
			if err != nil {
				return err
			}
			e := existing.user
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
			if err := updateUser(ctx, tx, existing.id, e); err != nil {
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
	terms := mfa.SearchTerms(u.DisplayName, u.UPN)
	_, err := tx.ExecContext(ctx, `UPDATE users SET upn = ?, upn_key = ?, display_name = ?, sort_key = ?, search = ?,
		account_enabled = ?, privileged = ?, state = ?, methods = ?, app_passwords = ?, remembered_not_before = ?,
		reenabled_with_methods = ?, state_read_at = ?, version = version + 1 WHERE id = ?`,
		u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, mfa.Fold(u.DisplayName), searchBlob(terms),
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods),
		u.AppPasswords, toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(u.StateReadAt), id)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM user_terms WHERE user_id = ?", id); err != nil {
		return err
	}
	for _, t := range terms {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO user_terms (term, user_id, account_enabled, state) VALUES (?, ?, ?, ?)",
			t, id, boolInt(u.AccountEnabled), string(u.State)); err != nil {
			return err
		}
	}
	return nil
}

func searchBlob(terms []string) string {
	return "\x1f" + strings.Join(terms, "\x1f")
}

// inserter adds new users with prepared statements (the seeding hot path).
type inserter struct {
	user, term *sql.Stmt
}

func newInserter(ctx context.Context, tx *sql.Tx) (*inserter, error) {
	user, err := tx.PrepareContext(ctx, `INSERT INTO users (upn, upn_key, display_name, sort_key, search, account_enabled,
		privileged, state, methods, app_passwords, remembered_not_before, reenabled_with_methods, state_read_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return nil, err
	}
	term, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO user_terms (term, user_id, account_enabled, state) VALUES (?, ?, ?, ?)")
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
	terms := mfa.SearchTerms(u.DisplayName, u.UPN)
	res, err := in.user.ExecContext(ctx, u.UPN, mfa.NormalizeUPN(u.UPN), u.DisplayName, mfa.Fold(u.DisplayName), searchBlob(terms),
		boolInt(u.AccountEnabled), boolInt(u.Privileged), string(u.State), mfa.FormatMethodList(u.Methods), u.AppPasswords,
		toMillis(u.RememberedDevicesNotBefore), boolInt(u.HadMethodsWhenReenabled), toMillis(now))
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
		if _, err := in.term.ExecContext(ctx, t, id, boolInt(u.AccountEnabled), string(u.State)); err != nil {
			return err
		}
	}
	return nil
}

// SeedUsers inserts users (for the demo tenant), in transactions of 20,000 so that a large seed
// keeps the write-ahead log small. progress, if not nil, is called after each transaction.
func (d *DB) SeedUsers(ctx context.Context, users iter.Seq[mfa.User], now time.Time, progress func(done int)) (int, error) {
	const batch = 20000
	next, stop := iter.Pull(users)
	defer stop()
	done := 0
	for {
		n := 0
		err := d.inTx(ctx, func(tx *sql.Tx) error {
			ins, err := newInserter(ctx, tx)
			if err != nil {
				return err
			}
			defer ins.close()
			for n < batch {
				u, ok := next()
				if !ok {
					return nil
				}
				if err := ins.insert(ctx, &u, now); err != nil {
					return err
				}
				n++
			}
			return nil
		})
		if err != nil {
			return done, err
		}
		done += n
		if progress != nil && n > 0 {
			progress(done)
		}
		if n < batch {
			return done, nil
		}
	}
}

// CountUsers returns the number of users in the directory.
func (d *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, "SELECT COALESCE(SUM(n), 0) FROM user_counts").Scan(&n)
	return n, err
}
