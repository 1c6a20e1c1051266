package storetest

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func indexUsers(t *testing.T, db Store, gen int64, users ...mfa.ExternalUser) {
	t.Helper()
	if err := db.IndexUsers(context.Background(), users, gen); err != nil {
		t.Fatal(err)
	}
}

func findUser(t *testing.T, db Store, upn string) *mfa.User {
	t.Helper()
	u, err := db.FindUser(context.Background(), upn)
	if err != nil {
		t.Fatalf("%s: %v", upn, err)
	}
	return u
}

// The local index of a remote directory: users inserted and linked to their external ids, read
// again unchanged (a new read time, the same version), a stale read not applied, the default
// method kept when the read does not say it, users a full sync did not see removed.
func testExternalIndex(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	seedDemo(t, db, 3) // embedded users, linked to nothing
	t1, t2 := T0.Add(time.Hour), T0.Add(2*time.Hour)
	phone := []mfa.Method{{Type: mfa.MethodMobilePhone}, {Type: mfa.MethodAuthenticatorPush, IsDefault: true}}
	indexUsers(t, db, 1,
		mfa.ExternalUser{ExternalID: "g1", UPN: "Ada@contoso.com", DisplayName: "Ada", AccountEnabled: true, StateRead: true,
			State: mfa.StateEnabled, Methods: phone, DefaultRead: true, ReadAt: t1},
		mfa.ExternalUser{ExternalID: "g2", UPN: "bob@contoso.com", DisplayName: "Bob", ReadAt: t1},
		mfa.ExternalUser{ExternalID: "g3", UPN: "cy@contoso.com", DisplayName: "Cy", AccountEnabled: true, PrivilegedRead: true, Privileged: true,
			StateRead: true, State: mfa.StateEnforced, ReadAt: t1})
	ada := findUser(t, db, "ada@contoso.com")
	if ada.State != mfa.StateEnabled || !ada.StateReadAt.Equal(t1) || !ada.EnabledAt.Equal(t1) || ada.Methods[0].Type != mfa.MethodAuthenticatorPush {
		t.Errorf("ada %+v", ada)
	}
	if bob := findUser(t, db, "bob@contoso.com"); bob.State != mfa.StateDisabled || !bob.StateReadAt.IsZero() || bob.Privileged {
		t.Errorf("bob (never read) %+v", bob)
	}
	if cy := findUser(t, db, "cy@contoso.com"); !cy.Privileged || cy.State != mfa.StateEnforced {
		t.Errorf("cy %+v", cy)
	}
	ids, err := db.ExternalIDs(ctx, []string{"ADA@contoso.com", "bob@contoso.com", "nobody@contoso.com", "adele.abara@contoso.com"})
	if want := map[string]string{"ada@contoso.com": "g1", "bob@contoso.com": "g2"}; err != nil || !maps.Equal(ids, want) {
		t.Errorf("external ids %v %v", ids, err)
	}

	// Read again unchanged, the default not said: a new read time, the same version and default.
	again := mfa.ExternalUser{ExternalID: "g1", UPN: "Ada@contoso.com", DisplayName: "Ada", AccountEnabled: true, StateRead: true,
		State: mfa.StateEnabled, Methods: []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}, {Type: mfa.MethodAuthenticatorPush}}, ReadAt: t2}
	indexUsers(t, db, 2, again)
	if u := findUser(t, db, "ada@contoso.com"); u.Version != ada.Version || !u.StateReadAt.Equal(t2) || u.Methods[0].Type != mfa.MethodAuthenticatorPush {
		t.Errorf("ada read again %+v (was version %d)", u, ada.Version)
	}
	// A stale read (before the indexed one) changes the name but not the state.
	stale := again
	stale.DisplayName, stale.State, stale.ReadAt = "Ada Lovelace", mfa.StateDisabled, t1
	indexUsers(t, db, 2, stale, mfa.ExternalUser{ExternalID: "g3", UPN: "cy@contoso.com", DisplayName: "Cy", AccountEnabled: true, ReadAt: t2})
	if u := findUser(t, db, "ada@contoso.com"); u.DisplayName != "Ada Lovelace" || u.State != mfa.StateEnabled || u.Version != ada.Version+1 {
		t.Errorf("ada after a stale read %+v", u)
	}
	if cy := findUser(t, db, "cy@contoso.com"); !cy.Privileged {
		t.Errorf("cy's admin flag, not read, was dropped")
	}
	// Full sync 2 saw ada and cy: bob and the embedded users go.
	if n, err := db.RemoveUsersNotSynced(ctx, 2); err != nil || n != 4 {
		t.Errorf("removed %d %v, want 4", n, err)
	}
	if err := db.RemoveIndexedUser(ctx, "CY@contoso.com"); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Errorf("%d users left, want ada", n)
	}
	p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: "lovel", Limit: 10})
	if err != nil || p.Total != 1 {
		t.Errorf("search after renames: %+v %v", p, err)
	}
}

// User names change hands: two users swap theirs within a page, a user listed twice is written as
// last listed, an embedded user holding a remote user's name gives way to it.
func testExternalIndexNames(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	seedDemo(t, db, 2) // adele.abara@contoso.com, alex.martin@contoso.com
	user := func(ext, upn, name string) mfa.ExternalUser {
		return mfa.ExternalUser{ExternalID: ext, UPN: upn, DisplayName: name, AccountEnabled: true, StateRead: true, State: mfa.StateEnforced, ReadAt: T0}
	}
	indexUsers(t, db, 0, user("gx", "x@contoso.com", "Ex"), user("gy", "y@contoso.com", "Why"))
	indexUsers(t, db, 0, user("gx", "y@contoso.com", "Ex"), user("gy", "x@contoso.com", "Why"))
	indexUsers(t, db, 0, user("gz", "z@contoso.com", "Zed"), user("gz", "z2@contoso.com", "Zed Two"))
	indexUsers(t, db, 0, user("ga", "adele.abara@contoso.com", "Adele from Graph"), user("gw", "w@contoso.com", "Dub"))
	ids, err := db.ExternalIDs(ctx, []string{"x@contoso.com", "y@contoso.com", "z@contoso.com", "z2@contoso.com", "adele.abara@contoso.com"})
	want := map[string]string{"x@contoso.com": "gy", "y@contoso.com": "gx", "z2@contoso.com": "gz", "adele.abara@contoso.com": "ga"}
	if err != nil || !maps.Equal(ids, want) {
		t.Errorf("external ids %v %v, want %v", ids, err, want)
	}
	if u := findUser(t, db, "y@contoso.com"); u.DisplayName != "Ex" {
		t.Errorf("y is %q", u.DisplayName)
	}
	if u := findUser(t, db, "adele.abara@contoso.com"); u.DisplayName != "Adele from Graph" {
		t.Errorf("adele is %q", u.DisplayName)
	}
	if n, _ := db.CountUsers(ctx); n != 6 {
		t.Errorf("%d users, want x, y, z2, adele, w and alex", n)
	}
	for q, n := range map[string]int{"ex": 1, "why": 1, "zed": 1, "z@": 0, "adele": 1, "dub": 1} {
		if p, err := db.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Query: q, Limit: 10}); err != nil || p.Total != n || len(p.Users) != n {
			t.Errorf("search %q: %+v %v, want %d", q, p, err, n)
		}
	}
}

// The sync's state: begun, its progress, a failure (the last complete sync kept), a success, a
// warning, and a directory error set and cleared.
func testSyncState(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	if st, gen, err := db.SyncState(ctx); err != nil || st.Running || gen != 0 || !st.LastSync.IsZero() {
		t.Fatalf("at first: %+v %d %v", st, gen, err)
	}
	t1, t2, t3 := T0.Add(time.Minute), T0.Add(2*time.Minute), T0.Add(3*time.Minute)
	check := func(what string, want mfa.SyncStatus, wantGen int64) {
		t.Helper()
		st, gen, err := db.SyncState(ctx)
		if err != nil || st != want || gen != wantGen {
			t.Errorf("%s: %+v gen %d %v, want %+v gen %d", what, st, gen, err, want, wantGen)
		}
	}
	db.BeginSync(ctx, 7, T0)
	db.SetSyncProgress(ctx, 10, 30)
	check("running", mfa.SyncStatus{Running: true, Done: 10, Total: 30, StartedAt: T0}, 7)
	db.FinishSync(ctx, t1, "Graph said no")
	check("failed", mfa.SyncStatus{Done: 10, Total: 30, StartedAt: T0, LastError: "Graph said no", LastErrorAt: t1}, 7)
	db.BeginSync(ctx, 8, t1)
	db.FinishSync(ctx, t2, "")
	check("done", mfa.SyncStatus{StartedAt: t1, LastSync: t2}, 8)
	db.FinishSyncWithWarning(ctx, t3, "roles not read")
	check("warning", mfa.SyncStatus{StartedAt: t1, LastSync: t3, LastError: "roles not read", LastErrorAt: t3}, 8)
	db.SetDirectoryError(ctx, "", t3)
	check("cleared", mfa.SyncStatus{StartedAt: t1, LastSync: t3}, 8)
	db.SetDirectoryError(ctx, "unreachable", t3)
	check("unreachable", mfa.SyncStatus{StartedAt: t1, LastSync: t3, LastError: "unreachable", LastErrorAt: t3}, 8)
}
