package postgres

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// checkCounts compares user_counts and prefix_counts with a count from scratch, the terms' copies
// of their user's keys and filters with the user's, and methods_class with mfa.ClassifyMethods.
func checkCounts(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	table := func(q string) map[string]int64 {
		rows, err := db.pool.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var k string
			var n int64
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				out[k] = n
			}
		}
		return out
	}
	same := func(what string, got, want map[string]int64) {
		t.Helper()
		for k, n := range want {
			if got[k] != n {
				t.Errorf("%s %q: stored %d, counted %d", what, k, got[k], n)
			}
		}
		for k, n := range got {
			if _, ok := want[k]; !ok {
				t.Errorf("%s %q: stored %d, counted 0", what, k, n)
			}
		}
	}
	cls := "concat_ws(' ', account_enabled, privileged, methods_class, ca_covered, state)"
	same("user_counts", table("SELECT "+cls+", n FROM user_counts"), table("SELECT "+cls+", count(*) FROM users GROUP BY 1"))
	same("prefix_counts",
		table("SELECT prefix || ' ' || "+cls+", n FROM prefix_counts"),
		// From scratch, not by term_prefixes: a term counts its user under its first one to four
		// characters and under the listed long prefixes it starts with, past the characters it
		// shares with the user's previous term.
		table(`SELECT p || ' ' || concat_ws(' ', u.account_enabled, u.privileged, u.methods_class, u.ca_covered, u.state), count(*)
			FROM user_terms t JOIN users u ON u.id = t.user_id, LATERAL (
				SELECT left(t.term, k) FROM generate_series(1, 4) k WHERE k > t.lcp AND k <= length(t.term)
				UNION ALL SELECT l.prefix FROM long_prefixes l WHERE starts_with(t.term, l.prefix) AND length(l.prefix) > t.lcp) x (p)
			GROUP BY 1`))
	var stale int
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM user_terms t JOIN users u ON u.id = t.user_id
		WHERE (t.sort_key, t.upn_key, t.account_enabled, t.privileged, t.methods_class, t.ca_covered) IS DISTINCT FROM
			(u.sort_key, u.upn_key, u.account_enabled, u.privileged, u.methods_class, u.ca_covered)`).Scan(&stale); err != nil || stale != 0 {
		t.Errorf("%d term rows differ from their user (%v)", stale, err)
	}
	rows, err := db.pool.Query(ctx, "SELECT methods, methods_class, ca_status, security_defaults, ca_covered FROM users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var methods, status string
		var class int16
		var defaults, covered bool
		if err := rows.Scan(&methods, &class, &status, &defaults, &covered); err != nil {
			t.Fatal(err)
		}
		if ms, _ := mfa.ParseMethodList(methods); mfa.MethodsClass(class) != mfa.ClassifyMethods(ms) {
			t.Errorf("%q: methods_class %d, mfa.ClassifyMethods %d", methods, class, mfa.ClassifyMethods(ms))
		}
		if c := (mfa.Coverage{Status: mfa.CAStatus(status), SecurityDefaults: defaults}); covered != c.Covered() {
			t.Errorf("%+v: ca_covered %v, mfa.Coverage.Covered %v", c, covered, c.Covered())
		}
	}
}

// extraUsers are users with names in other scripts and short words (as storetest's).
func extraUsers() []mfa.User {
	return []mfa.User{
		{UPN: "wang.xiaoming@contoso.com", DisplayName: "王小明", AccountEnabled: true, State: mfa.StateEnabled},
		{UPN: "olafur@contoso.com", DisplayName: "Ólafur Ørn Ásgeirsson", AccountEnabled: true, State: mfa.StateDisabled,
			Methods: []mfa.Method{{Type: mfa.MethodOfficePhone, IsDefault: true}}},
		{UPN: "jrr@contoso.com", DisplayName: "J. R. R. Tolkien", AccountEnabled: true, State: mfa.StateEnforced, Privileged: true},
	}
}

// The counts follow every writer of users: seeding, import (new and changed users), a batch of
// state changes mixed with renames and account changes, one user at a time, a method change alone,
// a batch that fails, plain SQL, and deletion.
func TestCountsFollowEveryWriter(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	all := slices.Collect(mfa.DemoUsers(300))
	all = append(all, extraUsers()...)
	if _, err := db.SeedUsers(ctx, slices.Values(all), storetest.T0, nil); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
	// Long prefixes counted from here on (longprefix.go): every writer below keeps them too.
	listLongPrefixes(t, db)
	checkCounts(t, db)

	imp := []mfa.ImportUser{
		{Line: 2, User: mfa.User{UPN: "new.person@contoso.com", DisplayName: "Nouvelle Personne", AccountEnabled: true, State: mfa.StateEnforced}},
		{Line: 3, User: mfa.User{UPN: all[3].UPN, DisplayName: "Renamed By Import", AccountEnabled: !all[3].AccountEnabled, State: mfa.StateEnabled}},
	}
	if _, err := db.ImportUsers(ctx, imp, mfa.ImportColumns{State: true, AccountEnabled: true}, storetest.T0, nil); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)

	states := []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced}
	var upns []string
	for i := 0; i < 120; i++ {
		upns = append(upns, all[i].UPN)
	}
	upns = append(upns, "nobody@contoso.com", all[300].UPN, all[301].UPN)
	_, errs, err := db.UpdateUsers(ctx, mfa.Refs(upns), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		switch {
		case i == 7:
			return nil, mfa.Errorf(mfa.EFORBIDDEN, "refused")
		case i == 11:
			u.DisplayName = "Zz Renamed In Batch"
		case i == 12:
			u.AccountEnabled = !u.AccountEnabled
			u.State = mfa.StateEnforced
		case i == 13:
			u.Privileged = !u.Privileged
		case i%10 == 4:
			u.Methods = []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}} // the class alone
		default:
			u.State = states[(i+int(u.State[1]))%3]
		}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	})
	if err != nil || errs[7] == nil || errs[120] == nil {
		t.Fatalf("batch: %v %v %v", err, errs[7], errs[120])
	}
	checkCounts(t, db)

	if _, err := db.UpdateUser(ctx, all[200].UPN, func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.State, u.Methods = mfa.StateEnforced, nil
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)

	cctx, cancel := context.WithCancel(ctx)
	_, _, err = db.UpdateUsers(cctx, mfa.Refs(upns[:50]), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = states[(i+int(u.State[1])+1)%3]
		if i == 40 {
			cancel()
		}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	})
	if err == nil {
		t.Fatal("a cancelled batch committed")
	}
	checkCounts(t, db)

	if _, err := db.pool.Exec(ctx, "UPDATE users SET state = 'enforced', account_enabled = NOT account_enabled, methods = 'fido2' WHERE id % 7 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
	storetest.CoverSome(t, db)
	checkCounts(t, db)
	if _, err := db.pool.Exec(ctx, "UPDATE users SET security_defaults = NOT security_defaults, ca_status = 'required' WHERE id % 5 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
	if _, err := db.pool.Exec(ctx, "DELETE FROM users WHERE id % 11 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

// listLongPrefixes counts, as long prefixes, the most common prefixes of five, six and eight
// characters of db's terms, a whole term, a prefix of a user name that shares four characters with
// a first name (lcp 4), and one no term has yet (the import below adds it).
func listLongPrefixes(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	rows, err := db.pool.Query(ctx, `SELECT p FROM (
			SELECT left(term, k) AS p, k, count(*) AS n FROM user_terms, (VALUES (5), (6), (8)) v (k)
			WHERE lcp < k AND length(term) >= k GROUP BY 1, 2) x
		ORDER BY row_number() OVER (PARTITION BY k ORDER BY n DESC, p) LIMIT 6`)
	if err != nil {
		t.Fatal(err)
	}
	prefixes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var whole, shared string
	if err := db.pool.QueryRow(ctx, "SELECT term FROM user_terms WHERE length(term) > 5 AND lcp = 0 ORDER BY term LIMIT 1").Scan(&whole); err != nil {
		t.Fatal(err)
	}
	if err := db.pool.QueryRow(ctx, "SELECT left(term, 7) FROM user_terms WHERE lcp = 4 AND length(term) >= 7 ORDER BY term LIMIT 1").Scan(&shared); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(prefixes, whole, shared, "nouvelle") {
		if err := db.countLongPrefix(ctx, p); err != nil {
			t.Fatalf("count %q: %v", p, err)
		}
	}
	var n int
	if err := db.pool.QueryRow(ctx, "SELECT count(*) FROM long_prefixes").Scan(&n); err != nil || n != len(prefixes)+3 {
		t.Fatalf("%d long prefixes listed, want %d (%v)", n, len(prefixes)+3, err)
	}
}

// For every set of method types, in both orders the list may take, the class PostgreSQL computes
// is mfa.ClassifyMethods's.
func TestMethodsClassMatchesSQL(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	if _, err := db.SeedUsers(ctx, mfa.DemoUsers(1), storetest.T0, nil); err != nil {
		t.Fatal(err)
	}
	for set := 0; set < 1<<len(mfa.MethodTypes); set++ {
		var ms []mfa.Method
		for i, m := range mfa.MethodTypes {
			if set&(1<<i) != 0 {
				ms = append(ms, mfa.Method{Type: m, IsDefault: len(ms) == 0})
			}
		}
		rev := slices.Clone(ms)
		slices.Reverse(rev)
		for _, list := range [][]mfa.Method{ms, rev} {
			var got int16
			if err := db.pool.QueryRow(ctx, "UPDATE users SET methods = $1 RETURNING methods_class", mfa.FormatMethodList(list)).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := mfa.ClassifyMethods(list); mfa.MethodsClass(got) != want {
				t.Errorf("%q: SQL class %d, mfa.ClassifyMethods %d", mfa.FormatMethodList(list), got, want)
			}
		}
	}
	checkCounts(t, db)
}

// A cursor sorted by status without its state is not valid.
func TestFindUsersStatusCursorWithoutState(t *testing.T) {
	db := openTest(t)
	if _, err := db.SeedUsers(context.Background(), mfa.DemoUsers(5), storetest.T0, nil); err != nil {
		t.Fatal(err)
	}
	bad := encodeCursor(cursor{Sort: mfa.SortStatus, Order: mfa.OrderAsc, Key: "m", ID: 3})
	f := mfa.UserFilter{View: mfa.ViewAll, Limit: 10, Sort: mfa.SortStatus, Order: mfa.OrderAsc, After: bad}
	if _, err := db.FindUsers(context.Background(), f); mfa.ErrorField(err) != "cursor" {
		t.Errorf("status cursor without state: %v", err)
	}
}
