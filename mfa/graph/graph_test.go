package graph

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// A full sync indexes exactly the tenant's users, states and methods, in pages of 999 and batches
// of 20, and a later one removes users deleted in Graph.
func TestSyncIndexesEveryUser(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 2500}, nil)
	e.sync()
	ctx := context.Background()
	n, err := e.db.CountUsers(ctx)
	if err != nil || n != 2500 {
		t.Fatalf("indexed %d users (%v), want 2500", n, err)
	}
	for _, id := range e.emu.UserIDs() {
		want, _ := e.emu.User(id)
		got, err := e.dir.FindUser(ctx, want.UPN)
		if err != nil {
			t.Fatalf("%s: %v", want.UPN, err)
		}
		if got.State != want.State || got.DisplayName != want.DisplayName || got.AccountEnabled != want.AccountEnabled {
			t.Fatalf("%s: indexed %s %q %v, Graph has %s %q %v", want.UPN, got.State, got.DisplayName, got.AccountEnabled, want.State, want.DisplayName, want.AccountEnabled)
		}
		if len(got.Methods) != len(uniqueTypes(want.Methods)) {
			t.Fatalf("%s: indexed methods %v, Graph has %v", want.UPN, got.Methods, want.Methods)
		}
		if got.StateReadAt.IsZero() {
			t.Fatalf("%s: no read time", want.UPN)
		}
	}
	st := e.emu.Stats()
	// 3 pages of users; 1 read a user (the state: the methods come from the registration report), at
	// most 20 a batch. Batches are mostly full: how many are cut short at page ends and when the
	// pipeline runs dry depends on timing, so allow some.
	if st.BatchSteps != 2500 || st.BatchRequests < 125 || st.BatchRequests > 160 {
		t.Errorf("batches: %d requests, %d steps; want 2500 steps in 125 to 160 requests", st.BatchRequests, st.BatchSteps)
	}
	status, _ := e.dir.SyncStatus(ctx)
	if status.Running || status.LastSync.IsZero() || status.Done != 2500 || status.Total != 2500 || status.LastError != "" {
		t.Errorf("status after the sync: %+v", status)
	}

	// Deleted, added, changed in Graph meanwhile.
	gone := e.emu.UserIDs()[10]
	goneUser, _ := e.emu.User(gone)
	if err := e.emu.DeleteUser(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := e.emu.AddUser(mfa.User{UPN: "new.user@contoso.com", DisplayName: "New User", AccountEnabled: true, State: mfa.StateEnforced}); err != nil {
		t.Fatal(err)
	}
	changed, _ := e.emu.User(e.emu.UserIDs()[20])
	before, _ := e.dir.FindUser(ctx, changed.UPN)
	if err := e.emu.SetUserState(changed.ID, mfa.StateEnforced); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if _, err := e.dir.FindUser(ctx, goneUser.UPN); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Errorf("a user deleted in Graph is still indexed: %v", err)
	}
	if u, err := e.dir.FindUser(ctx, "new.user@contoso.com"); err != nil || u.State != mfa.StateEnforced {
		t.Errorf("new user: %+v %v", u, err)
	}
	after, _ := e.dir.FindUser(ctx, changed.UPN)
	if after.State != mfa.StateEnforced || (before.State != mfa.StateEnforced && after.Version <= before.Version) {
		t.Errorf("changed user: %s v%d → %s v%d", before.State, before.Version, after.State, after.Version)
	}
	if n, _ := e.db.CountUsers(ctx); n != 2500 {
		t.Errorf("indexed %d users after the second sync, want 2500", n)
	}
}

func uniqueTypes(ms []graphemu.Method) map[mfa.MethodType]bool {
	out := map[mfa.MethodType]bool{}
	for _, m := range ms {
		out[m.Type] = true
	}
	return out
}

// Enabling a user who has methods: Graph enforces them; the index and the audit record say so.
func TestSetStateReadsGraphsAnswer(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 300}, nil)
	e.sync()
	ctx := context.Background()
	withMethods := e.findUser(func(u graphemu.User) bool {
		return u.State == mfa.StateDisabled && len(u.Methods) > 0 && u.Methods[0].Type != mfa.MethodEmail
	})
	without := e.findUser(func(u graphemu.User) bool { return u.State == mfa.StateDisabled && len(u.Methods) == 0 })

	u, changed, err := e.svc.SetState(ctx, admin, mfa.StateRequest{UPN: without.UPN, To: mfa.StateEnabled, Source: "page"})
	if err != nil || !changed || u.State != mfa.StateEnabled {
		t.Fatalf("enable without methods: %+v %v %v", u, changed, err)
	}
	if st, _ := e.emu.UserState(without.ID); st != mfa.StateEnabled {
		t.Errorf("Graph has %s, want enabled", st)
	}

	u, changed, err = e.svc.SetState(ctx, admin, mfa.StateRequest{UPN: withMethods.UPN, To: mfa.StateEnabled, Source: "page"})
	if err != nil || !changed {
		t.Fatalf("enable with methods: %v %v", changed, err)
	}
	if u.State != mfa.StateEnforced {
		t.Errorf("index has %s after Graph enforced the user", u.State)
	}
	if st, _ := e.emu.UserState(withMethods.ID); st != mfa.StateEnforced {
		t.Errorf("Graph has %s", st)
	}
	page, err := e.db.FindAudit(ctx, mfa.AuditFilter{Target: withMethods.UPN, Limit: 5})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("audit: %v %v", page, err)
	}
	if rec := page.Records[0]; rec.Action != mfa.AuditEnable || !strings.HasPrefix(rec.After, "Enforced") {
		t.Errorf("audit record: %s %q → %q", rec.Action, rec.Before, rec.After)
	}

	// Disable, then an out-of-date index: the step is decided on Graph's state.
	if _, _, err := e.svc.SetState(ctx, admin, mfa.StateRequest{UPN: withMethods.UPN, To: mfa.StateDisabled, Source: "page"}); err != nil {
		t.Fatal(err)
	}
	if err := e.emu.SetUserState(withMethods.ID, mfa.StateEnforced); err != nil {
		t.Fatal(err)
	}
	res, err := e.svc.ApplyStep(ctx, admin, mfa.ActionEnable, []mfa.Target{{UPN: withMethods.UPN}}, "", "page", nil)
	if err != nil || res[0].Outcome != mfa.OutcomeUnchanged || res[0].After != mfa.StateEnforced {
		t.Errorf("enable on a user Graph has enforced: %+v %v", res, err)
	}
	if st, _ := e.emu.UserState(withMethods.ID); st != mfa.StateEnforced {
		t.Errorf("Graph has %s", st)
	}
}

// "Provide contact methods again" deletes every method but the password, the default last, and
// the index shows none.
func TestResetDeletesMethods(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 50}, nil)
	ctx := context.Background()
	id, err := e.emu.AddUser(mfa.User{UPN: "many.methods@contoso.com", DisplayName: "Many Methods", AccountEnabled: true, State: mfa.StateEnforced,
		Methods: []mfa.Method{{Type: mfa.MethodAlternateMobilePhone, IsDefault: true}, {Type: mfa.MethodMobilePhone}, {Type: mfa.MethodOfficePhone},
			{Type: mfa.MethodAuthenticatorPush}, {Type: mfa.MethodSoftwareOTP}, {Type: mfa.MethodHardwareOTP}, {Type: mfa.MethodFIDO2}, {Type: mfa.MethodEmail}}})
	if err != nil {
		t.Fatal(err)
	}
	e.sync()
	u, changed, err := e.svc.ResetUser(ctx, admin, mfa.ResetRequest{UPN: "many.methods@contoso.com", Options: mfa.ResetOptions{ContactMethods: true}, Source: "page"})
	if err != nil || !changed {
		t.Fatalf("reset: %v %v", changed, err)
	}
	if len(u.Methods) != 0 {
		t.Errorf("index keeps methods %v", u.Methods)
	}
	g, _ := e.emu.User(id)
	if len(g.Methods) != 0 || g.State != mfa.StateEnforced {
		t.Errorf("Graph keeps %+v", g)
	}
	if st := e.emu.Stats(); st.MethodsDeleted != 8 {
		t.Errorf("%d methods deleted, want 8", st.MethodsDeleted)
	}
	page, _ := e.db.FindAudit(ctx, mfa.AuditFilter{Target: "many.methods@contoso.com", Limit: 5})
	if len(page.Records) != 1 || page.Records[0].After != "methods: none" {
		t.Errorf("audit: %+v", page.Records)
	}
	// App passwords and remembered devices cannot be reset through Graph.
	_, _, err = e.svc.ResetUser(ctx, admin, mfa.ResetRequest{UPN: "many.methods@contoso.com", Options: mfa.ResetOptions{AppPasswords: true}})
	if mfa.ErrorCode(err) != mfa.EINVALID || !strings.Contains(mfa.ErrorMessage(err), "app passwords") {
		t.Errorf("app passwords reset: %v", err)
	}
}

// A user deleted in Graph after the sync: the change fails with ENOTFOUND and the user leaves the
// index.
func TestDeletedMeanwhile(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 40}, nil)
	e.sync()
	ctx := context.Background()
	g, _ := e.emu.User(e.emu.UserIDs()[3])
	if err := e.emu.DeleteUser(g.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.svc.SetState(ctx, admin, mfa.StateRequest{UPN: g.UPN, To: mfa.StateEnforced})
	if mfa.ErrorCode(err) != mfa.ENOTFOUND || !strings.Contains(mfa.ErrorMessage(err), "deleted in Microsoft Graph meanwhile") {
		t.Fatalf("change of a deleted user: %v", err)
	}
	if _, err := e.dir.FindUser(ctx, g.UPN); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Errorf("still indexed: %v", err)
	}
}

// Wrong credentials: a clear error with the sign-in service's message, nothing indexed, and the
// page's notice set.
func TestWrongCredentials(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 10}, func(c *Config) { c.ClientSecret = "wrong" })
	ctx := context.Background()
	err := e.dir.Sync(ctx)
	if mfa.ErrorCode(err) != mfa.EUNAVAILABLE || !strings.Contains(mfa.ErrorMessage(err), "AADSTS7000215") {
		t.Fatalf("sync with a wrong secret: %v", err)
	}
	if n, _ := e.db.CountUsers(ctx); n != 0 {
		t.Errorf("%d users indexed", n)
	}
	st, _ := e.dir.SyncStatus(ctx)
	if !strings.Contains(st.LastError, "AADSTS7000215") || st.Running {
		t.Errorf("status: %+v", st)
	}
	if err := e.dir.Ping(ctx); err == nil {
		t.Error("Ping answers nil with wrong credentials")
	}
}

// A permission refused (403) stops the sync with Graph's message and the permissions to grant;
// the index keeps what it had.
func TestPermissionRefused(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 100}, nil)
	e.sync()
	ctx := context.Background()
	e.emu.SetRoles([]string{"User.Read.All"})
	err := e.dir.Sync(ctx)
	if mfa.ErrorCode(err) != mfa.EUNAVAILABLE || !strings.Contains(mfa.ErrorMessage(err), "Insufficient privileges") ||
		!strings.Contains(mfa.ErrorMessage(err), "UserAuthenticationMethod.ReadWrite.All") {
		t.Fatalf("sync without permission: %v", err)
	}
	if n, _ := e.db.CountUsers(ctx); n != 100 {
		t.Errorf("index has %d users, want the 100 it had", n)
	}
}

// Throttled items inside a $batch are retried after their Retry-After, as are 5xx answers and
// dropped connections, and nothing is lost. The faults are drawn at random in whatever order the
// concurrent requests arrive, so the rates are set high enough that every kind is hit: with about
// 190 top-level answers at 6 %, the chance that drops or cut answers never happen is below 1e-5
// (at 2 % it was 2 %, and CI once saw no cut answer).
func TestFaultsAreRetried(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 1200, Faults: graphemu.Faults{Rate429: 0.05, Rate5xx: 0.05, RateDrop: 0.06, RateTruncate: 0.06,
		RetryAfter: 30 * time.Millisecond, Seed: 7}}, nil)
	e.sync()
	ctx := context.Background()
	n, _ := e.db.CountUsers(ctx)
	if n != 1200 {
		t.Fatalf("indexed %d users, want 1200", n)
	}
	for _, id := range e.emu.UserIDs() {
		want, _ := e.emu.User(id)
		got, err := e.dir.FindUser(ctx, want.UPN)
		if err != nil || got.State != want.State || got.StateReadAt.IsZero() {
			t.Fatalf("%s: %+v %v (Graph: %s)", want.UPN, got, err, want.State)
		}
	}
	st := e.emu.Stats()
	if st.Injected429 == 0 || st.Injected5xx == 0 || st.Dropped == 0 || st.Truncated == 0 {
		t.Errorf("faults not exercised: %+v", st)
	}
	t.Logf("faults: %d 429, %d 5xx, %d dropped, %d truncated", st.Injected429, st.Injected5xx, st.Dropped, st.Truncated)
}

// Graph down: the sync fails with a clear message after its retries, the index is kept.
func TestGraphDown(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 30}, func(c *Config) { c.MaxAttempts = 3 })
	e.sync()
	ctx := context.Background()
	e.emu.SetFaults(graphemu.Faults{Rate5xx: 1, Codes5xx: []int{503}, RetryAfter: 10 * time.Millisecond})
	err := e.dir.Sync(ctx)
	if mfa.ErrorCode(err) != mfa.EUNAVAILABLE || !strings.Contains(mfa.ErrorMessage(err), "unavailable") {
		t.Fatalf("sync with Graph down: %v", err)
	}
	if n, _ := e.db.CountUsers(ctx); n != 30 {
		t.Errorf("index has %d users", n)
	}
	// A change fails the same way and changes nothing.
	g, _ := e.emu.User(e.emu.UserIDs()[0])
	before, _ := e.dir.FindUser(ctx, g.UPN)
	_, _, err = e.svc.SetState(ctx, admin, mfa.StateRequest{UPN: g.UPN, To: mfa.StateEnforced})
	if mfa.ErrorCode(err) != mfa.EUNAVAILABLE {
		t.Fatalf("change with Graph down: %v", err)
	}
	after, _ := e.dir.FindUser(ctx, g.UPN)
	if after.Version != before.Version || after.State != before.State {
		t.Errorf("index changed: %+v → %+v", before, after)
	}
}

// The verification options are the authentication methods policy's; the other settings are
// read-only with the reason.
func TestSettingsPolicy(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 5}, nil)
	ctx := context.Background()
	cur, caps, err := e.svc.GetSettings(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if caps.AppPasswords.Available || caps.TrustedIPs.Available || caps.RememberMFA.Available || !caps.VerificationOptions.Available || !caps.PublicRangesOnly {
		t.Errorf("capabilities: %+v", caps)
	}
	if !strings.Contains(caps.TrustedIPs.Reason, "no API") {
		t.Errorf("reason: %q", caps.TrustedIPs.Reason)
	}
	if v := cur.VerificationOptions; !v.Call || !v.SMS || !v.AppNotification || !v.AppCode {
		t.Errorf("options read: %+v", v)
	}
	next := cur
	next.VerificationOptions.SMS = false
	next.VerificationOptions.AppCode = false
	saved, changed, err := e.svc.SaveSettings(ctx, admin, next, "page")
	if err != nil || !changed || saved.VerificationOptions != next.VerificationOptions {
		t.Fatalf("save: %+v %v %v", saved, changed, err)
	}
	if s, _ := e.emu.MethodConfigurationState("Sms"); s != "disabled" {
		t.Errorf("Sms is %s in Graph", s)
	}
	if s, _ := e.emu.MethodConfigurationState("SoftwareOath"); s != "disabled" {
		t.Errorf("SoftwareOath is %s in Graph", s)
	}
	if s, _ := e.emu.MethodConfigurationState("Voice"); s != "enabled" {
		t.Errorf("Voice is %s in Graph", s)
	}
	// Changed in Graph: read back.
	if err := e.emu.SetMethodConfigurationState("MicrosoftAuthenticator", "disabled"); err != nil {
		t.Fatal(err)
	}
	e.dir.policyTTL = 0
	cur, _, err = e.svc.GetSettings(ctx, admin)
	if err != nil || cur.VerificationOptions.AppNotification {
		t.Errorf("after a change in Graph: %+v %v", cur.VerificationOptions, err)
	}
	// A setting Graph cannot apply is refused.
	bad := cur
	bad.AppPasswordsAllowed = true
	if _, _, err := e.svc.SaveSettings(ctx, admin, bad, "page"); mfa.ErrorField(err) != "appPasswordsAllowed" {
		t.Errorf("app passwords: %v", err)
	}
}

// A quick step on "all matching users" acts on at most 200 users through Graph (about ten seconds
// at its write quota) and says why; bulk update is the way for more.
func TestQuickStepLimitOnGraph(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 260}, nil)
	e.sync()
	ctx := context.Background()
	_, err := e.svc.SelectAll(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusAny})
	if mfa.ErrorCode(err) != mfa.EINVALID || !strings.Contains(mfa.ErrorMessage(err), "260 users match: a quick step acts on at most 200 here (Microsoft Graph accepts about 20 changes a second)") {
		t.Fatalf("all 260 users: %v", err)
	}
	one := e.findUser(func(graphemu.User) bool { return true })
	users, err := e.svc.SelectAll(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Status: mfa.StatusAny, Query: one.UPN})
	if err != nil || len(users) != 1 || users[0].UPN != one.UPN {
		t.Fatalf("one user: %v %v", users, err)
	}
}
