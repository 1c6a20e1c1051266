package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

var statuses = []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"}

// Every view × status × search, forwards and backwards, against the reference.
func testFindUsersPagesEveryFilter(t *testing.T, open Opener) {
	db := open(t)
	all := seedDemo(t, db, 700)
	ctx := context.Background()
	for _, view := range mfa.Views {
		for _, status := range statuses {
			for _, q := range []string{"", "a", "elo", "ÉLODIE", "smith", "zz-none", "sofia.", "o'b"} {
				f := mfa.UserFilter{View: view, Status: status, Query: q, Limit: 37}
				checkPages(t, db, all, f)
				// Backwards from the last page's previous cursor gives the page before it.
				f.Validate()
				var pages [][]string
				var prev string
				for {
					p, err := db.FindUsers(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					var upns []string
					for _, u := range p.Users {
						upns = append(upns, u.UPN)
					}
					pages, prev = append(pages, upns), p.PrevCursor
					if len(pages) > 1 && prev == "" {
						t.Fatalf("%+v: page %d has no previous cursor", f, len(pages))
					}
					if p.NextCursor == "" {
						break
					}
					f.After = p.NextCursor
				}
				if n := len(pages); n >= 2 {
					b := f
					b.After, b.Before = "", prev
					p, err := db.FindUsers(ctx, b)
					if err != nil {
						t.Fatal(err)
					}
					var upns []string
					for _, u := range p.Users {
						upns = append(upns, u.UPN)
					}
					if !slices.Equal(upns, pages[n-2]) {
						t.Fatalf("%+v: backwards page differs from the page before the last", b)
					}
				}
			}
		}
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

func testFindUsersShortPrefixes(t *testing.T, open Opener) {
	db := open(t)
	all := append(seedDemo(t, db, 400), extraUsers()...)
	if _, err := db.SeedUsers(context.Background(), slices.Values(extraUsers()), T0, nil); err != nil {
		t.Fatal(err)
	}
	queries := []string{"a", "an", "ann", "e", "el", "É", "o", "ó", "ø", "ol", "j", "j.", "r", "t", "x", "xa",
		"w", "wa", "王", "王小", "王小红", "д", "ив", "-", "z", "zz", "q", "@", "annasdottir-a"}
	for _, view := range mfa.Views {
		for _, status := range statuses {
			for _, q := range queries {
				checkPages(t, db, all, mfa.UserFilter{View: view, Status: status, Query: q, Limit: 23})
			}
		}
	}
}

func testFindUsersBadCursor(t *testing.T, open Opener) {
	db := open(t)
	seedDemo(t, db, 10)
	for _, c := range []string{"garbage", "e30", strings.Repeat("A", 5000)} {
		_, err := db.FindUsers(context.Background(), mfa.UserFilter{View: mfa.ViewAll, Limit: 10, After: c})
		if mfa.ErrorCode(err) != mfa.EINVALID {
			t.Errorf("cursor %.20q: got %v, want EINVALID", c, err)
		}
	}
}

// Renames, user-name changes and filter changes (one by one and in a batch) are followed by every
// search, count and view.
func testFindUsersAfterChanges(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	all := seedDemo(t, db, 300)
	rec := func(u *mfa.User) *mfa.AuditRecord { return &mfa.AuditRecord{Action: "test", Target: u.UPN} }
	if _, err := db.UpdateUser(ctx, all[5].UPN, func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.DisplayName, u.UPN, u.State, u.AccountEnabled = "Zebedee Quux", "zq@contoso.com", mfa.StateEnforced, false
		return rec(u), nil
	}); err != nil {
		t.Fatal(err)
	}
	all[5].DisplayName, all[5].UPN, all[5].State, all[5].AccountEnabled = "Zebedee Quux", "zq@contoso.com", mfa.StateEnforced, false
	refs := mfa.Refs([]string{all[7].UPN, all[8].UPN, all[9].UPN})
	_, errs, err := db.UpdateUsers(ctx, refs, func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = []mfa.State{mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled}[i]
		if i == 2 {
			u.AccountEnabled = !u.AccountEnabled
		}
		return rec(u), nil
	})
	if err != nil || slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		t.Fatal(err, errs)
	}
	all[7].State, all[8].State, all[9].State, all[9].AccountEnabled = mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled, !all[9].AccountEnabled
	for _, view := range mfa.Views {
		for _, status := range statuses {
			for _, q := range []string{"", "z", "zq", "zeb", "quux", string([]rune(all[5].DisplayName)[:1]),
				string([]rune(all[7].DisplayName)[:2]), strings.ToLower(all[9].DisplayName)} {
				checkPages(t, db, all, mfa.UserFilter{View: view, Status: status, Query: q, Limit: 50})
			}
		}
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 300 {
		t.Fatalf("CountUsers: %d %v", n, err)
	}
}
