package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// EveryKind is a store filled with every kind of data it keeps (FillEveryKind), with the secrets
// of which only hashes are stored.
type EveryKind struct {
	Store      Store
	SetupLink  string // a live setup link's secret (bob's)
	Device     string // ann's remembered device's token
	AuditKey   []byte
	Now        time.Time
	Throttled  []string // keys of the namespace "user" with counters
	ExternalID string   // of the user linked to a remote directory
}

// FillEveryKind writes every kind of data a store keeps into db (an empty one), through the
// portal's services as they write it: users (imported, seeded, changed one by one, linked to a
// remote directory with Conditional Access coverage), the keyed audit log, local accounts with an
// authenticator app, tokens, an admin session, a bulk job run and its undo planned, settings, the
// users' passwords, setup links, method details, app passwords and remembered devices, an
// exemption, overview snapshots, the notify template, meta values, throttle counters, the sync's
// state and the tenant's Conditional Access. For the tests of copying a store (mfaportal migrate).
func FillEveryKind(t *testing.T, db Store) EveryKind {
	t.Helper()
	ctx := context.Background()
	k := EveryKind{Store: db, AuditKey: auditKey1}
	if _, err := db.UseAuditKey(ctx, auditKey1, T0); err != nil {
		t.Fatal(err)
	}
	seedDemo(t, db, 60)
	e := newSelfEnvOn(t, db)
	svc := e.svc
	svc.Jobs, svc.Exemptions, svc.Overview, svc.Notices = db, db, db, db
	// Security info: ann with a password, the app, an app password and a remembered device; a live
	// setup link for bob.
	in, secret := e.signedIn()
	e.settings(func(s *mfa.Settings) {
		s.AppPasswordsAllowed, s.RememberMFA = true, mfa.RememberMFA{Enabled: true, Days: 14}
	})
	if _, _, err := e.self.CreateAppPassword(bg, in.Session, e.user("ann@contoso.com"), "Outlook", ""); err != nil {
		t.Fatal(err)
	}
	e.now = e.now.Add(time.Minute)
	in = e.signIn("ann@contoso.com", "ann's long password", "")
	e.self.StartSignInCode(bg, in.Session, in.User, "")
	device, _, err := e.self.VerifySignInCode(bg, in.Session, in.User, e.totpCode(secret), true)
	if err != nil {
		t.Fatal(err)
	}
	link, err := e.self.CreateSetupLink(bg, mfa.CLIActor, "bob@contoso.com")
	if err != nil {
		t.Fatal(err)
	}
	k.Device, k.SetupLink = device, link.URL[strings.LastIndex(link.URL, "/")+1:]
	// Changes one by one, a bulk job run and its undo planned, an exemption.
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "adele.abara@contoso.com", To: mfa.StateEnforced}); err != nil {
		t.Fatal(err)
	}
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndan@contoso.com,Disabled\ncat@contoso.com,Disabled\nghost@contoso.com,Enabled\n")
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, "INC-42"); err != nil {
		t.Fatal(err)
	}
	runJob(t, svc, job.ID)
	if _, err := svc.PlanUndo(ctx, admin, job.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.StartExemption(ctx, admin, mfa.ExemptionRequest{UPN: "eve@contoso.com", Hours: 48, Reason: "travel"}); err != nil {
		t.Fatal(err)
	}
	fillPortal(t, &k, svc)
	return k
}

// fillPortal writes the portal's own data: accounts, tokens, a session, snapshots, the notify
// template, meta, throttle counters, and a remote directory's users, sync and Conditional Access.
func fillPortal(t *testing.T, k *EveryKind, svc *mfa.Service) {
	t.Helper()
	ctx, db := context.Background(), k.Store
	if err := svc.CreateAccount(ctx, mfa.CLIActor, "helen", mfa.RoleHelpdesk, "helen's long password"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAccountTOTP(ctx, "helen", "JBSWY3DPEHPK3PXP", T0); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UseAccountTOTPStep(ctx, "helen", 42); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.CreateToken(ctx, admin, "ci", mfa.RoleReader); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, &mfa.Session{ID: "s1", Account: "helen", Role: mfa.RoleHelpdesk, Method: "local", CreatedAt: T0, LastSeenAt: T0}); err != nil {
		t.Fatal(err)
	}
	for d := range 3 {
		c, err := db.CountOverview(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c.Day, c.TakenAt = T0.AddDate(0, 0, d).Format(time.DateOnly), T0.AddDate(0, 0, d)
		if err := db.SaveSnapshot(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.SaveNotifyTemplate(ctx, admin, mfa.NotifyTemplate{Subject: "Please, {displayName}", Body: "Go to {link}"}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetMeta(ctx, "directory", "embedded"); err != nil {
		t.Fatal(err)
	}
	k.Throttled = []string{"a:ann@contoso.com", "ip:203.0.113.9"}
	if err := db.UpdateThrottle(ctx, "user", k.Throttled, T0.Add(-time.Hour), func(cs []mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error) {
		for i := range cs {
			cs[i].Failures, cs[i].Last = i+3, T0
		}
		return cs, nil
	}); err != nil {
		t.Fatal(err)
	}
	k.ExternalID = "0b1c2d3e-0000-4000-8000-000000000001"
	if err := db.BeginSync(ctx, 3, T0); err != nil {
		t.Fatal(err)
	}
	indexUsers(t, db, 3, mfa.ExternalUser{ExternalID: k.ExternalID, UPN: "graph.user@contoso.com", DisplayName: "Graph User",
		AccountEnabled: true, StateRead: true, State: mfa.StateEnabled, ReadAt: T0, MethodsAt: T0.Add(-time.Hour),
		Methods: []mfa.Method{{Type: mfa.MethodFIDO2, IsDefault: true}}, PrivilegedRead: true, Privileged: true,
		CoverageRead: true, Coverage: mfa.Coverage{Status: mfa.CARequired, Policies: []string{"CA001 Require MFA"}}})
	if err := db.FinishSync(ctx, T0.Add(time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveConditionalAccess(ctx, mfa.ConditionalAccessSummary{Read: true, ReadAt: T0, SecurityDefaults: false,
		Policies: []mfa.CAPolicyReport{{ID: "p1", Name: "CA001 Require MFA", State: mfa.CAPolicyEnabled, Counts: true, Targets: "all users"}}}); err != nil {
		t.Fatal(err)
	}
	k.Now = T0.Add(time.Hour)
}

// newSelfEnvOn is newSelfEnv over a store already open.
func newSelfEnvOn(t *testing.T, db Store) *selfEnv {
	return newSelfEnv(t, func(*testing.T) Store { return db })
}
