package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// checkPages walks every page of f forwards and checks it against the reference over all.
func checkPages(t *testing.T, db *DB, all []mfa.User, f mfa.UserFilter) {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, u := range all {
		if matches(u, f) {
			want = append(want, mfa.NormalizeUPN(u.UPN))
		}
	}
	var got []string
	lastKey, lastID := "", 0
	for {
		p, err := db.FindUsers(context.Background(), f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if p.Total != len(want) {
			t.Fatalf("view=%s status=%s q=%q: total %d, want %d", f.View, f.Status, f.Query, p.Total, len(want))
		}
		for _, u := range p.Users {
			k, id := mfa.Fold(u.DisplayName), 0
			fmt.Sscan(u.ID, &id)
			if k < lastKey || k == lastKey && id <= lastID {
				t.Fatalf("q=%q: %q (%d) after %q (%d): not sorted", f.Query, k, id, lastKey, lastID)
			}
			lastKey, lastID = k, id
			got = append(got, mfa.NormalizeUPN(u.UPN))
		}
		if p.NextCursor == "" {
			break
		}
		f.After = p.NextCursor
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("view=%s status=%s q=%q: got %d users, want %d", f.View, f.Status, f.Query, len(got), len(want))
	}
}

// extraUsers have names that exercise the one- and two-character prefix indexes: other scripts,
// one-letter words, terms that share prefixes, a user name unlike the display name.
func extraUsers() []mfa.User {
	return []mfa.User{
		{UPN: "wang.xiaoming@contoso.com", DisplayName: "王小明", AccountEnabled: true, State: mfa.StateEnabled},
		{UPN: "wang.xiaohong@contoso.com", DisplayName: "王小红", AccountEnabled: false, State: mfa.StateEnforced},
		{UPN: "olafur@contoso.com", DisplayName: "Ólafur Ørn Ásgeirsson", AccountEnabled: true, State: mfa.StateDisabled},
		{UPN: "jrr@contoso.com", DisplayName: "J. R. R. Tolkien", AccountEnabled: true, State: mfa.StateEnforced},
		{UPN: "anna.annasdottir@contoso.com", DisplayName: "Anna Annasdóttir-Anders", AccountEnabled: true, State: mfa.StateEnabled},
		{UPN: "x@contoso.com", DisplayName: "Xavier", AccountEnabled: false, State: mfa.StateDisabled},
		{UPN: "d.ivanova@contoso.com", DisplayName: "Дарья Иванова", AccountEnabled: true, State: mfa.StateDisabled},
	}
}

func TestFindUsersShortPrefixes(t *testing.T) {
	db := openTest(t)
	all := append(seedDemo(t, db, 400), extraUsers()...)
	if _, err := db.SeedUsers(context.Background(), slices.Values(extraUsers()), t0, nil); err != nil {
		t.Fatal(err)
	}
	queries := []string{"a", "an", "ann", "e", "el", "É", "o", "ó", "ø", "ol", "j", "j.", "r", "t", "x", "xa",
		"w", "wa", "王", "王小", "王小红", "д", "ив", "-", "z", "zz", "q", "@", "annasdottir-a"}
	for _, view := range mfa.Views {
		for _, status := range []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"} {
			for _, q := range queries {
				checkPages(t, db, all, mfa.UserFilter{View: view, Status: status, Query: q, Limit: 23})
			}
		}
	}
}

// TestFindUsersAfterChanges changes users' filters, names and user names, by the code and by
// plain SQL, and checks that searches follow.
func TestFindUsersAfterChanges(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	all := seedDemo(t, db, 300)
	// By the code: rename a user and change its filters.
	u, err := db.FindUser(ctx, all[5].UPN)
	if err != nil {
		t.Fatal(err)
	}
	u.DisplayName, u.UPN, u.State, u.AccountEnabled = "Zebedee Quux", "zq@contoso.com", mfa.StateEnforced, false
	var id int64
	fmt.Sscan(u.ID, &id)
	if err := db.inTx(ctx, func(tx *sql.Tx) error { return updateUser(ctx, tx, id, u) }); err != nil {
		t.Fatal(err)
	}
	all[5].DisplayName, all[5].UPN, all[5].State, all[5].AccountEnabled = u.DisplayName, u.UPN, u.State, u.AccountEnabled
	// By SQL: the triggers copy the filter columns to the user's terms and keep the counts.
	if _, err := db.db.ExecContext(ctx, "UPDATE users SET state = 'enabled', account_enabled = 0 WHERE upn_key = ?", mfa.NormalizeUPN(all[7].UPN)); err != nil {
		t.Fatal(err)
	}
	all[7].State, all[7].AccountEnabled = mfa.StateEnabled, false
	for _, view := range mfa.Views {
		for _, status := range []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"} {
			for _, q := range []string{"", "z", "zq", "zeb", "quux", string([]rune(all[5].DisplayName)[:1]), string([]rune(all[7].DisplayName)[:2]), strings.ToLower(all[7].DisplayName)} {
				checkPages(t, db, all, mfa.UserFilter{View: view, Status: status, Query: q, Limit: 50})
			}
		}
	}
}

// TestSeedUsersIntoNonEmptyDirectory checks the batched path and that the bulk path left every
// index in place.
func TestSeedUsersIntoNonEmptyDirectory(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	indexes := func() []string {
		rows, err := db.db.QueryContext(ctx, "SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var s string
			rows.Scan(&s)
			out = append(out, s)
		}
		return out
	}
	before := indexes()
	var all []mfa.User
	for u := range mfa.DemoUsers(500) {
		all = append(all, u)
	}
	var reports []int
	n, err := db.SeedUsers(ctx, slices.Values(all[:200]), t0, func(done int) { reports = append(reports, done) })
	if err != nil || n != 200 || !slices.Equal(reports, []int{200}) {
		t.Fatalf("bulk seed: %d, %v, progress %v", n, err, reports)
	}
	if got := indexes(); !slices.Equal(got, before) {
		t.Fatalf("indexes after the bulk seed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	if n, err := db.SeedUsers(ctx, slices.Values(all[200:]), t0, nil); err != nil || n != 300 {
		t.Fatalf("batched seed: %d, %v", n, err)
	}
	for _, q := range []string{"", "a", "el", "smi"} {
		checkPages(t, db, all, mfa.UserFilter{View: mfa.ViewAllowed, Query: q, Limit: 100})
	}
	// A conflict in the batched path is reported as such.
	if _, err := db.SeedUsers(ctx, slices.Values(all[10:11]), t0, nil); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("seeding an existing user: %v", err)
	}
}

// TestSeedUsersAllOrNothing: a bulk seed that fails leaves an empty directory with its indexes.
func TestSeedUsersAllOrNothing(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	indexes := func() int {
		var n int
		db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'user%'").Scan(&n)
		return n
	}
	want := indexes()
	users := slices.Collect(mfa.DemoUsers(50))
	users = append(users, users[3])
	if _, err := db.SeedUsers(ctx, slices.Values(users), t0, nil); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("got %v, want ECONFLICT", err)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("after a failed seed: %d users, %v", n, err)
	}
	if got := indexes(); got != want || want < 6 {
		t.Fatalf("%d indexes on users and user_terms after a failed seed, want %d", got, want)
	}
	seedDemo(t, db, 50)
}

// explainPlan returns the lines of EXPLAIN QUERY PLAN of q.
func explainPlan(t *testing.T, db *DB, q string, args []any) string {
	t.Helper()
	rows, err := db.db.Query("EXPLAIN QUERY PLAN "+q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		out = append(out, detail)
	}
	return strings.Join(out, "\n")
}

// planFilters are every combination of the list's filters, sorts and orders, with searches of
// each length, for the plan test.
func planFilters(yield func(mfa.UserFilter) bool) {
	for _, view := range mfa.Views {
		for _, status := range []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"} {
			for _, priv := range []mfa.PrivilegedFilter{mfa.PrivilegedAny, mfa.PrivilegedYes, mfa.PrivilegedNo} {
				for _, methods := range []mfa.MethodsFilter{mfa.MethodsAny, mfa.MethodsNone, mfa.MethodsPhoneOnly} {
					// The coverage filter with any methods: the other combinations plan the same.
					coverages := []mfa.CoverageFilter{mfa.CoverageAny}
					if methods == mfa.MethodsAny {
						coverages = append(coverages, mfa.CoverageCA, mfa.CoverageNone)
					}
					for _, cov := range coverages {
						for _, sort := range mfa.SortFields {
							for _, order := range []mfa.SortOrder{mfa.OrderAsc, mfa.OrderDesc} {
								for _, q := range []string{"", "a", "él", "smi", "mart", "élodie lefèvre"} {
									f := mfa.UserFilter{View: view, Status: status, Privileged: priv, Methods: methods, Coverage: cov,
										Sort: sort, Order: order, Query: q, Limit: 100}
									if !yield(f) {
										return
									}
								}
							}
						}
					}
				}
			}
		}
	}
}

// TestFindUsersPlans checks with EXPLAIN QUERY PLAN, for every combination of filters, sort,
// order, search length and paging direction, that no request scans a table or an index from its
// start, and that only a search too long for the prefix indexes sorts (its own matches): views and
// short searches merge bounded searches of indexes in the sort's order.
func TestFindUsersPlans(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 50)
	n := 0
	for f := range planFilters {
		c := encodeCursor(cursor{Sort: f.Sort, Order: f.Order, State: "enabled", Key: "m", ID: 5})
		for _, cur := range []struct{ after, before string }{{}, {after: c}, {before: c}} {
			f := f
			f.After, f.Before = cur.after, cur.before
			n++
			lq, err := newListQuery(f)
			if err != nil {
				t.Fatal(err)
			}
			name := fmt.Sprintf("%+v", f)
			cq, cargs := lq.countSQL()
			if lq.countedByClass() {
				cq, cargs = lq.classesSQL()
			}
			count := explainPlan(t, db, cq, cargs)
			// Many users in every class; by user name with a status filter, also few in each
			// (read from users_by_filters_name instead).
			pqs := lq.pageQueries(allClasses(&lq.f, 100000))
			if len(pqs) == 0 {
				continue // every arm is before the cursor
			}
			var plans []string
			for _, pq := range pqs {
				plans = append(plans, explainPlan(t, db, pq.sql, pq.args))
			}
			page := strings.Join(plans, "\n")
			if src := lq.source(); src == fromRange && (f.Status != mfa.StatusAny || f.Sort == mfa.SortStatus) {
				// A long search by state walks its sorted matches (one sort, theirs) and probes
				// each for the state, stopping with the page: nothing sorts the probed.
				for _, plan := range plans {
					if strings.Count(plan, "TEMP B-TREE") != 1 || !strings.Contains(plan, "CO-ROUTINE m\n") ||
						!strings.Contains(plan, "SEARCH s USING COVERING INDEX users_by_filters_name (account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=? AND state=? AND sort_key=? AND id=?") {
						t.Errorf("%s: the matches are not walked in order:\n%s", name, plan)
					}
				}
			}
			if lq.source() == fromUsersByUPN && f.Status != mfa.StatusAny {
				q, args := lq.pageSQL(allClasses(&lq.f, 1))
				collected := explainPlan(t, db, q, args)
				if !strings.Contains(collected, "SEARCH t USING INDEX users_by_filters_name (account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=? AND state=?)") ||
					strings.Contains(collected, "SCAN") && !strings.Contains(collected, "SCAN m") {
					t.Errorf("%s: few users in the state are not read from users_by_filters_name:\n%s", name, collected)
				}
			}
			src := lq.source()
			for _, line := range strings.Split(count+"\n"+page, "\n") {
				// The page's subqueries and the rows of user_counts (at most 36) are scanned.
				ok := line == "SCAN m" || strings.HasPrefix(line, "SCAN (subquery-") || f.Query == "" && line == "SCAN t"
				if strings.HasPrefix(line, "SCAN ") && !ok {
					t.Errorf("%s: %q\n%s\n%s", name, line, count, page)
				}
			}
			var keys string
			switch src {
			case fromUsersByName:
				keys = "SEARCH t USING COVERING INDEX users_by_filters_name (account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=? AND state=?"
			case fromUsersByUPN:
				keys = "SEARCH t USING COVERING INDEX users_by_filters_upn (account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=?"
			case fromPrefixByName:
				keys = fmt.Sprintf("SEARCH t USING COVERING INDEX user_terms_by_prefix%d (<expr>=? AND account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=?", lq.n)
			case fromPrefixByUPN:
				keys = fmt.Sprintf("SEARCH t USING COVERING INDEX user_terms_by_prefix%d_upn (<expr>=? AND account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=?", lq.n)
			default:
				keys = "SEARCH t USING PRIMARY KEY (term>? AND term<?)"
			}
			if !strings.Contains(page, keys) || !strings.Contains(page, "SEARCH u USING INTEGER PRIMARY KEY") {
				t.Errorf("%s: the page does not use %s:\n%s", name, keys, page)
			}
			// Sorted by status, a search sorts the page of each state (at most limit + 1 rows) to
			// merge them.
			sorts := strings.Count(page, "TEMP B-TREE")
			if src == fromPrefixByName && f.Sort == mfa.SortStatus {
				sorts -= strings.Count(page, "SCAN (subquery-")
			}
			if src != fromRange && sorts > 0 {
				t.Errorf("%s: the page sorts:\n%s", name, page)
			}
			// Up to four characters the total is read from prefix_counts; beyond, it is counted
			// over the search's range.
			countKeys := "SEARCH t USING PRIMARY KEY (term>? AND term<?)"
			if f.Query == "" {
				countKeys = " t" // user_counts: SCAN t, or SEARCH t USING PRIMARY KEY (account_enabled=?)
			} else if lq.countedByClass() {
				countKeys = "SEARCH t USING PRIMARY KEY (prefix=?"
			}
			if !strings.Contains(count, countKeys) {
				t.Errorf("%s: the count does not use %s:\n%s", name, countKeys, count)
			}
			// A status filter on an index without the state probes the state's index by the whole key.
			if src != fromUsersByName && src != fromRange && (f.Status != mfa.StatusAny || f.Sort == mfa.SortStatus) && !strings.Contains(page,
				"SEARCH s USING COVERING INDEX users_by_filters_name (account_enabled=? AND privileged=? AND methods_class=? AND ca_covered=? AND state=? AND sort_key=? AND id=?") {
				t.Errorf("%s: the page does not probe the index by state:\n%s", name, page)
			}
		}
	}
	t.Logf("%d plans checked", n)
}
