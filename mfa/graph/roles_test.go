package graph

import (
	"context"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// authAdmin is an authentication administrator: not allowed to change admins' MFA state.
var authAdmin = mfa.Actor{Name: "aaron", Role: mfa.RoleAuthAdmin, Method: "local"}

// privilegedDemo is the user names (normalized) of the demo's admins among n users.
func privilegedDemo(n int) map[string]bool {
	out := map[string]bool{}
	for u := range mfa.DemoUsers(n) {
		if u.Privileged {
			out[mfa.NormalizeUPN(u.UPN)] = true
		}
	}
	return out
}

// checkPrivileged compares the index's admin flags with want, for every user of the emulator.
func (e *env) checkPrivileged(want map[string]bool) {
	e.t.Helper()
	ctx := context.Background()
	for _, id := range e.emu.UserIDs() {
		g, _ := e.emu.User(id)
		u, err := e.dir.FindUser(ctx, g.UPN)
		if err != nil {
			e.t.Fatalf("%s: %v", g.UPN, err)
		}
		if w := want[mfa.NormalizeUPN(g.UPN)]; u.Privileged != w {
			e.t.Errorf("%s: indexed privileged=%v, want %v", g.UPN, u.Privileged, w)
		}
	}
}

// The members of the directory roles are indexed as admins (over several pages of members), and
// SPEC §3 applies to them: an authentication administrator's quick step on an admin is refused.
// Removed from the role in Graph, the next sync indexes the user as no admin any more.
func TestSyncReadsAdminRoles(t *testing.T) {
	const n = 1500
	e := newEnv(t, graphemu.Options{Users: n}, nil)
	top := roleMembersTop
	roleMembersTop = 7 // several pages of members
	t.Cleanup(func() { roleMembersTop = top })
	want := privilegedDemo(n)
	if len(want) < 5 {
		t.Fatalf("the demo has only %d admins", len(want))
	}
	// A member of another activated role is an admin too.
	var other graphemu.User
	for _, id := range e.emu.UserIDs() {
		if u, _ := e.emu.User(id); !u.Privileged && u.State == mfa.StateDisabled {
			other = u
			break
		}
	}
	if err := e.emu.SetRoleMember(graphemu.HelpdeskAdministratorTemplateID, other.ID, true); err != nil {
		t.Fatal(err)
	}
	want[mfa.NormalizeUPN(other.UPN)] = true
	e.sync()
	e.checkPrivileged(want)
	ctx := context.Background()
	st, _ := e.dir.SyncStatus(ctx)
	if st.LastError != "" || st.LastSync.IsZero() {
		t.Errorf("status: %+v", st)
	}

	// An admin whose state the step would change.
	admin := e.findUser(func(u graphemu.User) bool { return u.Privileged && u.State == mfa.StateDisabled })
	before, _ := e.dir.FindUser(ctx, admin.UPN)
	res, err := e.svc.ApplyStep(ctx, authAdmin, mfa.ActionEnable, []mfa.Target{{UPN: admin.UPN, Version: before.Version}}, "ticket 1", "page", nil)
	if err != nil || len(res) != 1 || res[0].Outcome != mfa.OutcomeRefused {
		t.Fatalf("authentication admin's step on an admin: %+v %v", res, err)
	}
	if s, _ := e.emu.UserState(admin.ID); s != mfa.StateDisabled {
		t.Errorf("Graph has %s after a refused step", s)
	}
	// The same step on a user who is no admin goes through.
	plain := e.findUser(func(u graphemu.User) bool { return !u.Privileged && u.State == mfa.StateDisabled })
	pb, _ := e.dir.FindUser(ctx, plain.UPN)
	res, err = e.svc.ApplyStep(ctx, authAdmin, mfa.ActionEnable, []mfa.Target{{UPN: plain.UPN, Version: pb.Version}}, "ticket 1", "page", nil)
	if err != nil || len(res) != 1 || res[0].Outcome != mfa.OutcomeChanged {
		t.Fatalf("authentication admin's step on a user: %+v %v", res, err)
	}

	// Removed from the roles in Graph, and another user made an admin: the next sync says so.
	if err := e.emu.SetPrivileged(admin.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetPrivileged(plain.ID, true); err != nil {
		t.Fatal(err)
	}
	delete(want, mfa.NormalizeUPN(admin.UPN))
	want[mfa.NormalizeUPN(plain.UPN)] = true
	e.sync()
	e.checkPrivileged(want)
	after, _ := e.dir.FindUser(ctx, admin.UPN)
	if after.Version <= before.Version {
		t.Errorf("a change of the admin flag keeps version %d (was %d)", after.Version, before.Version)
	}
	// Search still finds the user whose flag changed (its row was rewritten with its terms).
	f := mfa.UserFilter{Query: admin.UPN, Limit: 10}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	page, err := e.dir.FindUsers(ctx, f)
	if err != nil || len(page.Users) != 1 || page.Users[0].Privileged {
		t.Errorf("search after the change: %+v %v", page, err)
	}
	res, err = e.svc.ApplyStep(ctx, authAdmin, mfa.ActionEnable, []mfa.Target{{UPN: admin.UPN, Version: after.Version}}, "ticket 2", "page", nil)
	if err != nil || len(res) != 1 || res[0].Outcome != mfa.OutcomeChanged {
		t.Fatalf("step on a former admin: %+v %v", res, err)
	}
}

// Without the permission to read the directory roles (403) the sync completes with a warning in
// its status, and the admin flags stay as last read.
func TestSyncWithoutRolePermission(t *testing.T) {
	const n = 600
	e := newEnv(t, graphemu.Options{Users: n}, nil)
	want := privilegedDemo(n)
	e.sync()
	e.checkPrivileged(want)

	// Every permission but those that read roles.
	e.emu.SetRoles([]string{"User.Read.All", "UserAuthenticationMethod.ReadWrite.All", "Policy.ReadWrite.AuthenticationMethod", "Policy.Read.All"})
	admin := e.findUser(func(u graphemu.User) bool { return u.Privileged })
	if err := e.emu.SetPrivileged(admin.ID, false); err != nil { // not seen: kept as last read
		t.Fatal(err)
	}
	if _, err := e.emu.AddUser(mfa.User{UPN: "new.admin@contoso.com", DisplayName: "New Admin", AccountEnabled: true, State: mfa.StateEnforced, Privileged: true}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := e.dir.Sync(ctx); err != nil {
		t.Fatalf("sync without the roles permission: %v", err)
	}
	st, _ := e.dir.SyncStatus(ctx)
	if st.Running || st.Done != n+1 || st.LastSync.IsZero() || !strings.Contains(st.LastError, "RoleManagement.Read.Directory") ||
		!strings.Contains(st.LastError, "directory roles") {
		t.Errorf("status: %+v", st)
	}
	if n2, _ := e.db.CountUsers(ctx); n2 != n+1 {
		t.Errorf("indexed %d users, want %d", n2, n+1)
	}
	e.checkPrivileged(want) // the new admin was never read as one: not an admin yet

	// Granted again: read, and the warning goes.
	e.emu.SetRoles(nil)
	delete(want, mfa.NormalizeUPN(admin.UPN))
	want["new.admin@contoso.com"] = true
	e.sync()
	e.checkPrivileged(want)
	if st, _ := e.dir.SyncStatus(ctx); st.LastError != "" {
		t.Errorf("warning kept: %q", st.LastError)
	}
}
