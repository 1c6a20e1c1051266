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

// TestFindUsersPlans checks with EXPLAIN QUERY PLAN that no request scans a table or sorts more
// than the matches of a search of three characters or more: views and short searches page along
// an index in display-name order.
func TestFindUsersPlans(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 50)
	c := encodeCursor(row{sortKey: "m", id: 5})
	plan := func(q string, args []any) string {
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
	for _, view := range mfa.Views {
		for _, status := range []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"} {
			for _, q := range []string{"", "a", "él", "smi", "élodie lefèvre"} {
				for _, cur := range []struct{ after, before string }{{}, {after: c}, {before: c}} {
					f := mfa.UserFilter{View: view, Status: status, Query: q, After: cur.after, Before: cur.before, Limit: 100}
					fq, err := findUsersQuery(f)
					if err != nil {
						t.Fatal(err)
					}
					count, page := plan(fq.count, fq.countArgs), plan(fq.page, fq.pageArgs)
					name := fmt.Sprintf("view=%s status=%s q=%q after=%t before=%t", view, status, q, cur.after != "", cur.before != "")
					// All users in one state: the two halves of users_by_enabled_state_name, each
					// a bounded search (LIMIT), merged; the merge sorts at most twice the page.
					merged := q == "" && view == mfa.ViewAll && status != mfa.StatusAny
					if merged && (!strings.Contains(page, "MERGE (UNION ALL)") ||
						strings.Count(page, "SEARCH t USING COVERING INDEX users_by_enabled_state_name (account_enabled=? AND state=?") != 2) {
						t.Errorf("%s: not a merge of the two halves:\n%s", name, page)
					}
					for _, line := range strings.Split(count+"\n"+page, "\n") {
						// The page's subquery (m) and the six rows of user_counts are scanned; so is
						// users_by_name from its start for the first page of all users: in order, up to
						// the LIMIT.
						ok := line == "SCAN m" || q == "" && line == "SCAN t" ||
							q == "" && line == "SCAN t USING COVERING INDEX users_by_name" && view == mfa.ViewAll && status == mfa.StatusAny ||
							merged && strings.HasPrefix(line, "SCAN (subquery-")
						if strings.HasPrefix(line, "SCAN ") && !ok {
							t.Errorf("%s: %q\n%s\n%s", name, line, count, page)
						}
					}
					var keys string
					switch n := len([]rune(mfa.Fold(q))); {
					case n == 0:
						keys = "COVERING INDEX users_by_"
					case n <= 2:
						keys = fmt.Sprintf("COVERING INDEX user_terms_by_prefix%d", n)
					default:
						keys = "PRIMARY KEY (term>? AND term<?)"
					}
					if !strings.Contains(page, keys) || !strings.Contains(page, "SEARCH u USING INTEGER PRIMARY KEY") {
						t.Errorf("%s: the page does not use %s:\n%s", name, keys, page)
					}
					// Up to four characters the total is read from prefix_counts; beyond, it is
					// counted over the search's range.
					countKeys := keys
					if n := len([]rune(mfa.Fold(q))); n > 0 && n <= countedPrefix {
						countKeys = "SEARCH t USING PRIMARY KEY (prefix=?"
					}
					if q != "" && !strings.Contains(count, countKeys) {
						t.Errorf("%s: the count does not use %s:\n%s", name, countKeys, count)
					}
					// A status filter on a search probes the index by state with the whole key.
					if q != "" && status != mfa.StatusAny && !strings.Contains(page, "SEARCH s USING COVERING INDEX users_by_enabled_state_name (account_enabled=? AND state=? AND sort_key=? AND id=?") {
						t.Errorf("%s: the page does not probe the index by state:\n%s", name, page)
					}
					if len([]rune(mfa.Fold(q))) <= 2 && !merged && strings.Contains(page, "TEMP B-TREE") {
						t.Errorf("%s: the page sorts:\n%s", name, page)
					}
				}
			}
		}
	}
}
