package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// awaiting lists the users awaiting registration, page by page, as "upn@minutes-after-T0".
func awaiting(t *testing.T, db Store, limit int) []string {
	t.Helper()
	var out []string
	f := mfa.RegistrationFilter{Limit: limit}
	total := -1
	for {
		page, err := db.AwaitingRegistration(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		if total >= 0 && page.Total != total {
			t.Fatalf("total changed while paging: %d then %d", total, page.Total)
		}
		total = page.Total
		for _, u := range page.Users {
			out = append(out, strings.TrimSuffix(u.UPN, "@contoso.com")+"@"+u.EnabledAt.Sub(T0).String())
		}
		if page.NextCursor == "" {
			break
		}
		f.After = page.NextCursor
	}
	if total != len(out) {
		t.Fatalf("total %d, listed %d", total, len(out))
	}
	return out
}

// Every way a state changes (a single change, bulk update, import, the Graph sync's index) keeps
// when the user became Enabled, and the registration list holds exactly the Enabled users who have
// not registered, oldest first.
func testEnabledAtOnEveryWriter(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	now := T0
	svc.Now = func() time.Time { return now }
	// newService imported at T0: ena and boss are Enabled without methods.
	if got, want := strings.Join(awaiting(t, db, 1), " "), "ena@0s boss@0s"; got != want {
		t.Fatalf("after import: %q, want %q", got, want)
	}

	now = T0.Add(time.Hour) // a single change: dis (who holds a method) is re-enabled holding it
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	now = T0.Add(2 * time.Hour) // setting Enabled again keeps the time; Enforce takes boss off the list
	svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled})
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "boss@contoso.com", To: mfa.StateEnforced}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(awaiting(t, db, 2), " "), "ena@0s dis@1h0m0s"; got != want {
		t.Fatalf("after single changes: %q, want %q", got, want)
	}

	now = T0.Add(3 * time.Hour) // bulk update: boss back to Enabled, ena disabled, enf enabled
	job, _ := planFile(t, svc, admin, "Username,MFA Status\nboss@contoso.com,Enabled\nena@contoso.com,Disabled\nenf@contoso.com,Enabled\n")
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
		t.Fatal(err)
	}
	runJob(t, svc, job.ID)
	// enf holds a method, but moved to Enabled it must register again (SPEC §1).
	if got, want := strings.Join(awaiting(t, db, 2), " "), "dis@1h0m0s enf@3h0m0s boss@3h0m0s"; got != want {
		t.Fatalf("after bulk: %q, want %q", got, want)
	}
	if u, _ := db.FindUser(ctx, "enf@contoso.com"); !u.EnabledAt.Equal(T0.Add(3*time.Hour)) || u.Registered() {
		t.Errorf("enf: EnabledAt %v, registered %v", u.EnabledAt, u.Registered())
	}

	now = T0.Add(4 * time.Hour) // manage user settings on an Enabled user: still awaiting, same time
	if _, _, err := svc.ResetUser(ctx, admin, mfa.ResetRequest{UPN: "enf@contoso.com", Options: mfa.ResetOptions{ContactMethods: true}}); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(awaiting(t, db, 10), " "), "dis@1h0m0s enf@3h0m0s boss@3h0m0s"; got != want {
		t.Fatalf("after reset: %q, want %q", got, want)
	}

	// import: ena enabled at the import's time, boss (already Enabled) keeps its time, dis disabled.
	imp := "UserPrincipalName,DisplayName,MFA Status\nena@contoso.com,Ena,Enabled\nboss@contoso.com,Boss,Enabled\ndis@contoso.com,Dis,Disabled\n"
	now = T0.Add(5 * time.Hour)
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(imp), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(awaiting(t, db, 10), " "), "enf@3h0m0s boss@3h0m0s ena@5h0m0s"; got != want {
		t.Fatalf("after import: %q, want %q", got, want)
	}

	// The Graph sync's index: a user read Enabled is so from when it was read; one read Enforced leaves.
	err := db.IndexUsers(ctx, []mfa.ExternalUser{
		{ExternalID: "g-new", UPN: "new@contoso.com", DisplayName: "New", AccountEnabled: true, StateRead: true, State: mfa.StateEnabled, ReadAt: T0.Add(6 * time.Hour)},
		{ExternalID: "g-dis", UPN: "dis@contoso.com", DisplayName: "Dis", AccountEnabled: true, StateRead: true, State: mfa.StateEnabled, ReadAt: T0.Add(7 * time.Hour)},
		{ExternalID: "g-boss", UPN: "boss@contoso.com", DisplayName: "Boss", AccountEnabled: true, StateRead: true, State: mfa.StateEnforced,
			Methods: []mfa.Method{{Type: mfa.MethodMobilePhone, IsDefault: true}}, ReadAt: T0.Add(7 * time.Hour)},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	// dis was read Enabled with no methods left in Graph.
	if got, want := strings.Join(awaiting(t, db, 3), " "), "enf@3h0m0s ena@5h0m0s new@6h0m0s dis@7h0m0s"; got != want {
		t.Fatalf("after the sync: %q, want %q", got, want)
	}
	if u, _ := db.FindUser(ctx, "boss@contoso.com"); !u.EnabledAt.IsZero() {
		t.Errorf("boss enforced: EnabledAt %v, want zero", u.EnabledAt)
	}
}

// A malformed cursor of the registration list is EINVALID naming the cursor.
func testAwaitingRegistrationBadCursor(t *testing.T, open Opener) {
	db := open(t)
	for _, c := range []string{"bm9wZQ", "garbage", "cg", "!!"} {
		if _, err := db.AwaitingRegistration(context.Background(), mfa.RegistrationFilter{Limit: 10, After: c}); mfa.ErrorField(err) != "cursor" {
			t.Errorf("cursor %q: %v", c, err)
		}
	}
}
