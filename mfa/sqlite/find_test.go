package sqlite

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
func refUsers(t *testing.T, db *DB) []refUser {
	t.Helper()
	var out []refUser
	p, err := db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit, Sort: mfa.SortName, Order: mfa.OrderAsc})
	for ; err == nil; p, err = db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Limit: mfa.MaxLimit,
		Sort: mfa.SortName, Order: mfa.OrderAsc, After: p.NextCursor}) {
		for _, u := range p.Users {
			id, _ := strconv.ParseInt(u.ID, 10, 64)
			out = append(out, refUser{*u, id})
		}
		if p.NextCursor == "" {
			return out
		}
	}
	t.Fatal(err)
	return nil
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
	return matches(u, f)
}

// refOrder compares two users in the order of f.
func refOrder(f mfa.UserFilter) func(a, b refUser) int {
	desc := 1
	if f.Order == mfa.OrderDesc {
		desc = -1
	}
	return func(a, b refUser) int {
		switch f.Sort {
		case mfa.SortUPN:
			return desc * cmp.Or(strings.Compare(mfa.NormalizeUPN(a.UPN), mfa.NormalizeUPN(b.UPN)), cmp.Compare(a.id, b.id))
		case mfa.SortStatus:
			if c := strings.Compare(string(a.State), string(b.State)); c != 0 {
				return desc * c
			}
		default:
			desc = desc * 1
		}
		c := cmp.Or(strings.Compare(mfa.Fold(a.DisplayName), mfa.Fold(b.DisplayName)), cmp.Compare(a.id, b.id))
		if f.Sort == mfa.SortStatus {
			return c // within a state, by display name ascending
		}
		return desc * c
	}
}

// walkPages pages through f forwards, then backwards from the end, and checks both against the
// reference: the same users in the same order, the right total on every page.
func walkPages(t *testing.T, db *DB, all []refUser, f mfa.UserFilter) {
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
	name := fmt.Sprintf("view=%s status=%s privileged=%s methods=%s sort=%s order=%s q=%q limit=%d",
		f.View, f.Status, f.Privileged, f.Methods, f.Sort, f.Order, f.Query, f.Limit)
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

// TestFindUsersEveryCombination pages through every view × status × admins × methods × sort ×
// order, without a search and with searches that take each path (prefix index by name, by user
// name, range), forwards and backwards, against the reference.
func TestFindUsersEveryCombination(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 400)
	if _, err := db.SeedUsers(context.Background(), slices.Values(extraUsers()), t0, nil); err != nil {
		t.Fatal(err)
	}
	all := refUsers(t, db)
	n := 0
	for f := range planFilters {
		if f.Query == "élodie lefèvre" {
			f.Query = "el"
		}
		f.Limit = 41
		if f.Query == "" || f.Query == "a" {
			f.Limit = 97 // fewer pages where there are many users
		}
		walkPages(t, db, all, f)
		n++
		if f.Sort == mfa.SortUPN && f.Status != mfa.StatusAny {
			// The other way of reading them (see collectCost): walking the user-name order.
			collectCost = 1e9
			walkPages(t, db, all, f)
			collectCost = 0.2
		}
	}
	t.Logf("%d combinations", n)
}

// TestFindUsersCursorOfAnotherSort: a cursor is refused, cleanly, by another sort or order.
func TestFindUsersCursorOfAnotherSort(t *testing.T) {
	db := openTest(t)
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
	// A cursor by status without its state is not valid.
	bad := encodeCursor(cursor{Sort: mfa.SortStatus, Order: mfa.OrderAsc, Key: "m", ID: 3})
	if _, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: 10, Sort: mfa.SortStatus, Order: mfa.OrderAsc, After: bad}); mfa.ErrorField(err) != "cursor" {
		t.Errorf("status cursor without state: %v", err)
	}
}

// TestMethodsClassMatchesSQL: for every set of method types, the class that SQL gives a user
// (migration 040's triggers, for writers that do not set it) is mfa.ClassifyMethods's.
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
