package storetest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Users disabled for a while, with the injected clock moved: the chores runner of a new process (a
// restart) returns each to their state when the time is up, an exemption ended early returns at
// once, and each direction is one audit record.
func testExemptions(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	now := T0
	svc.Now = func() time.Time { return now }
	svc.Exemptions = db
	bad := []struct {
		actor mfa.Actor
		req   mfa.ExemptionRequest
		code  string
	}{
		{admin, mfa.ExemptionRequest{UPN: "enf@contoso.com", Hours: 0}, mfa.EINVALID},
		{admin, mfa.ExemptionRequest{UPN: "enf@contoso.com", Hours: 721}, mfa.EINVALID},
		{admin, mfa.ExemptionRequest{UPN: "dis@contoso.com", Hours: 2}, mfa.EINVALID}, // already Disabled
		{authAdm, mfa.ExemptionRequest{UPN: "boss@contoso.com", Hours: 2}, mfa.EFORBIDDEN},
		{helpdesk, mfa.ExemptionRequest{UPN: "enf@contoso.com", Hours: 2}, mfa.EFORBIDDEN},
		{admin, mfa.ExemptionRequest{UPN: "ghost@contoso.com", Hours: 2}, mfa.ENOTFOUND},
	}
	records := auditCount(t, db)
	for _, b := range bad {
		if _, _, err := svc.StartExemption(ctx, b.actor, b.req); mfa.ErrorCode(err) != b.code {
			t.Errorf("%s %+v: %v, want %s", b.actor.Role, b.req, err, b.code)
		}
	}
	if n := auditCount(t, db); n != records {
		t.Errorf("refused exemptions recorded %d records", n-records)
	}
	ex, u, err := svc.StartExemption(ctx, admin, mfa.ExemptionRequest{UPN: "ENF@contoso.com", Hours: 48, Reason: "travelling", Source: mfa.SourcePage})
	if err != nil || u.State != mfa.StateDisabled || ex.Previous != mfa.StateEnforced || !ex.Until.Equal(T0.Add(48*time.Hour)) {
		t.Fatalf("start: %+v %+v %v", ex, u, err)
	}
	if _, _, err := svc.StartExemption(ctx, admin, mfa.ExemptionRequest{UPN: "enf@contoso.com", Hours: 1}); mfa.ErrorCode(err) == "" {
		t.Errorf("a second exemption of a Disabled user was accepted")
	}
	if _, _, err := svc.StartExemption(ctx, admin, mfa.ExemptionRequest{UPN: "boss@contoso.com", Hours: 1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := svc.StartExemption(ctx, authAdm, mfa.ExemptionRequest{UPN: "ena@contoso.com", Hours: 720}); err != nil {
		t.Fatal(err)
	}
	list, _ := svc.ListExemptions(ctx, reader)
	if len(list) != 3 || list[0].UPN != "boss@contoso.com" || list[2].UPN != "ena@contoso.com" {
		t.Fatalf("list %+v", list)
	}

	// A restart: a new service and runner on the same store, one hour and a minute later.
	now = T0.Add(61 * time.Minute)
	svc2 := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db, Now: func() time.Time { return now }})
	svc2.Exemptions = db
	chores := &mfa.Chores{Service: svc2, OnError: func(msg string, err error) { t.Errorf("%s: %v", msg, err) }}
	chores.Round(ctx)
	if got := stateOfUser(t, db, "boss@contoso.com"); got != mfa.StateEnabled {
		t.Errorf("boss after its hour: %s", got)
	}
	if got := stateOfUser(t, db, "enf@contoso.com"); got != mfa.StateDisabled {
		t.Errorf("enf before its 48 hours: %s", got)
	}
	// Someone enables ena meanwhile; ending it early leaves ena as it is.
	if _, _, err := svc2.SetState(ctx, admin, mfa.StateRequest{UPN: "ena@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc2.EndExemption(ctx, helpdesk, "ena@contoso.com", mfa.SourcePage); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Errorf("helpdesk ended an exemption: %v", err)
	}
	if _, err := svc2.EndExemption(ctx, admin, "ena@contoso.com", mfa.SourcePage); err != nil {
		t.Fatal(err)
	}
	now = T0.Add(48 * time.Hour)
	chores.Round(ctx)
	if got := stateOfUser(t, db, "enf@contoso.com"); got != mfa.StateEnforced {
		t.Errorf("enf after 48 hours: %s", got)
	}
	if list, _ := svc2.ListExemptions(ctx, reader); len(list) != 0 {
		t.Errorf("exemptions left: %+v", list)
	}
	if _, err := svc2.EndExemption(ctx, admin, "enf@contoso.com", mfa.SourcePage); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Errorf("ending an exemption twice: %v", err)
	}
	var got []string
	db.EachAudit(ctx, 0, func(r *mfa.AuditRecord) error {
		if strings.HasPrefix(r.Action, "exemption.") {
			got = append(got, r.Action+" "+r.Target+" "+r.Before+" → "+r.After+" by "+r.ActorName)
		}
		return nil
	})
	want := []string{
		"exemption.start enf@contoso.com Enforced → Disabled for 48 hours, until 2026-11-26T12:00:00Z, then Enforced again by alice",
		"exemption.start boss@contoso.com Enabled → Disabled for 1 hours, until 2026-11-24T13:00:00Z, then Enabled again by alice",
		"exemption.start ena@contoso.com Enabled → Disabled for 720 hours, until 2026-12-24T12:00:00Z, then Enabled again by aaron",
		"exemption.end boss@contoso.com Disabled → Enabled by mfaportal",
		"exemption.end ena@contoso.com Enabled → Enabled (changed meanwhile: left as it is) by alice",
		"exemption.end enf@contoso.com Disabled → Enforced by mfaportal",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
