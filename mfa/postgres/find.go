package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// FindUsers returns a page of users by keyset in the filter's sort, and the total count.
//
// As in mfa/sqlite: the total of a view or of a search of up to four characters is read from
// user_counts or prefix_counts by every filter column, which also say which classes (combinations
// of filter values, listDims) have users at all. The page is the merge of one keyset range per
// non-empty class, each a bounded walk of an index that starts with the filter columns and goes on
// in the sort's order (findpage.go): users_by_filters_name or _upn without a search,
// user_terms_by_prefixN (and _upn) for a search of one to four characters, the state of each
// candidate looked up when the filter needs it and its class has users in other states. A longer
// search takes its range of terms, counts it and keeps the page after the cursor (or, with a status
// filter, reads its total from prefix_counts where that counts it: longprefix.go). Sorted by
// status, the states are walked one after the other, as far as the page needs. The page's users
// are then read by id. So no request scans or sorts the directory (docs/PERFORMANCE.md).
func (d *DB) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	lq, err := newListQuery(f)
	if err != nil {
		return nil, err
	}
	page := &mfa.UserPage{}
	var keys []pageKey
	if lq.source() == fromRange {
		if page.Total, keys, err = d.longSearch(ctx, lq); err != nil {
			return nil, err
		}
	} else {
		classes, err := d.readClasses(ctx, lq)
		if err != nil {
			return nil, err
		}
		if page.Total = lq.total(classes); page.Total == 0 {
			return page, nil
		}
		if keys, err = d.walkPage(ctx, lq, classes); err != nil {
			return nil, err
		}
	}
	got, err := d.usersByID(ctx, keys)
	if err != nil {
		return nil, err
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

// longSearch reads the total and the page's keys of a search longer than the prefix indexes. In
// one state, when its prefix is counted (longprefix.go), the total is read from prefix_counts and
// the page probes the sorted matches; otherwise the range of terms is read (rangePage), and a
// prefix matching many users is counted from then on.
func (d *DB) longSearch(ctx context.Context, q *listQuery) (int, []pageKey, error) {
	if !q.valid {
		total, _, keys, err := d.rangePage(ctx, q)
		return total, keys, err
	}
	if q.f.Status != mfa.StatusAny {
		counted, err := d.isLongPrefix(ctx, q.term)
		if err != nil {
			return 0, nil, err
		}
		if counted { // listed with its counts, in one transaction: they are all there
			classes, err := d.readClasses(ctx, q)
			if err != nil {
				return 0, nil, err
			}
			total := q.total(classes)
			if total == 0 {
				return 0, nil, nil
			}
			keys, err := d.countedPage(ctx, q, classes)
			return total, keys, err
		}
	}
	total, matches, keys, err := d.rangePage(ctx, q)
	if err == nil && matches >= cmp.Or(d.longPrefixMin, mfa.LongPrefixMatches) {
		// Its error leaves this search on this path (tried again after mfa.LongPrefixRetry): the
		// writers were busy for longer than the count may hold them off, or the request ended.
		_ = d.countLongPrefix(ctx, q.term)
	}
	return total, keys, err
}

// pageKey is a row of a page as its keys are read: its state (sorted by status), key and id.
type pageKey struct {
	state string
	key   string
	id    int64
}

// usersByID reads the users of keys by id (the primary key), in the keys' order; users deleted
// meanwhile are left out.
func (d *DB) usersByID(ctx context.Context, keys []pageKey) ([]row, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(keys))
	for i, k := range keys {
		ids[i] = k.id
	}
	rows, err := d.pool.Query(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ANY($1::bigint[])", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	byID := make(map[int64]row, len(ids))
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		byID[r.id] = r
	}
	return orderRows(byID, ids), rows.Err()
}

// orderRows lists the rows of byID in the order of ids.
func orderRows(byID map[int64]row, ids []int64) []row {
	out := make([]row, 0, len(ids))
	for _, id := range ids {
		if r, ok := byID[id]; ok {
			out = append(out, r)
		}
	}
	return out
}

// readClasses reads the non-empty classes that the filter allows but for the state, in every
// state, with their counts (of matches of the search, and of users).
func (d *DB) readClasses(ctx context.Context, q *listQuery) ([]classCount, error) {
	a := &args{}
	sql := "SELECT " + dimCols("t.") + ", t.n, t.n FROM user_counts t"
	where := []string{"t.n > 0"}
	if q.term != "" {
		sql = "SELECT " + dimCols("t.") + ", t.n, COALESCE(u.n, 0) FROM prefix_counts t LEFT JOIN user_counts u USING (" + dimCols("") + ")"
		where = append(where, "t.prefix = "+a.add(q.term))
	}
	where = append(where, allowedWhere(&q.f, "t.", a)...)
	rows, err := d.pool.Query(ctx, sql+" WHERE "+strings.Join(where, " AND ")+" ORDER BY "+dimCols("t."), a.vals...)
	if err != nil {
		return nil, err
	}
	var enabled, privileged, covered bool
	var methods int16
	var state string
	var n, all int64
	var out []classCount
	_, err = pgx.ForEachRow(rows, []any{&enabled, &privileged, &methods, &covered, &state, &n, &all}, func() error {
		out = append(out, classCount{class{enabled, privileged, methods, covered, state}, int(n), int(all)})
		return nil
	})
	return out, err
}

// prefixIndexes is how long a search may be to page along a prefix index of user_terms, in
// display-name order (also for the sort by status) or in user-name order; its total is read from
// prefix_counts, which counts the prefixes as long.
const prefixIndexes = 4

const maxPrefixRune = "\U0010FFFF"

// args numbers query parameters as they are added ($1, $2, ...).
type args struct{ vals []any }

func (a *args) add(v any) string {
	a.vals = append(a.vals, v)
	return fmt.Sprintf("$%d", len(a.vals))
}

// listQuery is one FindUsers call, planned: where its keys come from and in which order.
type listQuery struct {
	f         mfa.UserFilter
	term      string // the folded search
	n         int    // its characters
	valid     bool   // term is valid UTF-8: left() counts characters only then
	cur       *cursor
	backwards bool // paging before the cursor: the walk goes against the sort
	stateDesc bool // the walk's direction on the state (sort by status)
	keyDesc   bool // the walk's direction on the key
}

func newListQuery(f mfa.UserFilter) (*listQuery, error) {
	term := mfa.Fold(f.Query)
	q := &listQuery{f: f, term: term, n: utf8.RuneCountInString(term), valid: utf8.ValidString(term), backwards: f.Before != ""}
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

// allowsState says whether the filter allows state s.
func (q *listQuery) allowsState(s any) bool {
	return q.f.Status == mfa.StatusAny || s == string(q.f.Status)
}

// total adds up the classes whose state the filter allows.
func (q *listQuery) total(classes []classCount) int {
	n := 0
	for _, c := range classes {
		if q.allowsState(c.class[stateDim]) {
			n += c.n
		}
	}
	return n
}

// The sources of a page's keys.
const (
	fromUsers  = iota // no search: users_by_filters_name or _upn
	fromPrefix        // a short search: user_terms_by_prefixN or _upn
	fromRange         // a longer search: its range of user_terms, sorted
)

func (q *listQuery) source() int {
	switch {
	case q.term == "":
		return fromUsers
	case q.valid && q.n <= prefixIndexes:
		return fromPrefix
	}
	return fromRange
}

// keyCol is the sort's key column (without its table's alias).
func (q *listQuery) keyCol() string {
	if q.f.Sort == mfa.SortUPN {
		return "upn_key"
	}
	return "sort_key"
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
