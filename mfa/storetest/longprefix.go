package storetest

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// LongPrefixes reaches into a store's counting of long search prefixes (mfa/longprefix.go), for
// RunLongPrefixes.
type LongPrefixes struct {
	// Open opens an empty store that counts a long search's prefix from its first match (the
	// threshold lowered to one).
	Open func(t *testing.T) Store
	// Listed says whether prefix is counted.
	Listed func(t *testing.T, db Store, prefix string) bool
	// Forget forgets the failed tries to count (as if mfa.LongPrefixRetry had passed).
	Forget func(db Store)
	// HoldWriters starts a write that holds the other writers off until release.
	HoldWriters func(t *testing.T, db Store) (release func())
	// CheckCounts compares the store's counts with a count from scratch.
	CheckCounts func(t *testing.T, db Store)
}

// LongSearches are searches longer than the prefix counts: surnames, one with an accent, and the
// start of a user name (its term shares four characters with the first name's: lcp 4).
var LongSearches = []string{"smith", "andersen", "lefèvre", "alex.ma"}

// RunLongPrefixes runs the tests of a store's long prefixes.
func RunLongPrefixes(t *testing.T, h LongPrefixes) {
	t.Run("Counted", func(t *testing.T) { testLongSearchCounted(t, h) })
	t.Run("StateAtOneEnd", func(t *testing.T) { testLongSearchStateAtOneEnd(t, h) })
	t.Run("WaitsBrieflyForWriters", func(t *testing.T) { testLongPrefixWaitsForWriters(t, h) })
}

// A long search's first page lists its prefix; then its pages, read from the counts, are the
// reference's in every combination, forwards and backwards, also after writes that move users
// between states and filters.
func testLongSearchCounted(t *testing.T, h LongPrefixes) {
	db := h.Open(t)
	SeedCombinations(t, db)
	for _, q := range LongSearches {
		f := filter(t, mfa.UserFilter{Query: q, View: mfa.ViewAll, Limit: 10})
		if h.Listed(t, db, mfa.Fold(q)) || total(t, db, f) == 0 {
			t.Fatalf("%q: listed before it was searched, or matches nobody", q)
		}
		if !h.Listed(t, db, mfa.Fold(q)) {
			t.Fatalf("%q: not listed after a search that matches", q)
		}
	}
	filters := Combinations(LongSearches, 3)
	CheckCombinations(t, db, filters)
	h.CheckCounts(t, db)

	// Every third user to another state, a few renamed into and out of a search, some blocked.
	var upns []string
	for u := range mfa.DemoUsers(400) {
		upns = append(upns, u.UPN)
	}
	states := []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced}
	_, errs, err := db.UpdateUsers(context.Background(), mfa.Refs(upns), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
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
	h.CheckCounts(t, db)
	CheckCombinations(t, db, filters)
}

// Where the state asked for is all at one end of the sort's order, the first matches walked hold
// none of it: pages of every combination are still the reference's, forwards and backwards.
func testLongSearchStateAtOneEnd(t *testing.T, h LongPrefixes) {
	db := h.Open(t)
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
	if _, err := db.SeedUsers(context.Background(), slices.Values(users), T0, nil); err != nil {
		t.Fatal(err)
	}
	searches := []string{"smithers", "smithers.1"}
	for _, q := range searches {
		total(t, db, filter(t, mfa.UserFilter{Query: q, View: mfa.ViewAll, Limit: 10}))
		if !h.Listed(t, db, q) {
			t.Fatalf("%q: not listed", q)
		}
	}
	CheckCombinations(t, db, Combinations(searches, 7))
	h.CheckCounts(t, db)
}

// Counting a prefix waits only briefly for another writer: the search answers meanwhile from its
// range of terms, does not queue behind the writers again at once, and lists the prefix once they
// are done and the pause has passed.
func testLongPrefixWaitsForWriters(t *testing.T, h LongPrefixes) {
	db := h.Open(t)
	SeedCombinations(t, db)
	f := filter(t, mfa.UserFilter{Query: "smith", Limit: 100})
	release := h.HoldWriters(t, db)
	want := total(t, db, f) // from the range of terms
	if h.Listed(t, db, "smith") {
		t.Fatal("listed while another writer held the store")
	}
	release()
	total(t, db, f)
	if h.Listed(t, db, "smith") {
		t.Error("tried again at once after giving up")
	}
	h.Forget(db)
	total(t, db, f)
	if !h.Listed(t, db, "smith") {
		t.Fatal("not listed once the writers were done")
	}
	sum := 0
	for _, st := range []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced} {
		f.Status = mfa.StatusFilter(st)
		sum += total(t, db, f) // from the counts
	}
	if sum != want {
		t.Errorf("the states' totals add up to %d, the search's to %d", sum, want)
	}
	CheckCombinations(t, db, Combinations([]string{"smith"}, 5))
	h.CheckCounts(t, db)
}

func filter(t *testing.T, f mfa.UserFilter) mfa.UserFilter {
	t.Helper()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	return f
}

func total(t *testing.T, db Store, f mfa.UserFilter) int {
	t.Helper()
	p, err := db.FindUsers(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}
