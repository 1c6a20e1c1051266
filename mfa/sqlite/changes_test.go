package sqlite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func newService(t *testing.T) (*mfa.Service, *DB) {
	t.Helper()
	db := openTest(t)
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Importer: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return t0 }})
	in := "UserPrincipalName,DisplayName,MFA Status,Admin,Methods\n" +
		"dis@contoso.com,Dis Abled,Disabled,false,mobilePhone\n" +
		"ena@contoso.com,Ena Bled,Enabled,false,\n" +
		"enf@contoso.com,Enf Orced,Enforced,false,microsoftAuthenticatorPush\n" +
		"boss@contoso.com,Big Boss,Enabled,true,\n"
	if _, err := svc.ImportUsers(context.Background(), mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	return svc, db
}

var (
	admin    = mfa.Actor{Name: "alice", Role: mfa.RoleGlobalAdmin, Method: "local", IP: "127.0.0.1"}
	authAdm  = mfa.Actor{Name: "aaron", Role: mfa.RoleAuthAdmin, Method: "local"}
	helpdesk = mfa.Actor{Name: "hugo", Role: mfa.RoleHelpdesk, Method: "local"}
	reader   = mfa.Actor{Name: "rita", Role: mfa.RoleReader, Method: "local"}
)

func auditCount(t *testing.T, db *DB) int {
	t.Helper()
	n := 0
	db.EachAudit(context.Background(), 0, func(*mfa.AuditRecord) error { n++; return nil })
	return n
}

func TestSetStateRulesAndAudit(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	// Re-enabling a user who still holds methods: stays Enabled, with the caveat.
	u, changed, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "DIS@contoso.com", To: mfa.StateEnabled, Reason: "INC-1", Source: mfa.SourceAPI})
	if err != nil || !changed || u.State != mfa.StateEnabled || !u.HadMethodsWhenReenabled || u.Version != 2 {
		t.Fatalf("enable: %+v %v %v", u, changed, err)
	}
	// No-op: no change, no record.
	before := auditCount(t, db)
	if _, changed, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil || changed {
		t.Fatalf("no-op: %v %v", changed, err)
	}
	if auditCount(t, db) != before {
		t.Fatal("a no-op was recorded")
	}
	// Disabled → Enforced is not a move an admin may make.
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "enf@contoso.com", To: mfa.StateDisabled}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "enf@contoso.com", To: mfa.StateEnforced}); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Fatalf("disabled → enforced: %v", err)
	}
	// Disabling keeps the methods.
	if u, _ := db.FindUser(ctx, "enf@contoso.com"); u.State != mfa.StateDisabled || len(u.Methods) != 1 {
		t.Fatalf("after disable: %+v", u)
	}
	// Stale version: 409, nothing changed.
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "ena@contoso.com", To: mfa.StateEnforced, Version: 99}); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("stale version: %v", err)
	}
	// Roles: reader and helpdesk may not; authentication-admin not on an admin.
	for _, a := range []mfa.Actor{reader, helpdesk} {
		if _, _, err := svc.SetState(ctx, a, mfa.StateRequest{UPN: "ena@contoso.com", To: mfa.StateEnforced}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
			t.Fatalf("%s: %v", a.Role, err)
		}
	}
	if _, _, err := svc.SetState(ctx, authAdm, mfa.StateRequest{UPN: "boss@contoso.com", To: mfa.StateEnforced}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("auth admin on an admin: %v", err)
	}
	if _, _, err := svc.SetState(ctx, authAdm, mfa.StateRequest{UPN: "ena@contoso.com", To: mfa.StateEnforced}); err != nil {
		t.Fatalf("auth admin on a user: %v", err)
	}
	if u, _ := db.FindUser(ctx, "boss@contoso.com"); u.State != mfa.StateEnabled {
		t.Fatal("a refused change changed the user")
	}
	// Reason required when configured.
	svc.RequireReason = true
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "boss@contoso.com", To: mfa.StateEnforced}); mfa.ErrorField(err) != "reason" {
		t.Fatalf("missing reason: %v", err)
	}
	// The records: who, what, before, after, source, reason, ip.
	page, err := db.FindAudit(ctx, mfa.AuditFilter{Target: "DIS@CONTOSO.COM", Action: mfa.AuditEnable, Limit: 10})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("audit: %+v %v", page, err)
	}
	r := page.Records[0]
	if r.Action != mfa.AuditEnable || r.Before != "Disabled" || r.After != "Enabled" || r.ActorName != "alice" ||
		r.ActorRole != mfa.RoleGlobalAdmin || r.Source != "api" || r.Reason != "INC-1" || r.ClientIP != "127.0.0.1" || r.Outcome != "success" {
		t.Fatalf("record %+v", r)
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != int64(auditCount(t, db)) {
		t.Fatalf("verify: %d %v", n, err)
	}
}

func TestResetUser(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	if _, _, err := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "enf@contoso.com", Options: mfa.ResetOptions{}}); mfa.ErrorField(err) != "options" {
		t.Fatalf("no option: %v", err)
	}
	u, changed, err := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "enf@contoso.com",
		Options: mfa.ResetOptions{ContactMethods: true, AppPasswords: true, RememberedDevices: true}})
	if err != nil || !changed || len(u.Methods) != 0 || !u.RememberedDevicesNotBefore.Equal(t0) || u.State != mfa.StateEnforced {
		t.Fatalf("reset: %+v %v %v", u, changed, err)
	}
	// Nothing left to delete: no change, no record.
	n := auditCount(t, db)
	if _, changed, _ := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "enf@contoso.com", Options: mfa.ResetOptions{ContactMethods: true}}); changed || auditCount(t, db) != n {
		t.Fatal("an empty reset was recorded")
	}
	if _, _, err := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "boss@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("helpdesk on an admin: %v", err)
	}
	if _, _, err := svc.ResetUser(ctx, reader, mfa.ResetRequest{UPN: "enf@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("reader: %v", err)
	}
}

func TestApplyStepReportsEachUser(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	targets := []mfa.Target{{UPN: "dis@contoso.com"}, {UPN: "ena@contoso.com"}, {UPN: "enf@contoso.com"}, {UPN: "boss@contoso.com"}, {UPN: "ghost@contoso.com"}}
	res, err := svc.ApplyStep(ctx, authAdm, mfa.ActionEnforce, targets, "", mfa.SourcePage, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []mfa.Outcome{mfa.OutcomeUnchanged, mfa.OutcomeChanged, mfa.OutcomeUnchanged, mfa.OutcomeRefused, mfa.OutcomeNotFound}
	for i, r := range res {
		if r.Outcome != want[i] {
			t.Errorf("%s: %s (%s), want %s", r.UPN, r.Outcome, r.Message, want[i])
		}
	}
	if res[1].Before != mfa.StateEnabled || res[1].After != mfa.StateEnforced || res[3].DisplayName != "Big Boss" {
		t.Errorf("results %+v", res)
	}
	if _, err := svc.ApplyStep(ctx, helpdesk, mfa.ActionEnable, targets, "", mfa.SourcePage, nil); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("helpdesk step: %v", err)
	}
}

func TestAuditChainDetectsTampering(t *testing.T) {
	svc, db := newService(t)
	ctx := context.Background()
	imported := auditCount(t, db) // users import's records
	for _, upn := range []string{"dis@contoso.com", "ena@contoso.com", "enf@contoso.com"} {
		if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: upn, To: mfa.StateDisabled}); err != nil {
			t.Fatal(err)
		}
	}
	svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled})
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != 3+int64(imported) {
		t.Fatalf("intact chain: %d %v", n, err)
	}
	// The portal refuses to change or delete a record.
	if _, err := db.db.Exec("UPDATE audit SET reason = 'x' WHERE seq = 2"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("update allowed: %v", err)
	}
	// Someone with the file drops the guard and alters a record: verify names it.
	db.db.Exec("DROP TRIGGER audit_no_update")
	db.db.Exec("DROP TRIGGER audit_no_delete")
	db.db.Exec("UPDATE audit SET after = 'Enforced' WHERE seq = 2")
	if _, err := svc.VerifyAudit(ctx, mfa.CLIActor); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Fatalf("altered record: %v", err)
	}
	db.db.Exec("UPDATE audit SET after = 'Disabled' WHERE seq = 2")
	db.db.Exec("DELETE FROM audit WHERE seq = 2")
	if _, err := svc.VerifyAudit(ctx, mfa.CLIActor); err == nil || !strings.Contains(err.Error(), "expected record 2") {
		t.Fatalf("removed record: %v", err)
	}
}
