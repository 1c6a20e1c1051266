package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

func testSetStateRulesAndAudit(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	// Re-enabling a user who still holds methods: stays Enabled, with the caveat.
	u, changed, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "DIS@contoso.com", To: mfa.StateEnabled, Reason: "INC-1", Source: mfa.SourceAPI})
	if err != nil || !changed || u.State != mfa.StateEnabled || !u.HadMethodsWhenReenabled || u.Version != 2 {
		t.Fatalf("enable: %+v %v %v", u, changed, err)
	}
	if got, _ := db.FindUser(ctx, "dis@contoso.com"); got.Version != 2 || !got.HadMethodsWhenReenabled || !got.StateReadAt.Equal(T0) {
		t.Fatalf("stored: %+v", got)
	}
	// No-op: no change, no record.
	before := auditCount(t, db)
	if _, changed, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil || changed {
		t.Fatalf("no-op: %v %v", changed, err)
	}
	if auditCount(t, db) != before {
		t.Fatal("a no-op was recorded")
	}
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "enf@contoso.com", To: mfa.StateDisabled}); err != nil {
		t.Fatal(err)
	}
	// Disabled → Enforced is not a move an admin may make.
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
	page, err := db.FindAudit(ctx, mfa.AuditFilter{Target: "DIS@CONTOSO.COM", Action: mfa.AuditEnable, Limit: 10})
	if err != nil || len(page.Records) != 1 {
		t.Fatalf("audit: %+v %v", page, err)
	}
	r := page.Records[0]
	if r.Action != mfa.AuditEnable || r.Before != "Disabled" || r.After != "Enabled" || r.ActorName != "alice" ||
		r.ActorRole != mfa.RoleGlobalAdmin || r.Source != "api" || r.Reason != "INC-1" || r.ClientIP != "127.0.0.1" ||
		r.Outcome != "success" || !r.Time.Equal(T0) {
		t.Fatalf("record %+v", r)
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != int64(auditCount(t, db)) {
		t.Fatalf("verify: %d %v", n, err)
	}
}

func testResetUser(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	u, changed, err := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "enf@contoso.com",
		Options: mfa.ResetOptions{ContactMethods: true, AppPasswords: true, RememberedDevices: true}})
	if err != nil || !changed || len(u.Methods) != 0 || !u.RememberedDevicesNotBefore.Equal(T0) || u.State != mfa.StateEnforced {
		t.Fatalf("reset: %+v %v %v", u, changed, err)
	}
	if got, _ := db.FindUser(ctx, "enf@contoso.com"); len(got.Methods) != 0 || !got.RememberedDevicesNotBefore.Equal(T0) || got.Version != 2 {
		t.Fatalf("stored: %+v", got)
	}
	n := auditCount(t, db)
	if _, changed, _ := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "enf@contoso.com", Options: mfa.ResetOptions{ContactMethods: true}}); changed || auditCount(t, db) != n {
		t.Fatal("an empty reset was recorded")
	}
	if _, _, err := svc.ResetUser(ctx, helpdesk, mfa.ResetRequest{UPN: "boss@contoso.com", Options: mfa.ResetOptions{RememberedDevices: true}}); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("helpdesk on an admin: %v", err)
	}
}

func testApplyStep(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
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
}

// The audit log's filters, paging and chain, over records appended one by one and in a batch.
func testAuditFilters(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	for _, upn := range []string{"dis@contoso.com", "ena@contoso.com", "enf@contoso.com"} {
		if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: upn, To: mfa.StateDisabled}); err != nil {
			t.Fatal(err)
		}
	}
	later := T0.Add(time.Hour)
	svc.Now = func() time.Time { return later }
	if _, _, err := svc.SetState(ctx, authAdm, mfa.StateRequest{UPN: "dis@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	total := auditCount(t, db)
	for _, tc := range []struct {
		f    mfa.AuditFilter
		want int
	}{
		{mfa.AuditFilter{Target: "Dis@Contoso.com"}, 2}, // users import, enable
		{mfa.AuditFilter{Actor: "AARON"}, 1},
		{mfa.AuditFilter{Action: mfa.AuditDisable}, 2},
		{mfa.AuditFilter{Since: later}, 1},
		{mfa.AuditFilter{Until: later}, total - 1},
		{mfa.AuditFilter{Actor: "alice", Action: mfa.AuditDisable, Target: "ena@contoso.com"}, 1},
	} {
		tc.f.Limit = 100
		page, err := db.FindAudit(ctx, tc.f)
		if err != nil || len(page.Records) != tc.want {
			t.Errorf("%+v: %d records, want %d (%v)", tc.f, len(page.Records), tc.want, err)
		}
	}
	// Newest first, a page at a time.
	var seqs []int64
	f := mfa.AuditFilter{Limit: 2}
	for {
		page, err := db.FindAudit(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Records {
			seqs = append(seqs, r.Seq)
		}
		if page.NextBefore == 0 {
			break
		}
		f.Before = page.NextBefore
	}
	for i, s := range seqs {
		if s != int64(total-i) {
			t.Fatalf("pages gave seqs %v", seqs)
		}
	}
	if n, err := svc.VerifyAudit(ctx, mfa.CLIActor); err != nil || n != int64(total) {
		t.Fatalf("verify: %d %v", n, err)
	}
}

func testSettings(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	cur, _, err := svc.GetSettings(ctx, reader)
	if err != nil || cur.AppPasswordsAllowed || cur.RememberMFA.Days != mfa.DefaultSettings().RememberMFA.Days {
		t.Fatalf("defaults: %+v %v", cur, err)
	}
	next := cur
	next.AppPasswordsAllowed = true
	next.RememberMFA.Days = 30
	n := auditCount(t, db)
	if _, changed, err := svc.SaveSettings(ctx, admin, next, mfa.SourcePage); err != nil || !changed {
		t.Fatalf("save: %v %v", changed, err)
	}
	if got, _ := db.LoadSettings(ctx); !got.AppPasswordsAllowed || got.RememberMFA.Days != 30 {
		t.Fatalf("loaded %+v", got)
	}
	if _, changed, err := svc.SaveSettings(ctx, admin, next, mfa.SourcePage); err != nil || changed {
		t.Fatalf("save unchanged: %v %v", changed, err)
	}
	if got := auditCount(t, db); got != n+1 {
		t.Fatalf("%d records after two saves, want %d", got, n+1)
	}
	if _, _, err := svc.SaveSettings(ctx, authAdm, mfa.DefaultSettings(), mfa.SourcePage); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Fatalf("auth admin saves: %v", err)
	}
}
