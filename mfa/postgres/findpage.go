package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// walkPage reads the keys of the page (limit + 1 of them, in the walk's order) by merging one
// keyset walk per class. Sorted by status, the states are walked one after the other from the
// cursor's, each as far as the page still needs.
func (d *DB) walkPage(ctx context.Context, q *listQuery, classes []classCount) ([]pageKey, error) {
	need := q.f.Limit + 1
	if q.f.Sort != mfa.SortStatus {
		var states []any
		for _, s := range listDims[stateDim].values {
			if q.allowsState(s) {
				states = append(states, s)
			}
		}
		return d.walkStates(ctx, q, classes, states, q.cur, need)
	}
	order := slices.Clone(listDims[stateDim].values)
	if q.stateDesc {
		slices.Reverse(order)
	}
	var out []pageKey
	started := q.cur == nil
	for _, st := range order {
		cur := (*cursor)(nil)
		if !started {
			if st != q.cur.State {
				continue // a state the walk has passed
			}
			started, cur = true, q.cur
		}
		if !q.allowsState(st) {
			continue
		}
		keys, err := d.walkStates(ctx, q, classes, []any{st}, cur, need-len(out))
		if err != nil {
			return nil, err
		}
		for i := range keys {
			keys[i].state = st.(string)
		}
		if out = append(out, keys...); len(out) >= need {
			break
		}
	}
	return out, nil
}

// walkStates reads up to limit keys of the users in states (the classes' counts say which classes
// have any) after cur, merging the walks of the classes in the sort's order.
func (d *DB) walkStates(ctx context.Context, q *listQuery, classes []classCount, states []any, cur *cursor, limit int) ([]pageKey, error) {
	a := &args{}
	lim := a.add(limit)
	arms := q.arms(classes, states, cur, lim, a)
	if len(arms) == 0 {
		return nil, nil
	}
	sql := arms[0]
	if len(arms) > 1 {
		// Each arm walks an index in the sort's order: PostgreSQL merges them (Merge Append),
		// reading each only as far as the page needs.
		sql = "SELECT k, i FROM ((" + strings.Join(arms, ") UNION ALL (") + ")) m ORDER BY k" + dir(q.keyDesc) +
			", i" + dir(q.keyDesc) + " LIMIT " + lim
	}
	rows, err := d.pool.Query(ctx, sql, a.vals...)
	if err != nil {
		return nil, err
	}
	var k pageKey
	var out []pageKey
	_, err = pgx.ForEachRow(rows, []any{&k.key, &k.id}, func() error {
		out = append(out, k)
		return nil
	})
	return out, err
}

// arms are the keyset walks of the page, one per class that has users in states (one per class
// and state without a search), in the classes' order, each limited to lim rows.
func (q *listQuery) arms(classes []classCount, states []any, cur *cursor, lim string, a *args) []string {
	key, kdir := q.keyCol(), dir(q.keyDesc)
	in := func(s any) bool { return slices.Contains(states, s) }
	var out []string
	if q.source() == fromUsers {
		for _, cc := range classes {
			if cc.n == 0 || !in(cc.class[stateDim]) {
				continue
			}
			where := q.classWhere(cc.class, len(listDims), a)
			where = append(where, q.cursorWhere("t."+key, "t.id", cur, a)...)
			out = append(out, "SELECT t."+key+" AS k, t.id AS i FROM users t WHERE "+strings.Join(where, " AND ")+
				" ORDER BY t."+key+kdir+", t.id"+kdir+" LIMIT "+lim)
		}
		return out
	}
	term := a.add(q.term)
	match := fmt.Sprintf("left(t.term, %d) = %s AND t.lcp < %d", q.n, term, q.n)
	for i := 0; i < len(classes); {
		// The classes are in key order: those of one class in every state are next to each other.
		j := i
		has, other := false, false
		matches, users := 0, 0
		for ; j < len(classes) && slices.Equal(classes[j].class[:stateDim], classes[i].class[:stateDim]); j++ {
			if cc := classes[j]; cc.n > 0 {
				has, other = has || in(cc.class[stateDim]), other || !in(cc.class[stateDim])
				matches += cc.n
				if in(cc.class[stateDim]) {
					users += cc.all
				}
			}
		}
		c := classes[i].class
		i = j
		if !has {
			continue
		}
		if other && users < matches {
			// Fewer users of the class are in the state than match the search: the page is found
			// sooner walking them (in the sort's order, by the users index that holds the state)
			// and looking each up in the terms, than walking the matches and looking up states.
			where := q.classWhere(append(slices.Clone(c[:stateDim]), states[0]), len(listDims), a)
			where = append(where, q.cursorWhere("t."+key, "t.id", cur, a)...)
			out = append(out, "SELECT t."+key+" AS k, t.id AS i FROM users t CROSS JOIN LATERAL (SELECT 1 FROM user_terms x"+
				" WHERE x.user_id = t.id AND x.term >= "+term+" AND x.term < "+a.add(q.term+maxPrefixRune)+" LIMIT 1) x"+
				" WHERE "+strings.Join(where, " AND ")+" ORDER BY t."+key+kdir+", t.id"+kdir+" LIMIT "+lim)
			continue
		}
		from := "user_terms t"
		if other {
			// Some of the class's matches are in a state the walk does not want (there is then
			// one state it wants): each candidate's is looked up by its whole key in the index of
			// users that holds it, index-only. A lateral look-up, not a join: the planner cannot
			// tell how often a match has the state and, joining, would read every match to sort
			// them; looked up one by one, the walk stops with the page.
			from += " CROSS JOIN LATERAL (SELECT 1 FROM users s WHERE " + q.probeWhere(states[0], a) + " LIMIT 1) s"
		}
		where := append([]string{match}, q.classWhere(c, stateDim, a)...)
		where = append(where, q.cursorWhere("t."+key, "t.user_id", cur, a)...)
		out = append(out, "SELECT t."+key+" AS k, t.user_id AS i FROM "+from+" WHERE "+strings.Join(where, " AND ")+
			" ORDER BY t."+key+kdir+", t.user_id"+kdir+" LIMIT "+lim)
	}
	return out
}

// classWhere fixes the first dims columns of t to the class's values.
func (q *listQuery) classWhere(c class, dims int, a *args) []string {
	where := make([]string, dims)
	for i, d := range listDims[:dims] {
		where[i] = "t." + d.col + " = " + a.add(c[i])
	}
	return where
}

// probeWhere finds the user of term row t in state, by the whole key of the users index of the
// sort's key.
func (q *listQuery) probeWhere(state any, a *args) string {
	var on []string
	for _, d := range listDims[:stateDim] {
		on = append(on, "s."+d.col+" = t."+d.col)
	}
	key := q.keyCol()
	on = append(on, "s.state = "+a.add(state), "s."+key+" = t."+key, "s.id = t.user_id")
	return strings.Join(on, " AND ")
}

// cursorWhere is the keyset condition after (before) cur, if any.
func (q *listQuery) cursorWhere(key, id string, cur *cursor, a *args) []string {
	if cur == nil {
		return nil
	}
	return []string{"(" + key + ", " + id + ") " + cmpOp(q.keyDesc) + " (" + a.add(cur.Key) + ", " + a.add(cur.ID) + ")"}
}

// rangePage reads the total and the page's keys of a search too long for a prefix index: its range
// of terms (one row per matching user: lcp < its length) with the filters checked on each, counted
// and the page after the cursor kept by a top-N sort, in one statement (the matches are read
// once). Where the filter or the sort needs the matches' states, they are read by id all at once
// (an index scan for an array of ids, in id order: three times cheaper than a look-up a match).
// matches is how many terms of the range the filters but the state keep.
func (d *DB) rangePage(ctx context.Context, q *listQuery) (total, matches int, keys []pageKey, err error) {
	a := &args{}
	where := q.rangeWhere(a)
	var sql string
	if q.f.Sort == mfa.SortStatus && q.f.Status == mfa.StatusAny {
		sql = q.rangeByStatusSQL(where, a)
	} else {
		sql = q.rangeSQL(where, a)
	}
	return d.readRange(ctx, q, sql, a)
}

// countedPage reads the page's keys of a long search in one state whose prefix is counted
// (longprefix.go; classes are its counts): the total is known, so only the first matches in the
// sort's order are taken (a top-N sort of their range, index-only) and probed for the state: as
// many as the state's share of the matches says should fill the page twice over, and all of them
// if those did not. (Sorting all 12,347 matches of a surname took 8 ms, the first 1,200 of them 2.)
func (d *DB) countedPage(ctx context.Context, q *listQuery, classes []classCount) ([]pageKey, error) {
	matches := 0
	for _, c := range classes {
		matches += c.n
	}
	need := q.f.Limit + 1
	take := 2*need*matches/max(q.total(classes), 1) + 64
	if take >= matches {
		take = 0
	}
	for {
		a := &args{}
		_, _, keys, err := d.readRange(ctx, q, q.candidatesSQL(take, a), a)
		if err != nil || len(keys) == need || take == 0 {
			return keys, err
		}
		take = 0 // all of them
	}
}

// candidatesSQL is the statement of countedPage: the first take matches after the cursor in the
// sort's order (all of them if take is 0), each probed for the state by its whole key in
// users_by_filters_name or _upn (index-only), in that order until the page is full.
func (q *listQuery) candidatesSQL(take int, a *args) string {
	key, kdir := q.keyCol(), dir(q.keyDesc)
	where := append(q.rangeWhere(a), q.cursorWhere("t."+key, "t.user_id", q.cur, a)...)
	cols := dimCols("t.")
	cols = cols[:strings.LastIndex(cols, ", ")] // the class's columns, without the state
	// OFFSET 0 keeps the sorted matches a subquery of their own, probed in their order.
	limit := " OFFSET 0"
	if take > 0 {
		limit = " LIMIT " + a.add(take)
	}
	var on []string
	for _, d := range listDims[:stateDim] {
		on = append(on, "s."+d.col+" = w."+d.col)
	}
	st := a.add(string(q.f.Status))
	on = append(on, "s.state = "+st, "s."+key+" = w.k", "s.id = w.i")
	return "SELECT NULL::bigint, " + st + "::text, w.k, w.i FROM (SELECT t." + key + " AS k, t.user_id AS i, " + cols +
		" FROM user_terms t WHERE " + strings.Join(where, " AND ") + " ORDER BY k" + kdir + ", i" + kdir + limit + ") w" +
		" CROSS JOIN LATERAL (SELECT 1 FROM users s WHERE " + strings.Join(on, " AND ") + " LIMIT 1) x" +
		" ORDER BY w.k" + kdir + ", w.i" + kdir + " LIMIT " + a.add(q.f.Limit+1)
}

// rangeWhere selects a long search's range of terms, one row per matching user, in the view's
// filters but the state.
func (q *listQuery) rangeWhere(a *args) []string {
	where := []string{"t.term >= " + a.add(q.term), "t.term < " + a.add(q.term+maxPrefixRune), fmt.Sprintf("t.lcp < %d", q.n)}
	return append(where, allowedWhere(&q.f, "t.", a)...)
}

// readRange runs a statement of rangeSQL, rangeByStatusSQL or candidatesSQL: a row with the total
// and the number of matches (not candidatesSQL's: the total is known), and the page's keys.
func (d *DB) readRange(ctx context.Context, q *listQuery, sql string, a *args) (total, matches int, keys []pageKey, err error) {
	rows, err := d.pool.Query(ctx, sql, a.vals...)
	if err != nil {
		return 0, 0, nil, err
	}
	var n, id *int64
	var state, k *string
	var out []pageKey
	_, err = pgx.ForEachRow(rows, []any{&n, &state, &k, &id}, func() error {
		if n != nil {
			total, matches = int(*n), int(*id)
			return nil
		}
		out = append(out, pageKey{state: deref(state), key: *k, id: *id})
		return nil
	})
	// The rows of a UNION ALL come in no promised order: the page is put in the walk's order
	// here (byte order, as COLLATE "C" compares).
	slices.SortFunc(out, func(x, y pageKey) int {
		c := cmp.Compare(x.state, y.state)
		if q.stateDesc {
			c = -c
		}
		kc := cmp.Or(strings.Compare(x.key, y.key), cmp.Compare(x.id, y.id))
		if q.keyDesc {
			kc = -kc
		}
		return cmp.Or(c, kc)
	})
	if len(out) > q.f.Limit+1 {
		out = out[:q.f.Limit+1]
	}
	return total, matches, out, err
}

// rangeByStatusSQL is the statement of rangePage sorted by status in any state: the total is the
// matches' count (no state needed), and the page is walked state by state in the walk's order,
// from the cursor's: the matches sorted by display name, each probed for the state by its whole
// key in users_by_filters_name (index-only) until the state has given the page, the next state
// only if it has not (a Limit above the states' Append stops there). So a page costs the sort of
// the matches' keys and a few hundred probes, where reading every match's state first cost one
// look-up a match (nakamura: 11,364, 57 ms of CPU at 1,000,000 users).
func (q *listQuery) rangeByStatusSQL(where []string, a *args) string {
	cols := dimCols("t.")
	cols = cols[:strings.LastIndex(cols, ", ")] // the class's columns, without the state
	sql := "WITH m AS MATERIALIZED (SELECT t.sort_key AS k, t.user_id AS i, " + cols + " FROM user_terms t WHERE " +
		strings.Join(where, " AND ") + ")"
	order := slices.Clone(listDims[stateDim].values)
	if q.stateDesc {
		slices.Reverse(order)
	}
	kdir := dir(q.keyDesc)
	lim := a.add(q.f.Limit + 1)
	var arms []string
	started := q.cur == nil
	for _, st := range order {
		after := ""
		if !started {
			if st != q.cur.State {
				continue // a state the walk has passed
			}
			started = true
			after = " WHERE (m.k, m.i) " + cmpOp(q.keyDesc) + " (" + a.add(q.cur.Key) + ", " + a.add(q.cur.ID) + ")"
		}
		var on []string
		for _, d := range listDims[:stateDim] {
			on = append(on, "s."+d.col+" = w."+d.col)
		}
		on = append(on, "s.state = "+a.add(st), "s.sort_key = w.k", "s.id = w.i")
		// OFFSET 0 keeps the sorted matches a subquery of their own, so that the probes follow
		// their order and stop with the LIMIT.
		arms = append(arms, "SELECT "+a.add(st)+"::text AS st, w.k, w.i FROM (SELECT * FROM m"+after+" ORDER BY m.k"+kdir+", m.i"+kdir+
			" OFFSET 0) w CROSS JOIN LATERAL (SELECT 1 FROM users s WHERE "+strings.Join(on, " AND ")+" LIMIT 1) x ORDER BY w.k"+kdir+", w.i"+kdir+" LIMIT "+lim)
	}
	page := "SELECT NULL::bigint, NULL::text, NULL::text, NULL::bigint WHERE false"
	if len(arms) > 0 {
		page = "SELECT NULL::bigint, st, k, i FROM ((" + strings.Join(arms, ") UNION ALL (") + ")) p LIMIT " + lim
	}
	return sql + " SELECT count(*), NULL::text, NULL::text, count(*) FROM m UNION ALL (" + page + ")"
}

// rangeSQL is the statement of rangePage otherwise: the matches' states, where the filter or the
// sort needs them, read by id all at once.
func (q *listQuery) rangeSQL(where []string, a *args) string {
	sql := "WITH m AS MATERIALIZED (SELECT NULL::text AS st, t." + q.keyCol() + " AS k, t.user_id AS i FROM user_terms t WHERE " +
		strings.Join(where, " AND ") + ")"
	from := "m"
	if byStatus := q.f.Sort == mfa.SortStatus; byStatus || q.f.Status != mfa.StatusAny {
		state := ""
		if q.f.Status != mfa.StatusAny {
			state = " AND u.state = " + a.add(string(q.f.Status))
		}
		sql += ", s AS MATERIALIZED (SELECT u.id, u.state FROM users u WHERE u.id = ANY(ARRAY(SELECT i FROM m))" + state + ")" +
			", j AS MATERIALIZED (SELECT s.state AS st, m.k, m.i FROM m JOIN s ON s.id = m.i)"
		from = "j"
	}
	order := "k" + dir(q.keyDesc) + ", i" + dir(q.keyDesc)
	var after string
	if q.cur != nil {
		after = "(k, i) " + cmpOp(q.keyDesc) + " (" + a.add(q.cur.Key) + ", " + a.add(q.cur.ID) + ")"
		if q.f.Sort == mfa.SortStatus {
			s := a.add(q.cur.State)
			after = "(st " + cmpOp(q.stateDesc) + " " + s + " OR st = " + s + " AND " + after + ")"
		}
		after = " WHERE " + after
	}
	if q.f.Sort == mfa.SortStatus {
		order = "st" + dir(q.stateDesc) + ", " + order
	}
	sql += " SELECT (SELECT count(*) FROM " + from + "), NULL::text, NULL::text, (SELECT count(*) FROM m)" +
		" UNION ALL (SELECT NULL, st, k, i FROM " + from + after + " ORDER BY " + order + " LIMIT " + a.add(q.f.Limit+1) + ")"
	return sql
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
