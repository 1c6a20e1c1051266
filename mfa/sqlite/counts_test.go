package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// checkCounts compares user_counts and prefix_counts with a count from scratch, and checks that no
// transaction left their upkeep deferred.
func checkCounts(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	table := func(q string) map[string]int {
		rows, err := db.db.QueryContext(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int{}
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				out[k] = n
			}
		}
		return out
	}
	same := func(what string, got, want map[string]int) {
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
	cls := "account_enabled || ' ' || privileged || ' ' || methods_class || ' ' || ca_covered || ' ' || state"
	same("user_counts",
		table("SELECT "+cls+", n FROM user_counts"),
		table("SELECT "+cls+", COUNT(*) FROM users GROUP BY 1"))
	same("prefix_counts",
		table("SELECT prefix || ' ' || "+cls+", n FROM prefix_counts"),
		// A term counts its user under its first one to four characters and under the listed long
		// prefixes it starts with, past the characters it shares with the user's previous term.
		table(`SELECT p || ' ' || u.account_enabled || ' ' || u.privileged || ' ' || u.methods_class || ' ' || u.ca_covered || ' ' || u.state, COUNT(*)
			FROM (SELECT t.user_id, substr(t.term, 1, k.k) AS p
					FROM user_terms t, (SELECT 1 AS k UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4) k
					WHERE t.lcp < k.k AND length(t.term) >= k.k
				UNION ALL SELECT t.user_id, l.prefix FROM user_terms t, long_prefixes l
					WHERE substr(t.term, 1, length(l.prefix)) = l.prefix AND length(l.prefix) > t.lcp) x
			JOIN users u ON u.id = x.user_id GROUP BY 1`))
	// The terms hold their user's keys and filters (the probes of FindUsers find users by them),
	// and methods_class is the class of the methods.
	var stale, badClass int
	if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_terms t JOIN users u ON u.id = t.user_id
		WHERE (t.sort_key, t.upn_key, t.account_enabled, t.privileged, t.methods_class, t.ca_covered) IS NOT
			(u.sort_key, u.upn_key, u.account_enabled, u.privileged, u.methods_class, u.ca_covered)`).Scan(&stale); err != nil || stale != 0 {
		t.Errorf("%d term rows differ from their user (%v)", stale, err)
	}
	rows, err := db.db.QueryContext(ctx, "SELECT methods, methods_class FROM users")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var methods string
		var class int
		if err := rows.Scan(&methods, &class); err != nil {
			t.Fatal(err)
		}
		ms, _ := mfa.ParseMethodList(methods)
		if mfa.MethodsClass(class) != mfa.ClassifyMethods(ms) {
			badClass++
		}
	}
	if badClass != 0 {
		t.Errorf("%d users with a methods_class not that of their methods", badClass)
	}
	var deferred int
	if err := db.db.QueryRowContext(ctx, "SELECT deferred FROM counts_deferred").Scan(&deferred); err != nil || deferred != 0 {
		t.Errorf("counts_deferred = %d (%v), want 0", deferred, err)
	}
}

// The counts follow every writer of users: seeding, import (new and changed users), a batch of
// state changes (deferred upkeep) mixed with renames and account changes, one user at a time, a
// batch that fails, plain SQL, and deletion.
func TestCountsFollowEveryWriter(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	all := append(seedDemo(t, db, 300), extraUsers()...)
	if _, err := db.SeedUsers(ctx, slices.Values(extraUsers()), t0, nil); err != nil {
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
	if _, err := db.ImportUsers(ctx, imp, mfa.ImportColumns{State: true, AccountEnabled: true}, t0, nil); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)

	// A batch: state changes (the narrow, deferred path), a rename and a block (the full path), a
	// refused user and an unknown one.
	states := []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced}
	var upns []string
	for i := 0; i < 120; i++ {
		upns = append(upns, all[i].UPN)
	}
	upns = append(upns, "nobody@contoso.com", all[300].UPN, all[301].UPN)
	methodsBefore := map[string][]mfa.Method{}
	for _, u := range all {
		methodsBefore[u.UPN] = u.Methods
	}
	_, errs, err := db.UpdateUsers(ctx, mfa.Refs(upns), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		switch {
		case i == 7:
			return nil, mfa.Errorf(mfa.EFORBIDDEN, "refused")
		case i == 11:
			u.DisplayName = "Zz Renamed In Batch"
		case i == 12:
			u.AccountEnabled = !u.AccountEnabled
			u.State = mfa.StateEnforced
		case i%10 == 3:
			// Methods of another class (the full path), with a state change.
			u.Methods = []mfa.Method{{Type: mfa.MethodOfficePhone, IsDefault: true}}
			if len(methodsBefore[u.UPN]) > 0 {
				u.Methods = nil
			}
			u.State = states[(i+int(u.State[1]))%3]
		case i%10 == 4:
			// The admin flag (the full path).
			u.Privileged = !u.Privileged
		case i%10 == 5 && len(u.Methods) > 0:
			// Other methods of the same class (the narrow path), with a state change.
			u.Methods = append(slices.Clone(u.Methods), mfa.Method{Type: mfa.MethodEmail})
			u.State = states[(i+int(u.State[1]))%3]
		default:
			u.State = states[(i+int(u.State[1]))%3]
		}
		rec := mfa.AuditRecord{Action: "test", Target: u.UPN}
		return &rec, nil
	})
	if err != nil || errs[7] == nil || errs[120] == nil {
		t.Fatalf("batch: %v %v %v", err, errs[7], errs[120])
	}
	checkCounts(t, db)

	// One user at a time.
	if _, err := db.UpdateUser(ctx, all[200].UPN, func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = mfa.StateEnforced
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	}); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)

	// A batch whose transaction fails (here: cancelled half-way) changes nothing, the deferral
	// included.
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

	// Plain SQL, then deletion.
	if _, err := db.db.ExecContext(ctx, "UPDATE users SET state = 'enforced', account_enabled = 1 - account_enabled WHERE id % 7 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
	for _, u := range all[250:260] {
		if err := db.RemoveIndexedUser(ctx, u.UPN); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.db.ExecContext(ctx, "DELETE FROM users WHERE id % 11 = 0"); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, db)
}

// listLongPrefixes counts, as long prefixes, the most common prefixes of five, six and eight
// characters of db's terms, a whole term, a prefix of a user name that shares four characters with
// a first name (lcp 4), and one no term has yet (the import adds it).
func listLongPrefixes(t *testing.T, db *DB) {
	t.Helper()
	ctx := context.Background()
	var prefixes []string
	for _, k := range []int{5, 6, 8} {
		rows, err := db.db.QueryContext(ctx, `SELECT substr(term, 1, ?) AS p FROM user_terms WHERE lcp < ? AND length(term) >= ?
			GROUP BY p ORDER BY COUNT(*) DESC, p LIMIT 2`, k, k, k)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var p string
			if err := rows.Scan(&p); err != nil {
				t.Fatal(err)
			}
			prefixes = append(prefixes, p)
		}
		rows.Close()
	}
	var whole, shared string
	if err := db.db.QueryRowContext(ctx, "SELECT term FROM user_terms WHERE length(term) > 5 AND lcp = 0 ORDER BY term LIMIT 1").Scan(&whole); err != nil {
		t.Fatal(err)
	}
	if err := db.db.QueryRowContext(ctx, "SELECT substr(term, 1, 7) FROM user_terms WHERE lcp = 4 AND length(term) >= 7 ORDER BY term LIMIT 1").Scan(&shared); err != nil {
		t.Fatal(err)
	}
	for _, p := range append(prefixes, whole, shared, "nouvelle") {
		if err := db.countLongPrefix(ctx, p); err != nil {
			t.Fatalf("count %q: %v", p, err)
		}
	}
	var n int
	if err := db.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM long_prefixes").Scan(&n); err != nil || n != len(prefixes)+3 {
		t.Fatalf("%d long prefixes listed, want %d (%v)", n, len(prefixes)+3, err)
	}
}
