package sqlite

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var t0 = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func seedDemo(t testing.TB, db *DB, n int) []mfa.User {
	t.Helper()
	var all []mfa.User
	for u := range mfa.DemoUsers(n) {
		all = append(all, u)
	}
	if _, err := db.SeedUsers(context.Background(), slices.Values(all), t0, nil); err != nil {
		t.Fatal(err)
	}
	return all
}

// matches is the reference implementation of a filter, over a slice.
func matches(u mfa.User, f mfa.UserFilter) bool {
	if f.View == mfa.ViewAllowed && !u.AccountEnabled || f.View == mfa.ViewBlocked && u.AccountEnabled {
		return false
	}
	if f.Status != mfa.StatusAny && u.State != mfa.State(f.Status) {
		return false
	}
	if q := mfa.Fold(f.Query); q != "" {
		for _, term := range mfa.SearchTerms(u.DisplayName, u.UPN) {
			if strings.HasPrefix(term, q) {
				return true
			}
		}
		return false
	}
	return true
}

// TestFindUsersPagesEveryFilter walks every view × status × search forwards and backwards and
// checks the pages against a reference: every matching user exactly once, in display-name order,
// and the total right.
func TestFindUsersPagesEveryFilter(t *testing.T) {
	db := openTest(t)
	all := seedDemo(t, db, 700)
	ctx := context.Background()
	for _, view := range mfa.Views {
		for _, status := range []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"} {
			for _, q := range []string{"", "a", "elo", "ÉLODIE", "smith", "zz-none", "sofia.", "o'b"} {
				f := mfa.UserFilter{View: view, Status: status, Query: q, Limit: 37}
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
				var lastKey string
				var cursors []string
				for page := 0; ; page++ {
					p, err := db.FindUsers(ctx, f)
					if err != nil {
						t.Fatalf("%+v: %v", f, err)
					}
					if p.Total != len(want) {
						t.Fatalf("%+v: total %d, want %d", f, p.Total, len(want))
					}
					for _, u := range p.Users {
						k := mfa.Fold(u.DisplayName)
						if k < lastKey {
							t.Fatalf("%+v: %q after %q: not sorted", f, k, lastKey)
						}
						lastKey = k
						got = append(got, mfa.NormalizeUPN(u.UPN))
					}
					if page > 0 && p.PrevCursor == "" {
						t.Fatalf("%+v: page %d has no previous cursor", f, page)
					}
					cursors = append(cursors, p.PrevCursor)
					if p.NextCursor == "" {
						break
					}
					f.After = p.NextCursor
				}
				slices.Sort(want)
				sorted := slices.Clone(got)
				slices.Sort(sorted)
				if !slices.Equal(sorted, want) {
					t.Fatalf("%+v: got %d users, want %d", f, len(got), len(want))
				}
				// Backwards from the last page's previous cursor gives the page before it.
				if n := len(cursors); n >= 2 {
					b := f
					b.After, b.Before = "", cursors[n-1]
					p, err := db.FindUsers(ctx, b)
					if err != nil {
						t.Fatal(err)
					}
					start := (n - 2) * f.Limit
					for i, u := range p.Users {
						if mfa.NormalizeUPN(u.UPN) != got[start+i] {
							t.Fatalf("%+v: backwards page differs at %d", f, i)
						}
					}
				}
			}
		}
	}
}

func TestFindUsersBadCursor(t *testing.T) {
	db := openTest(t)
	seedDemo(t, db, 10)
	for _, c := range []string{"garbage", "e30", strings.Repeat("A", 5000)} {
		_, err := db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Limit: 10, After: c})
		if mfa.ErrorCode(err) != mfa.EINVALID {
			t.Errorf("cursor %.20q: got %v, want EINVALID", c, err)
		}
	}
}

func TestImportUsersAllOrNothingAndUpdate(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return t0 }})
	in := "UserPrincipalName,DisplayName,MFA Status,AccountEnabled,Admin,Methods\n" +
		"ada@contoso.com,Ada Lovelace,Enforced,true,true,microsoftAuthenticatorPush mobilePhone\n" +
		"bob@contoso.com,<script>alert(1)</script>,,false,,\n"
	res, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits)
	if err != nil || res.Created != 2 {
		t.Fatalf("import: %+v, %v", res, err)
	}
	ada, err := db.FindUser(ctx, "ADA@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	if ada.State != mfa.StateEnforced || !ada.Privileged || !ada.AccountEnabled || len(ada.Methods) != 2 {
		t.Fatalf("ada = %+v", ada)
	}
	if d, _ := ada.DefaultMethod(); d != mfa.MethodAuthenticatorPush {
		t.Fatalf("default method %s", d)
	}
	// A file with one bad line changes nothing, not even its good lines.
	bad := "UserPrincipalName,DisplayName\nada@contoso.com,Ada King\nnot-a-upn,Nobody\n"
	_, err = svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(bad), mfa.DefaultCSVLimits)
	var le *mfa.LineErrors
	if !asLineErrors(err, &le) || le.Total != 1 || le.Errors[0].Line != 3 {
		t.Fatalf("bad import: %v", err)
	}
	if a, _ := db.FindUser(ctx, "ada@contoso.com"); a.DisplayName != "Ada Lovelace" {
		t.Fatalf("bad import changed ada: %q", a.DisplayName)
	}
	// Updating keeps columns the file does not have.
	upd := "UserPrincipalName,DisplayName\nada@contoso.com,Ada King\n"
	res, err = svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(upd), mfa.DefaultCSVLimits)
	if err != nil || res.Updated != 1 {
		t.Fatalf("update: %+v %v", res, err)
	}
	a, _ := db.FindUser(ctx, "ada@contoso.com")
	if a.DisplayName != "Ada King" || a.State != mfa.StateEnforced || a.Version != 2 {
		t.Fatalf("after update: %+v", a)
	}
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "king", Limit: 10})
	if err != nil || p.Total != 1 {
		t.Fatalf("search by new name: %+v %v", p, err)
	}
	p, _ = db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "lovelace", Limit: 10})
	if p.Total != 0 {
		t.Fatalf("old name still found")
	}
}

func asLineErrors(err error, le **mfa.LineErrors) bool {
	e, ok := err.(*mfa.LineErrors)
	*le = e
	return ok
}

func sliceSeq(users []mfa.User) func(func(mfa.User) bool) {
	return slices.Values(users)
}
