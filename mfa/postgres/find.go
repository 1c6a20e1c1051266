package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

// FindUsers returns a page of users in display-name order by keyset, and the total count.
//
// As in mfa/sqlite: without a search the total is read from user_counts and the page walks the
// users index that matches the filters; a search of one or two characters walks the partial index
// user_terms_by_prefix1 (2), which holds each matching user once in display-name order; a longer
// search takes the range of its terms in user_terms and keeps the first page of them in order.
// Totals of searches of up to four characters are read from prefix_counts. A status filter on a
// search looks each candidate's state up by id. The page's users are then read by id.
func (d *DB) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	if err := notYetOnPostgres(f); err != nil {
		return nil, err
	}
	fq, err := findUsersQuery(f)
	if err != nil {
		return nil, err
	}
	page := &mfa.UserPage{}
	if err := d.pool.QueryRow(ctx, fq.count, fq.countArgs...).Scan(&page.Total); err != nil {
		return nil, err
	}
	if page.Total == 0 {
		return page, nil
	}
	rows, err := d.pool.Query(ctx, fq.page, fq.pageArgs...)
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
	if fq.backwards {
		slices.Reverse(got)
	}
	for _, r := range got {
		page.Users = append(page.Users, r.user)
	}
	if len(got) > 0 {
		first, last := got[0], got[len(got)-1]
		if fq.backwards {
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

// findQuery is the SQL of a FindUsers call.
type findQuery struct {
	count     string
	countArgs []any
	page      string
	pageArgs  []any
	backwards bool
}

// countedPrefix is the longest search whose total is read from prefix_counts.
const countedPrefix = 4

const maxPrefixRune = "\U0010FFFF"

// args numbers query parameters as they are added ($1, $2, ...).
type args struct{ vals []any }

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return fmt.Sprintf("$%d", len(a.vals))
}

// findUsersQuery builds the queries of FindUsers (on its own, so that a test can check their plans).
func findUsersQuery(f mfa.UserFilter) (findQuery, error) {
	term := mfa.Fold(f.Query)
	n := utf8.RuneCountInString(term)
	valid := utf8.ValidString(term)
	var fq findQuery
	if term == "" || n <= countedPrefix && valid {
		fq.count, fq.countArgs = readCount(f, term)
	}
	build := func(a *args, enabled string) (string, error) {
		src, keyID := "users t", "t.id"
		var where []string
		switch {
		case term == "":
		case n <= 2 && valid:
			src, keyID = "user_terms t", "t.user_id"
			where = append(where, fmt.Sprintf("left(t.term, %d) = %s AND t.lcp < %d", n, a.add(term), n))
		default:
			src, keyID = "user_terms t", "t.user_id"
			where = append(where, fmt.Sprintf("t.term >= %s AND t.term < %s AND t.lcp < %d", a.add(term), a.add(term+maxPrefixRune), n))
		}
		if enabled != "" {
			where = append(where, "t.account_enabled = "+enabled)
		} else if f.View == mfa.ViewAllowed || f.View == mfa.ViewBlocked {
			where = append(where, "t.account_enabled = "+a.add(f.View == mfa.ViewAllowed))
		}
		if f.Status != mfa.StatusAny {
			if term == "" {
				where = append(where, "t.state = "+a.add(string(f.Status)))
			} else {
				// The terms do not hold the state (a state change would rewrite them).
				// Each match is looked up in users_by_enabled_state_name by its whole key (the
				// term row holds the account state, sort key and id): index-only. A lateral
				// look-up, not a join: the planner cannot tell how often a match has the state
				// and, joining, would read every match to sort them; looked up one by one, the
				// matches are walked in display-name order and the walk stops with the page.
				src += " CROSS JOIN LATERAL (SELECT 1 FROM users s WHERE s.account_enabled = t.account_enabled" +
					" AND s.sort_key = t.sort_key AND s.id = t.user_id AND s.state = " + a.add(string(f.Status)) + " LIMIT 1) s"
			}
		}
		if fq.count == "" {
			// A longer search is counted over its range (once: both arms of a merge count alike).
			fq.count = "SELECT count(*) FROM " + src + " WHERE " + strings.Join(where, " AND ")
			fq.countArgs = slices.Clone(a.vals)
		}
		desc, cmp := "", ">"
		if fq.backwards {
			desc, cmp = " DESC", "<"
		}
		if f.After != "" || f.Before != "" {
			key, err := decodeCursor(f.After + f.Before)
			if err != nil {
				return "", err
			}
			where = append(where, fmt.Sprintf("(t.sort_key, %s) %s (%s, %s)", keyID, cmp, a.add(key.SortKey), a.add(key.ID)))
		}
		keys := "SELECT t.sort_key AS k, " + keyID + " AS i FROM " + src
		if len(where) > 0 {
			keys += " WHERE " + strings.Join(where, " AND ")
		}
		return keys + " ORDER BY t.sort_key" + desc + ", " + keyID + desc + " LIMIT " + a.add(f.Limit+1), nil
	}
	fq.backwards = f.Before != ""
	desc := ""
	if fq.backwards {
		desc = " DESC"
	}
	a := &args{}
	var keys string
	var err error
	if term == "" && f.View == mfa.ViewAll && f.Status != mfa.StatusAny {
		// users has one index by state, which starts with the account state: the page of all
		// users in one state merges the pages of its two halves.
		var arms [2]string
		for i, enabled := range []string{"false", "true"} {
			if arms[i], err = build(a, enabled); err != nil {
				return findQuery{}, err
			}
		}
		keys = "(" + arms[0] + ") UNION ALL (" + arms[1] + ") ORDER BY k" + desc + ", i" + desc + " LIMIT " + a.add(f.Limit+1)
	} else if keys, err = build(a, ""); err != nil {
		return findQuery{}, err
	}
	fq.pageArgs = a.vals
	// The page's users by their ids (looked up in the primary key, whatever the planner makes of
	// joining a thousand rows), in the keys' order.
	fq.page = "SELECT " + userColumns + " FROM users u WHERE u.id = ANY(ARRAY(SELECT i FROM (" + keys + ") m))" +
		" ORDER BY u.sort_key" + desc + ", u.id" + desc
	return fq, nil
}

// readCount is the query that reads the total of a view, or of a search of up to four characters,
// from the kept counts.
func readCount(f mfa.UserFilter, term string) (string, []any) {
	a := &args{}
	table := "user_counts t"
	var where []string
	if term != "" {
		table = "prefix_counts t"
		where = append(where, "t.prefix = "+a.add(term))
	}
	if f.View == mfa.ViewAllowed || f.View == mfa.ViewBlocked {
		where = append(where, "t.account_enabled = "+a.add(f.View == mfa.ViewAllowed))
	}
	if f.Status != mfa.StatusAny {
		where = append(where, "t.state = "+a.add(string(f.Status)))
	}
	q := "SELECT COALESCE(sum(n), 0)::bigint FROM " + table
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	return q, a.vals
}

// notYetOnPostgres refuses, rather than ignores, what this store does not list by yet: the filters
// on admins and methods and the sorts other than by display name (mfa/sqlite's migration 040).
func notYetOnPostgres(f mfa.UserFilter) error {
	const why = " is not available on the PostgreSQL store yet"
	switch {
	case f.Privileged != mfa.PrivilegedAny:
		return mfa.FieldErrorf("privileged", "the admins filter"+why)
	case f.Methods != mfa.MethodsAny:
		return mfa.FieldErrorf("methods", "the registered methods filter"+why)
	case f.Sort != "" && f.Sort != mfa.SortName:
		return mfa.FieldErrorf("sort", "sorting by %s"+why, f.Sort)
	case f.Order == mfa.OrderDesc:
		return mfa.FieldErrorf("order", "the descending order"+why)
	}
	return nil
}
