package sqlite

import (
	"fmt"
	"slices"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// arm is one keyset range of a page: a bounded search of one index, merged with the others.
type arm struct {
	from  string // the source, aliased t, with its probe if any
	where []string
	args  []any  // of from's placeholders, then of where's
	state string // the arm's state, when sorted by status
	// stateCol is the column that holds the state, fixed by an equality, when sorted by status.
	stateCol string
}

// pageQuery is a statement that reads users of a page, in the walk's order.
type pageQuery struct {
	sql  string
	args []any
}

// pageQueries returns the queries of the page's users (limit + 1 of them, in the walk's order),
// to be run in order until they have given that many, given the classes that have users; none
// when no class can have any after the cursor. All but a long search by state are one query.
func (q *listQuery) pageQueries(classes []classCount) []pageQuery {
	if q.source() == fromRange {
		return q.rangePageQueries(classes)
	}
	sql, args := q.pageSQL(classes)
	if sql == "" {
		return nil
	}
	return []pageQuery{{sql, args}}
}

// pageSQL is the one query of a page of a view or of a search short enough for a prefix index;
// "" when no class can have any users after the cursor.
func (q *listQuery) pageSQL(classes []classCount) (string, []any) {
	byStatus := q.f.Sort == mfa.SortStatus
	arms := q.arms(classes)
	kop, kdir := cmpOp(q.keyDesc), dir(q.keyDesc)
	key, id := q.keyCol(), "t.id"
	if q.term != "" {
		id = "t.user_id"
	}
	type member struct {
		sql   string
		args  []any
		state string
	}
	var members []member
	for _, a := range arms {
		if byStatus && q.cur != nil {
			// Arms of states before the cursor's are done; the cursor's goes on after its key.
			if c := strings.Compare(a.state, q.cur.State); c != 0 && (c < 0) != q.stateDesc {
				continue
			} else if c == 0 {
				a.where = append(slices.Clone(a.where), "("+key+", "+id+") "+kop+" (?, ?)")
				a.args = append(slices.Clone(a.args), q.cur.Key, q.cur.ID)
			}
		} else if q.cur != nil {
			a.where = append(slices.Clone(a.where), "("+key+", "+id+") "+kop+" (?, ?)")
			a.args = append(slices.Clone(a.args), q.cur.Key, q.cur.ID)
		}
		sel := "SELECT "
		if byStatus {
			sel += a.stateCol + " AS st, "
		}
		members = append(members, member{sel + key + " AS k, " + id + " AS i FROM " + a.from + " WHERE " + strings.Join(a.where, " AND "), a.args, a.state})
	}
	if len(members) == 0 {
		return "", nil
	}
	order, outer := "k"+kdir+", i"+kdir, "m.k"+kdir+", m.i"+kdir
	if byStatus {
		sdir := dir(q.stateDesc)
		order, outer = "st"+sdir+", "+order, "m.st"+sdir+", "+outer
	}
	// Each arm is a search of an index in the sort's order, so SQLite merges them without sorting
	// (MERGE (UNION ALL)), reading each only as far as the page needs.
	merge := func(ms []member, order string) (string, []any) {
		sqls, args := make([]string, len(ms)), []any{}
		for i, m := range ms {
			sqls[i], args = m.sql, append(args, m.args...)
		}
		return strings.Join(sqls, " UNION ALL ") + " ORDER BY " + order + " LIMIT ?", append(args, q.f.Limit+1)
	}
	ks, args := merge(members, order)
	if byStatus && q.source() == fromPrefixByName {
		// The state comes from the probe of each term, so SQLite does not see the arms in
		// order by it: the arms of each state are merged by key, and the pages of the states
		// (each sorted on its own: at most limit + 1 rows) merged by state. The states are taken
		// in the walk's order, only as many as the counts say the page can reach.
		matches := map[string]int{}
		for _, c := range classes {
			if q.allowsState(c.class) {
				matches[c.class[stateDim].(string)] += c.n
			}
		}
		states := slices.Clone(listDims[stateDim].values)
		if q.stateDesc {
			slices.Reverse(states)
		}
		var groups []string
		args = nil
		need := q.f.Limit + 1
		for _, st := range states {
			var ms []member
			for _, m := range members {
				if m.state == st {
					ms = append(ms, m)
				}
			}
			if len(ms) == 0 || need <= 0 {
				continue
			}
			g, a := merge(ms, "k"+kdir+", i"+kdir)
			groups, args = append(groups, "SELECT st, k, i FROM ("+g+")"), append(args, a...)
			if q.cur == nil || st != q.cur.State {
				need -= matches[st.(string)] // all of the state's matches come after the cursor
			}
		}
		ks = strings.Join(groups, " UNION ALL ") + " ORDER BY " + order + " LIMIT ?"
		args = append(args, q.f.Limit+1)
	}
	return "SELECT " + userColumns + " FROM (" + ks + ") m CROSS JOIN users u ON u.id = m.i ORDER BY " + outer, args
}

// Estimated costs, in probes of an index or table at random, of reading a page of one class in one
// state sorted by user name from an index without the state (walk: the class's entries in
// user-name order, each probed for its state, until the page is full), and by collecting every
// user of the class in that state (users_by_filters_name, then each one's row for its user-name
// key) and sorting them. A walk costs (limit+1) × class / matches; collecting, matches ×
// collectCost. Either way a page costs at most about sqrt((limit+1) × class) probes.
var collectCost = 1.0 // a variable, so that the tests can force either way

// arms returns the keyset ranges of the page, one per class (or per class but its state, for an
// index without the state), in the classes' order.
func (q *listQuery) arms(classes []classCount) []arm {
	src := q.source()
	byStatus := q.f.Sort == mfa.SortStatus
	var from string
	var match []string
	var matchArgs []any
	switch src {
	case fromUsersByName:
		from = "users t INDEXED BY users_by_filters_name"
	case fromUsersByUPN:
		from = "users t INDEXED BY users_by_filters_upn"
	case fromPrefixByName:
		from = fmt.Sprintf("user_terms t INDEXED BY user_terms_by_prefix%d", q.n)
		match, matchArgs = q.searchWhere(true)
	case fromPrefixByUPN:
		from = fmt.Sprintf("user_terms t INDEXED BY user_terms_by_prefix%d_upn", q.n)
		match, matchArgs = q.searchWhere(true)
	}
	id := "t.id"
	if q.term != "" {
		id = "t.user_id"
	}
	// Only users_by_filters_name has the state as a column: elsewhere one arm serves every state
	// of a class, unless the arms are by status.
	perState := src == fromUsersByName || byStatus
	var out []arm
	var last class // of the last arm
	for _, cc := range classes {
		c := cc.class
		if cc.n == 0 || !q.allowsState(c) {
			continue
		}
		if !perState && last != nil && slices.Equal(last[:stateDim], c[:stateDim]) {
			continue // the arm of the class in another state serves this one
		}
		last = c
		a := arm{from: from, where: slices.Clone(match), state: c[stateDim].(string), stateCol: "t.state"}
		dims := stateDim
		if src == fromUsersByName || src == fromUsersByUPN && q.collect(classes, c) {
			// By user name, few of the class in the filter's state: read them all through the
			// index with the state; the merge sorts them.
			a.from, dims = "users t INDEXED BY users_by_filters_name", len(listDims)
		}
		for _, d := range listDims[:dims] {
			a.where = append(a.where, "t."+d.col+" = ?")
		}
		dimArgs := c[:dims]
		// The state of the arm (by status) or of the filter, where the index lacks it.
		state := ""
		if dims == stateDim {
			if byStatus {
				state = a.state
			} else if q.f.Status != mfa.StatusAny {
				state = string(q.f.Status)
			}
		}
		if state == "" {
			a.args = slices.Concat(matchArgs, dimArgs)
		} else {
			a.from += probeByKey(id)
			a.stateCol = "s.state"
			a.args = slices.Concat([]any{state}, matchArgs, dimArgs)
		}
		out = append(out, a)
	}
	return out
}

// collect says whether the users of class c in the filter's state are better collected from
// users_by_filters_name and sorted than walked in user-name order (see collectCost).
func (q *listQuery) collect(classes []classCount, c class) bool {
	all, matches := 0, 0
	for _, cc := range classes {
		if slices.Equal(cc.class[:stateDim], c[:stateDim]) {
			all += cc.n
			if q.allowsState(cc.class) {
				matches += cc.n
			}
		}
	}
	if matches == 0 || q.f.Status == mfa.StatusAny {
		return false
	}
	return float64(matches)*collectCost < float64(q.f.Limit+1)*float64(all)/float64(matches)
}

// rangePageQueries is the page of a search too long for a prefix index: its terms' range, the
// filters checked on each match. Where no state matters, the first limit + 1 matches after the
// cursor are kept by a top-N sort of the range. Where one does (a status filter, or the sort by
// status: then one query a state, in the walk's order from the cursor's, run as far as the page
// needs, leaving out the states without matches where the counts tell: up to four characters),
// rangeStateSQL.
func (q *listQuery) rangePageQueries(classes []classCount) []pageQuery {
	if q.f.Sort != mfa.SortStatus && q.f.Status == mfa.StatusAny {
		where, args := q.rangeWhere(q.cur)
		key, kdir := q.keyCol(), dir(q.keyDesc)
		keys := "SELECT " + key + " AS k, t.user_id AS i FROM user_terms t WHERE " + strings.Join(where, " AND ") +
			" ORDER BY " + key + kdir + ", t.user_id" + kdir + " LIMIT ?"
		return []pageQuery{{"SELECT " + userColumns + " FROM (" + keys + ") m CROSS JOIN users u ON u.id = m.i ORDER BY m.k" + kdir + ", m.i" + kdir,
			append(args, q.f.Limit+1)}}
	}
	if q.f.Sort != mfa.SortStatus {
		return []pageQuery{q.rangeStateSQL(string(q.f.Status), q.cur)}
	}
	states := slices.Clone(listDims[stateDim].values)
	if q.stateDesc {
		slices.Reverse(states)
	}
	var out []pageQuery
	started := q.cur == nil
	for _, st := range states {
		cur := (*cursor)(nil)
		if !started {
			if st != q.cur.State {
				continue // a state the walk has passed
			}
			started, cur = true, q.cur
		}
		if (q.f.Status == mfa.StatusAny || st == string(q.f.Status)) && (classes == nil || hasState(classes, st)) {
			out = append(out, q.rangeStateSQL(st.(string), cur))
		}
	}
	return out
}

// hasState says whether a class in state st has matches.
func hasState(classes []classCount, st any) bool {
	return slices.ContainsFunc(classes, func(c classCount) bool { return c.n > 0 && c.class[stateDim] == st })
}

// rangeWhere is the condition of the matches of a long search after (before) cur, if any.
func (q *listQuery) rangeWhere(cur *cursor) ([]string, []any) {
	where, args := q.searchWhere(false)
	w, a := allowedWhere(&q.f, "t.", false)
	where, args = append(where, w...), append(args, a...)
	if cur != nil {
		where = append(where, "("+q.keyCol()+", t.user_id) "+cmpOp(q.keyDesc)+" (?, ?)")
		args = append(args, cur.Key, cur.ID)
	}
	return where, args
}

// rangeStateSQL is the page of a long search's matches in one state after (before) cur: the
// matches, sorted by the key (their terms' rows only), are walked in that order and each probed
// for the state by its whole key in users_by_filters_name, until the page is full. Probing every
// match and then sorting (as a join ordered by the key does) reads the state of all of them: 19,000
// for "mart" at a million users, 110 ms, where the walk needs a few hundred. LIMIT -1 keeps
// SQLite from flattening the sorted subquery into the join; SQLite then knows its rows come in
// the page's order and sorts nothing more (TestFindUsersPlans).
func (q *listQuery) rangeStateSQL(state string, cur *cursor) pageQuery {
	where, args := q.rangeWhere(cur)
	key, kdir := q.keyCol(), dir(q.keyDesc)
	dims := dimCols("t.", listDims[:stateDim])
	on := make([]string, 0, stateDim+3)
	for _, d := range listDims[:stateDim] {
		on = append(on, "s."+d.col+" = m."+d.col)
	}
	// The display-name key once only: SQLite does not see the order of a subquery that selects
	// the key twice.
	cols, sortKey := key+" AS k, t.user_id AS i, ", "m.k"
	if key != "t.sort_key" {
		cols, sortKey = cols+"t.sort_key AS sk, ", "m.sk"
	}
	on = append(on, "s.state = ?", "s.sort_key = "+sortKey, "s.id = m.i")
	matches := "SELECT " + cols + dims + " FROM user_terms t WHERE " + strings.Join(where, " AND ") +
		" ORDER BY " + key + kdir + ", t.user_id" + kdir + " LIMIT -1"
	keys := "SELECT m.k, m.i FROM (" + matches + ") m CROSS JOIN users s INDEXED BY users_by_filters_name ON " + strings.Join(on, " AND ") +
		" ORDER BY m.k" + kdir + ", m.i" + kdir + " LIMIT ?"
	return pageQuery{"SELECT " + userColumns + " FROM (" + keys + ") m CROSS JOIN users u ON u.id = m.i ORDER BY m.k" + kdir + ", m.i" + kdir,
		append(args, state, q.f.Limit+1)}
}
