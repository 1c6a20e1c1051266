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

// pageSQL returns the query of the page's users (limit + 1 of them, in the walk's order) given the
// classes that have users; "" when no class can have any after the cursor.
func (q *listQuery) pageSQL(classes []classCount) (string, []any) {
	if q.source() == fromRange {
		return q.rangePageSQL()
	}
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

// rangePageSQL is the page of a search too long for a prefix index: its terms' range, the filters
// checked on each match, the first limit + 1 after the cursor kept by a top-N sort.
func (q *listQuery) rangePageSQL() (string, []any) {
	byStatus := q.f.Sort == mfa.SortStatus
	from, fromArgs := "user_terms t", []any{}
	where, args := q.searchWhere(false)
	w, a := allowedWhere(&q.f, "t.", false)
	where, args = append(where, w...), append(args, a...)
	switch {
	case byStatus:
		from += probeByID
		if q.f.Status != mfa.StatusAny {
			where, args = append(where, "s.state = ?"), append(args, string(q.f.Status))
		}
	case q.f.Status != mfa.StatusAny:
		from += probeByKey("t.user_id")
		fromArgs = append(fromArgs, string(q.f.Status))
	}
	key, kop, kdir := q.keyCol(), cmpOp(q.keyDesc), dir(q.keyDesc)
	order := key + kdir + ", t.user_id" + kdir
	sel := "SELECT " + key + " AS k, t.user_id AS i"
	if q.cur != nil {
		kw := "(" + key + ", t.user_id) " + kop + " (?, ?)"
		if byStatus {
			kw = "(s.state " + cmpOp(q.stateDesc) + " ? OR s.state = ? AND " + kw + ")"
			args = append(args, q.cur.State, q.cur.State)
		}
		where, args = append(where, kw), append(args, q.cur.Key, q.cur.ID)
	}
	if byStatus {
		order = "s.state" + dir(q.stateDesc) + ", " + order
		sel = "SELECT s.state AS st, " + key + " AS k, t.user_id AS i"
	}
	keys := sel + " FROM " + from + " WHERE " + strings.Join(where, " AND ") + " ORDER BY " + order + " LIMIT ?"
	outer := "m.k" + kdir + ", m.i" + kdir
	if byStatus {
		outer = "m.st" + dir(q.stateDesc) + ", " + outer
	}
	return "SELECT " + userColumns + " FROM (" + keys + ") m CROSS JOIN users u ON u.id = m.i ORDER BY " + outer,
		slices.Concat(fromArgs, args, []any{q.f.Limit + 1})
}
