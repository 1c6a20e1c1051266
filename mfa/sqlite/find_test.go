package sqlite

import (
	"context"
	"slices"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// TestFindUsersByUPNWalked: sorted by user name with a status filter, a class is read the other
// way (see collectCost), walking the user-name order; the conformance suite's combination test
// (mfa/storetest) checks the way the costs choose.
func TestFindUsersByUPNWalked(t *testing.T) {
	db := openTest(t)
	storetest.SeedCombinations(t, db)
	var filters []mfa.UserFilter
	for _, f := range storetest.Combinations(storetest.CombinationSearches, 41) {
		if f.Sort == mfa.SortUPN && f.Status != mfa.StatusAny {
			filters = append(filters, f)
		}
	}
	saved := collectCost
	collectCost = 1e9
	defer func() { collectCost = saved }()
	storetest.CheckCombinations(t, db, filters)
}

// TestFindUsersStatusCursorWithoutState: a cursor sorted by status without its state is not valid.
func TestFindUsersStatusCursorWithoutState(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 5)
	bad := encodeCursor(cursor{Sort: mfa.SortStatus, Order: mfa.OrderAsc, Key: "m", ID: 3})
	if _, err := db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Limit: 10, Sort: mfa.SortStatus, Order: mfa.OrderAsc, After: bad}); mfa.ErrorField(err) != "cursor" {
		t.Errorf("status cursor without state: %v", err)
	}
}

// TestMethodsClassMatchesSQL: for every set of method types, the class that SQL gives a user
// (the users_methods_class_* triggers, for writers that do not set it) is mfa.ClassifyMethods's.
func TestMethodsClassMatchesSQL(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	seedDemo(t, db, 1)
	for set := 0; set < 1<<len(mfa.MethodTypes); set++ {
		var ms []mfa.Method
		for i, m := range mfa.MethodTypes {
			if set&(1<<i) != 0 {
				ms = append(ms, mfa.Method{Type: m, IsDefault: len(ms) == 0})
			}
		}
		// Default first in both orders the list may take.
		for _, list := range [][]mfa.Method{ms, reversedDefault(ms)} {
			var got int
			if _, err := db.db.ExecContext(ctx, "UPDATE users SET methods = ?", mfa.FormatMethodList(list)); err != nil {
				t.Fatal(err)
			}
			if err := db.db.QueryRowContext(ctx, "SELECT methods_class FROM users").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if want := mfa.ClassifyMethods(list); mfa.MethodsClass(got) != want {
				t.Errorf("%q: SQL class %d, mfa.ClassifyMethods %d", mfa.FormatMethodList(list), got, want)
			}
		}
	}
	checkCounts(t, db)
}

func reversedDefault(ms []mfa.Method) []mfa.Method {
	out := slices.Clone(ms)
	slices.Reverse(out)
	for i := range out {
		out[i].IsDefault = i == 0
	}
	return out
}
