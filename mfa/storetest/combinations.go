package storetest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// refUser is a user of the reference implementation, with its directory id.
type refUser struct {
	mfa.User
	id int64
}

// refUsers reads back every user with its id.
func refUsers(t *testing.T, db Store) []refUser {
	t.Helper()
	var out []refUser
	f := mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit, Sort: mfa.SortName, Order: mfa.OrderAsc}
	for {
		p, err := db.FindUsers(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Users {
			id, _ := strconv.ParseInt(u.ID, 10, 64)
			out = append(out, refUser{*u, id})
		}
		if p.NextCursor == "" {
			return out
		}
		f.After = p.NextCursor
	}
}

// matchesAll is the reference of every filter of the list, over one user.
func matchesAll(u mfa.User, f mfa.UserFilter) bool {
	if f.Privileged == mfa.PrivilegedYes && !u.Privileged || f.Privileged == mfa.PrivilegedNo && u.Privileged {
		return false
	}
	class := mfa.ClassifyMethods(u.Methods)
	if f.Methods == mfa.MethodsNone && class != mfa.MethodsClassNone || f.Methods == mfa.MethodsPhoneOnly && class != mfa.MethodsClassPhoneOnly {
		return false
	}
	if f.Coverage == mfa.CoverageCA && !u.Coverage.Covered() || f.Coverage == mfa.CoverageNone && u.Coverage.Covered() {
		return false
	}
	return matches(u, f)
}

// refOrder compares two users in the order of f: by the sort's key then the id, both reversed for
// descending; by status, the states (Disabled, Enabled, Enforced) reversed and each state in
// display-name order.
func refOrder(f mfa.UserFilter) func(a, b refUser) int {
	desc := 1
	if f.Order == mfa.OrderDesc {
		desc = -1
	}
	return func(a, b refUser) int {
		byName := cmp.Or(strings.Compare(mfa.Fold(a.DisplayName), mfa.Fold(b.DisplayName)), cmp.Compare(a.id, b.id))
		switch f.Sort {
		case mfa.SortUPN:
			return desc * cmp.Or(strings.Compare(mfa.NormalizeUPN(a.UPN), mfa.NormalizeUPN(b.UPN)), cmp.Compare(a.id, b.id))
		case mfa.SortStatus:
			return cmp.Or(desc*strings.Compare(string(a.State), string(b.State)), byName)
		}
		return desc * byName
	}
}

// walkPages pages through f forwards, then backwards from the end, and checks both against the
// reference: the same users in the same order, the right total on every page.
func walkPages(t *testing.T, db Store, all []refUser, f mfa.UserFilter) {
	t.Helper()
	ctx := context.Background()
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	var want []string
	ref := slices.Clone(all)
	slices.SortFunc(ref, refOrder(f))
	for _, u := range ref {
		if matchesAll(u.User, f) {
			want = append(want, u.ID)
		}
	}
	name := fmt.Sprintf("view=%s status=%s privileged=%s methods=%s coverage=%s sort=%s order=%s q=%q limit=%d",
		f.View, f.Status, f.Privileged, f.Methods, f.Coverage, f.Sort, f.Order, f.Query, f.Limit)
	var got []string
	var first string // the previous cursor of the last page
	for pages := 0; ; pages++ {
		p, err := db.FindUsers(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.Total != len(want) {
			t.Fatalf("%s: total %d, want %d", name, p.Total, len(want))
		}
		for _, u := range p.Users {
			got = append(got, u.ID)
		}
		if pages > len(want) {
			t.Fatalf("%s: more pages than users", name)
		}
		first = p.PrevCursor
		if p.NextCursor == "" {
			break
		}
		f.After = p.NextCursor
	}
	if !slices.Equal(got, want) {
		t.Fatalf("%s: forwards got %d users, want %d\ngot  %v\nwant %v", name, len(got), len(want), head(got), head(want))
	}
	// Backwards from the last page to the first.
	var back []string
	f.After, f.Before = "", first
	for f.Before != "" {
		p, err := db.FindUsers(ctx, f)
		if err != nil {
			t.Fatalf("%s backwards: %v", name, err)
		}
		ids := make([]string, len(p.Users))
		for i, u := range p.Users {
			ids[i] = u.ID
		}
		back = append(ids, back...)
		f.Before = p.PrevCursor
	}
	if lastPage := len(want) % f.Limit; len(want) > f.Limit {
		if lastPage == 0 {
			lastPage = f.Limit
		}
		if !slices.Equal(back, want[:len(want)-lastPage]) {
			t.Fatalf("%s: backwards got %v, want %v", name, head(back), head(want[:len(want)-lastPage]))
		}
	}
}

func head(s []string) []string { return s[:min(len(s), 12)] }

// Combinations yields every view × status × admins × methods × sort × order of the users list,
// with each search given.
func Combinations(searches []string, limit int) []mfa.UserFilter {
	var out []mfa.UserFilter
	for _, q := range searches {
		for _, view := range mfa.Views {
			for _, status := range statuses {
				for _, priv := range []mfa.PrivilegedFilter{mfa.PrivilegedAny, mfa.PrivilegedYes, mfa.PrivilegedNo} {
					for _, methods := range []mfa.MethodsFilter{mfa.MethodsAny, mfa.MethodsNone, mfa.MethodsPhoneOnly} {
						for _, sort := range mfa.SortFields {
							for _, order := range []mfa.SortOrder{mfa.OrderAsc, mfa.OrderDesc} {
								out = append(out, mfa.UserFilter{View: view, Status: status, Privileged: priv, Methods: methods,
									Sort: sort, Order: order, Query: q, Limit: limit})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// CombinationSearches are the searches the combination test runs: none, and a prefix of each
// length (one, two and three characters, four, and a longer one).
var CombinationSearches = []string{"", "a", "él", "smi", "mart", "sofia.s"}

// CheckCombinations pages through each filter over db (seeded by SeedCombinations) forwards and
// backwards, against the reference.
func CheckCombinations(t *testing.T, db Store, filters []mfa.UserFilter) {
	t.Helper()
	all := refUsers(t, db)
	for _, f := range filters {
		walkPages(t, db, all, f)
	}
}

// SeedCombinations seeds the directory of the combination test: 400 demo users and a few with
// names in other scripts.
func SeedCombinations(t *testing.T, db Store) {
	t.Helper()
	seedDemo(t, db, 400)
	if _, err := db.SeedUsers(context.Background(), slices.Values(extraUsers()), T0, nil); err != nil {
		t.Fatal(err)
	}
}

// Every view × status × admins × methods × sort × order, without a search and with searches of
// each length, forwards and backwards, against the reference.
func testFindUsersEveryCombination(t *testing.T, open Opener) {
	db := open(t)
	SeedCombinations(t, db)
	filters := Combinations(CombinationSearches, 41)
	for i, f := range filters {
		if f.Query == "" || f.Query == "a" {
			filters[i].Limit = 97 // fewer pages where there are many users
		}
	}
	CheckCombinations(t, db, filters)
	// Searches too long for the prefix indexes whose matches are in every state, in pages of 2:
	// the pages of a walk by state (sorted by status, or a status filter) cross from one state to
	// the next, forwards and backwards.
	CheckCombinations(t, db, Combinations([]string{"yilma", "smith"}, 2))
}

// A cursor is refused, cleanly, by another sort or order.
func testFindUsersCursorOfAnotherSort(t *testing.T, open Opener) {
	db := open(t)
	seedDemo(t, db, 30)
	ctx := context.Background()
	f := mfa.UserFilter{View: mfa.ViewAll, Limit: 10}
	f.Validate()
	p, err := db.FindUsers(ctx, f)
	if err != nil || p.NextCursor == "" {
		t.Fatal(p, err)
	}
	for _, other := range []mfa.UserFilter{{Sort: mfa.SortUPN}, {Sort: mfa.SortStatus}, {Order: mfa.OrderDesc}, {Sort: mfa.SortUPN, Order: mfa.OrderDesc}} {
		other.View, other.Limit, other.After = mfa.ViewAll, 10, p.NextCursor
		other.Validate()
		_, err := db.FindUsers(ctx, other)
		if mfa.ErrorField(err) != "cursor" || !strings.Contains(mfa.ErrorMessage(err), "another sort order") {
			t.Errorf("sort=%s order=%s with a name cursor: %v", other.Sort, other.Order, err)
		}
	}
}
