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
	// ena is changed meanwhile by something other than an admin's change of state (the Graph
	// sync reads it); ending it early leaves ena as it is.
	if _, err := db.UpdateUser(ctx, "ena@contoso.com", func(u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = mfa.StateEnabled
		return &mfa.AuditRecord{Action: mfa.AuditEnable, Target: u.UPN, Source: mfa.SourceSync}, nil
	}); err != nil {
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

// An admin's explicit change of state ends a running exemption, by every path (one user's change
// as the page, API and CLI make it, a quick step, a bulk update in batches, users import), each
// recorded as exemption.end with the admin as actor: when the time is up the user keeps what the
// admin set. A step that changes nothing (Disable on the exempted, Disabled user) leaves it.
func testExemptionEndedByStateChange(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	now := T0
	svc.Now = func() time.Time { return now }
	svc.Exemptions = db
	in := "UserPrincipalName,DisplayName,MFA Status\n"
	users := []string{"one", "step", "bulk", "bulk2", "import", "kept", "other"}
	for _, n := range users {
		in += n + "@contoso.com," + n + ",Enforced\n"
	}
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader(in), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	for _, n := range users[:6] {
		if _, _, err := svc.StartExemption(ctx, admin, mfa.ExemptionRequest{UPN: n + "@contoso.com", Hours: 2, Source: mfa.SourcePage}); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(time.Minute)
	if _, _, err := svc.SetState(ctx, admin, mfa.StateRequest{UPN: "one@contoso.com", To: mfa.StateEnabled, Source: mfa.SourceAPI}); err != nil {
		t.Fatal(err)
	}
	res, err := svc.ApplyStep(ctx, authAdm, mfa.ActionEnable, []mfa.Target{{UPN: "step@contoso.com"}}, "", mfa.SourcePage, nil)
	if err != nil || res[0].Outcome != mfa.OutcomeChanged {
		t.Fatalf("step: %+v %v", res, err)
	}
	if res, err := svc.ApplyStep(ctx, admin, mfa.ActionDisable, []mfa.Target{{UPN: "kept@contoso.com"}}, "", mfa.SourcePage, nil); err != nil || res[0].Outcome != mfa.OutcomeUnchanged {
		t.Fatalf("disable of the Disabled user: %+v %v", res, err)
	}
	// In batches of two: bulk and other in one (other has no exemption), bulk2 alone.
	job, _ := planFile(t, svc, admin, "Username,MFA Status\nbulk@contoso.com,Enforced\nother@contoso.com,Disabled\nbulk2@contoso.com,Enabled\n")
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
		t.Fatal(err)
	}
	if done := runJob(t, svc, job.ID); done.Changed != 3 {
		t.Fatalf("bulk: %+v", done)
	}
	if _, err := svc.ImportUsers(ctx, mfa.CLIActor, strings.NewReader("UserPrincipalName,DisplayName,MFA Status\nimport@contoso.com,import,Enabled\n"), mfa.DefaultCSVLimits); err != nil {
		t.Fatal(err)
	}
	list, _ := svc.ListExemptions(ctx, reader)
	if len(list) != 1 || list[0].UPN != "kept@contoso.com" {
		t.Errorf("exemptions running: %+v, want kept's only", list)
	}
	// The time is up: the chores end kept's, and leave the others as the admins set them.
	now = T0.Add(2*time.Hour + time.Minute)
	chores := &mfa.Chores{Service: svc, OnError: func(msg string, err error) { t.Errorf("%s: %v", msg, err) }}
	chores.Round(ctx)
	for upn, want := range map[string]mfa.State{"one": mfa.StateEnabled, "step": mfa.StateEnabled, "bulk": mfa.StateEnforced,
		"bulk2": mfa.StateEnabled, "import": mfa.StateEnabled, "kept": mfa.StateEnforced, "other": mfa.StateDisabled} {
		if got := stateOfUser(t, db, upn+"@contoso.com"); got != want {
			t.Errorf("%s after the time is up: %s, want %s", upn, got, want)
		}
	}
	var got []string
	db.EachAudit(ctx, 0, func(r *mfa.AuditRecord) error {
		if r.Action == mfa.AuditExemptionEnd {
			got = append(got, r.Target+": "+r.Before+" → "+r.After+" by "+r.ActorName+" ("+r.Source+"; "+r.Reason+")")
		}
		return nil
	})
	until := "until 2026-11-24T14:00:00Z, then Enforced again"
	want := []string{
		"one@contoso.com: Disabled for a while, " + until + " → Enabled (set by an admin before the time was up) by alice (api; ended by a change of MFA status by alice)",
		"step@contoso.com: Disabled for a while, " + until + " → Enabled (set by an admin before the time was up) by aaron (page; ended by a change of MFA status by aaron)",
		"bulk@contoso.com: Disabled for a while, " + until + " → Enforced (set by an admin before the time was up) by alice (" + mfa.SourceBulk(job.ID) + "; ended by a change of MFA status by alice)",
		"bulk2@contoso.com: Disabled for a while, " + until + " → Enabled (set by an admin before the time was up) by alice (" + mfa.SourceBulk(job.ID) + "; ended by a change of MFA status by alice)",
		"import@contoso.com: Disabled for a while, " + until + " → Enabled (set by an admin before the time was up) by " + mfa.CLIActor.Name + " (cli; ended by a change of MFA status by " + mfa.CLIActor.Name + ")",
		"kept@contoso.com: Disabled → Enforced by mfaportal (exemption; time is up (exemption by alice))",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("exemption.end records:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
