package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mfaportal/mfaportal/mfa"
)

// FindUsers returns a page of users by keyset in the filter's sort, and the total count.
//
// The total is read, not counted: from user_counts without a search, from prefix_counts for a
// search of up to four characters (migrations/100_baseline.sql), both by every filter column, so they also say
// which classes (combinations of filter values, listDims) have users at all. The page is then the
// merge of one keyset range per non-empty class, each a bounded search of an index that starts with
// the filter columns and goes on in the sort's order: users_by_filters_name (display name, and
// status, whose ranges are merged state after state) or users_by_filters_upn without a search;
// user_terms_by_prefixN (and _upn) for a search of one to three (two) characters. The state is in
// none of the indexes but the first: a filter on it is checked for each candidate by probing
// users_by_filters_name with its whole key, or its row by id. A longer search takes the range of its
// terms in user_terms (one row per user: lcp < length) and sorts its matches after the cursor,
// keeping only the page; its total is counted over that range, or read from prefix_counts where
// that counts it (a long prefix matching many users: longprefix.go). In every case the page's
// users are then read by id, so no request scans or sorts the directory (docs/PERFORMANCE.md,
// TestFindUsersPlans).
func (d *DB) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	lq, err := newListQuery(f)
	if err != nil {
		return nil, err
	}
	page := &mfa.UserPage{}
	counted := lq.countedByClass()
	if !counted && lq.short {
		// A long search whose prefix is counted (longprefix.go).
		if counted, err = d.isLongPrefix(ctx, lq.term); err != nil {
			return nil, err
		}
	}
	var classes []classCount
	if counted {
		q, args := lq.classesSQL()
		if classes, err = readClasses(ctx, d.db, q, args); err != nil {
			return nil, err
		}
		page.Total = lq.total(classes)
	} else {
		q, args := lq.countSQL()
		if err := d.db.QueryRowContext(ctx, q, args...).Scan(&page.Total); err != nil {
			return nil, err
		}
		if lq.short && page.Total >= cmp.Or(d.longPrefixMin, mfa.LongPrefixMatches) {
			// Its error leaves this search on this path (tried again after mfa.LongPrefixRetry):
			// the writers were busy for longer than the count may wait, or the request ended.
			_ = d.countLongPrefix(ctx, lq.term)
		}
	}
	if page.Total == 0 {
		return page, nil
	}
	var got []row
	for _, pq := range lq.pageQueries(classes) {
		if got, err = d.pageRows(ctx, got, pq); err != nil {
			return nil, err
		}
		if len(got) > f.Limit {
			break
		}
	}
	more := len(got) > f.Limit
	if more {
		got = got[:f.Limit]
	}
	if lq.backwards {
		slices.Reverse(got)
	}
	for _, r := range got {
		page.Users = append(page.Users, r.user)
	}
	if len(got) > 0 {
		first, last := lq.cursorOf(got[0]), lq.cursorOf(got[len(got)-1])
		if lq.backwards {
			page.NextCursor = last
			if more {
				page.PrevCursor = first
			}
		} else {
			if more {
				page.NextCursor = last
			}
			if f.After != "" {
				page.PrevCursor = first
			}
		}
	}
	return page, nil
}

// pageRows appends the users that pq reads to got.
func (d *DB) pageRows(ctx context.Context, got []row, pq pageQuery) ([]row, error) {
	rows, err := d.db.QueryContext(ctx, pq.sql, pq.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		got = append(got, r)
	}
	return got, rows.Err()
}

// classCount is a class and how many users (matches of the search) it has.
type classCount struct {
	class class
	n     int
}

// readClasses reads the classes (listDims values, then n) that a classesSQL query answers.
func readClasses(ctx context.Context, db *sql.DB, q string, args []any) ([]classCount, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []classCount
	for rows.Next() {
		vals := make([]any, len(listDims)+1)
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		c := make(class, len(listDims))
		for i := range c {
			switch v := vals[i].(type) {
			case int64:
				c[i] = int(v)
			case []byte:
				c[i] = string(v)
			default:
				c[i] = v
			}
		}
		n, _ := vals[len(listDims)].(int64)
		out = append(out, classCount{c, int(n)})
	}
	return out, rows.Err()
}

// allowsState says whether the filter allows the state of class c.
func (q *listQuery) allowsState(c class) bool {
	return q.f.Status == mfa.StatusAny || c[stateDim] == string(q.f.Status)
}

// total adds up the classes whose state the filter allows.
func (q *listQuery) total(classes []classCount) int {
	n := 0
	for _, c := range classes {
		if q.allowsState(c.class) {
			n += c.n
		}
	}
	return n
}

// Searches of up to this many characters page along a prefix index of user_terms (user_terms_by_prefixN),
// in display-name order (also for the sort by status) or in user-name order.
const (
	namePrefixIndexes = 3
	upnPrefixIndexes  = 2
)

// countedPrefix is the longest search whose total is read from prefix_counts.
const countedPrefix = 4

// listQuery is one FindUsers call, planned: where its keys come from and in which order.
type listQuery struct {
	f         mfa.UserFilter
	term      string // the folded search
	n         int    // its characters
	short     bool   // term is valid UTF-8: substr counts characters only then
	cur       *cursor
	backwards bool // paging before the cursor: the walk goes against the sort
	stateDesc bool // the walk's direction on the state (sort by status)
	keyDesc   bool // the walk's direction on the key
}

func newListQuery(f mfa.UserFilter) (*listQuery, error) {
	term := mfa.Fold(f.Query)
	q := &listQuery{f: f, term: term, n: utf8.RuneCountInString(term), short: utf8.ValidString(term), backwards: f.Before != ""}
	if f.After != "" || f.Before != "" {
		c, err := decodeCursor(f.After+f.Before, &q.f)
		if err != nil {
			return nil, err
		}
		q.cur = &c
	}
	desc := f.Order == mfa.OrderDesc
	if f.Sort == mfa.SortStatus {
		// By status, ascending or descending, and then by display name ascending.
		q.stateDesc, q.keyDesc = desc != q.backwards, q.backwards
	} else {
		q.keyDesc = desc != q.backwards
	}
	return q, nil
}

// countedByClass says whether the total and the non-empty classes are read from user_counts or
// prefix_counts (otherwise the search's range is counted).
func (q *listQuery) countedByClass() bool {
	return q.term == "" || q.short && q.n <= countedPrefix
}

// classesSQL reads the non-empty classes that the filter allows, with their counts, in every state
// (how many of a class are in the state of the filter tells how to read them: pageSQL).
func (q *listQuery) classesSQL() (string, []any) {
	from, where, args := "user_counts t", []string{"t.n > 0"}, []any{}
	if q.term != "" {
		from, where, args = "prefix_counts t", []string{"t.prefix = ?", "t.n > 0"}, []any{q.term}
	}
	w, a := allowedWhere(&q.f, "t.", false)
	cols := dimCols("t.", listDims)
	return "SELECT " + cols + ", t.n FROM " + from + " WHERE " + strings.Join(append(where, w...), " AND ") + " ORDER BY " + cols,
		append(args, a...)
}

// The sources of a page's keys.
const (
	fromUsersByName  = iota // no search, by display name or status: users_by_filters_name
	fromUsersByUPN          // no search, by user name: users_by_filters_upn
	fromPrefixByName        // a short search by display name or status: user_terms_by_prefixN
	fromPrefixByUPN         // a short search by user name: user_terms_by_prefixN_upn
	fromRange               // a longer search: its range of user_terms, sorted
)

func (q *listQuery) source() int {
	byUPN := q.f.Sort == mfa.SortUPN
	switch {
	case q.term == "" && byUPN:
		return fromUsersByUPN
	case q.term == "":
		return fromUsersByName
	case q.short && byUPN && q.n <= upnPrefixIndexes:
		return fromPrefixByUPN
	case q.short && !byUPN && q.n <= namePrefixIndexes:
		return fromPrefixByName
	}
	return fromRange
}

// keyCol is the column of the sort's key in users (t.id) or user_terms (t.user_id).
func (q *listQuery) keyCol() string {
	if q.f.Sort == mfa.SortUPN {
		return "t.upn_key"
	}
	return "t.sort_key"
}

// cursorOf is the cursor that continues after (or before) r.
func (q *listQuery) cursorOf(r row) string {
	c := cursor{Sort: q.f.Sort, Order: q.f.Order, Key: r.sortKey, ID: r.id}
	switch q.f.Sort {
	case mfa.SortUPN:
		c.Key = r.upnKey
	case mfa.SortStatus:
		c.State = string(r.user.State)
	}
	return encodeCursor(c)
}

func dir(desc bool) string {
	if desc {
		return " DESC"
	}
	return ""
}

func cmpOp(desc bool) string {
	if desc {
		return "<"
	}
	return ">"
}

// probeByKey joins each row t (of user_terms, or of an index of users without the state) to its
// user's entry in users_by_filters_name, whose whole key the row holds but the state (bound first,
// by the caller): one covering-index probe. id is t's column of the user's id.
func probeByKey(id string) string {
	on := make([]string, 0, len(listDims)+2)
	for _, d := range listDims[:stateDim] {
		on = append(on, "s."+d.col+" = t."+d.col)
	}
	on = append(on, "s.state = ?", "s.sort_key = t.sort_key", "s.id = "+id)
	return " CROSS JOIN users s INDEXED BY users_by_filters_name ON " + strings.Join(on, " AND ")
}

// searchWhere is the condition of a search on user_terms t: a prefix index's first column, or the
// range of the terms.
func (q *listQuery) searchWhere(prefixIndex bool) ([]string, []any) {
	if prefixIndex {
		return []string{fmt.Sprintf("substr(t.term, 1, %d) = ?", q.n), fmt.Sprintf("t.lcp < %d", q.n)}, []any{q.term}
	}
	return []string{"t.term >= ?", "t.term < ?", "t.lcp < ?"}, []any{q.term, q.term + maxPrefixRune, q.n}
}

const maxPrefixRune = "\U0010FFFF"

// countSQL counts the matches of a search too long for prefix_counts, over its range.
func (q *listQuery) countSQL() (string, []any) {
	from, args := "user_terms t", []any{}
	if q.f.Status != mfa.StatusAny {
		from += probeByKey("t.user_id")
		args = append(args, string(q.f.Status))
	}
	where, a := q.searchWhere(false)
	w, a2 := allowedWhere(&q.f, "t.", false)
	return "SELECT COUNT(*) FROM " + from + " WHERE " + strings.Join(append(where, w...), " AND "), slices.Concat(args, a, a2)
}
