package postgres

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// longSearches are searches longer than the prefix indexes: surnames, one with an accent, and the
// start of a user name (its term shares four characters with the first name's: lcp 4).
var longSearches = []string{"smith", "andersen", "lefèvre", "alex.ma"}

// A long search's first page lists its prefix (with the threshold lowered to one match); then
// its pages in one state, read from the counts and the probed matches, are the reference's in
// every combination, forwards and backwards, also after writes that move users between states and
// filters.
func TestLongSearchCounted(t *testing.T) {
	db := openTest(t)
	db.longPrefixMin = 1
	ctx := context.Background()
	storetest.SeedCombinations(t, db)
	for _, q := range longSearches {
		f := mfa.UserFilter{Query: q, View: mfa.ViewAll, Limit: 10}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		if listed, err := db.isLongPrefix(ctx, mfa.Fold(q)); err != nil || listed || total(t, db, f) == 0 {
			t.Fatalf("%q: listed %v (%v) before it was searched, or matches nobody", q, listed, err)
		}
		if listed, err := db.isLongPrefix(ctx, mfa.Fold(q)); err != nil || !listed {
			t.Fatalf("%q: listed %v (%v) after a search that matches", q, listed, err)
		}
	}
	filters := storetest.Combinations(longSearches, 3)
	storetest.CheckCombinations(t, db, filters)
	checkCounts(t, db)

	// Every third user to another state, a few renamed into and out of a search, one blocked.
	var upns []string
	for u := range mfa.DemoUsers(400) {
		upns = append(upns, u.UPN)
	}
	states := []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced}
	_, errs, err := db.UpdateUsers(ctx, mfa.Refs(upns), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		switch {
		case i%50 == 1:
			u.DisplayName = "Anna Smithson"
		case i%50 == 2:
			u.DisplayName = "Renamed Person"
		case i%50 == 3:
			u.AccountEnabled = !u.AccountEnabled
		case i%3 == 0:
			u.State = states[(slices.Index(states, u.State)+1)%3]
		}
		return &mfa.AuditRecord{Action: "test", Target: u.UPN}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("%s: %v", upns[i], e)
		}
	}
	checkCounts(t, db)
	storetest.CheckCombinations(t, db, filters)
}

// Counting a prefix waits only briefly for a writer: the search answers meanwhile from its range
// of terms, does not queue behind the writers again at once, and lists the prefix once they are
// done and the pause has passed.
func TestLongPrefixWaitsBrieflyForWriters(t *testing.T) {
	db := openTest(t)
	db.longPrefixMin = 1
	ctx := context.Background()
	storetest.SeedCombinations(t, db)
	f := mfa.UserFilter{Query: "smith", Status: mfa.StatusFilter(mfa.StateEnabled), Limit: 100}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	db.longPrefixMin = 1 << 30
	want := total(t, db, f) // from the range of terms
	db.longPrefixMin = 1

	tx, err := db.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE users SET app_passwords = app_passwords WHERE id = (SELECT min(id) FROM users)"); err != nil {
		t.Fatal(err)
	}
	if got := total(t, db, f); got != want {
		t.Errorf("while a writer holds users: total %d, want %d", got, want)
	}
	if listed, _ := db.isLongPrefix(ctx, "smith"); listed {
		t.Fatal("listed while a writer held users")
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	total(t, db, f)
	if listed, _ := db.isLongPrefix(ctx, "smith"); listed {
		t.Error("tried again at once after giving up")
	}
	db.longPrefixTries = longPrefixTries{} // as if longPrefixRetry had passed
	total(t, db, f)
	if listed, _ := db.isLongPrefix(ctx, "smith"); !listed {
		t.Error("not listed once the writers were done")
	}
	if got := total(t, db, f); got != want {
		t.Errorf("from the counts: total %d, want %d", got, want)
	}
	checkCounts(t, db)
}

func total(t *testing.T, db *DB, f mfa.UserFilter) int {
	t.Helper()
	p, err := db.FindUsers(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// Where the state asked for is all at one end of the sort's order, the first candidates taken for
// the page hold none of it (countedPage takes them all then): pages of every combination are
// still the reference's, forwards and backwards.
func TestLongSearchStateAtOneEnd(t *testing.T) {
	db := openTest(t)
	db.longPrefixMin = 1
	ctx := context.Background()
	var users []mfa.User
	for i := range 300 {
		u := mfa.User{UPN: fmt.Sprintf("smithers.%03d@contoso.com", i), DisplayName: fmt.Sprintf("Zed Smithers %03d", i),
			AccountEnabled: i%7 != 0, State: mfa.StateDisabled}
		if i >= 200 {
			u.State = mfa.StateEnforced
		} else if i%10 == 0 {
			u.State = mfa.StateEnabled
		}
		users = append(users, u)
	}
	if _, err := db.SeedUsers(ctx, slices.Values(users), storetest.T0, nil); err != nil {
		t.Fatal(err)
	}
	searches := []string{"smithers", "smithers.1"}
	for _, q := range searches {
		f := mfa.UserFilter{Query: q, View: mfa.ViewAll, Limit: 10}
		if err := f.Validate(); err != nil {
			t.Fatal(err)
		}
		total(t, db, f)
		if listed, err := db.isLongPrefix(ctx, q); err != nil || !listed {
			t.Fatalf("%q: listed %v (%v)", q, listed, err)
		}
	}
	storetest.CheckCombinations(t, db, storetest.Combinations(searches, 7))
}
