package graph

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// The move to Conditional Access on the emulator: the plan disables exactly the users in per-user
// MFA whose MFA an enabled policy requires (by the brute-force evaluation), an authentication
// admin's plan refuses the admins among them, the job disables them in Graph and nobody else, and
// its undo puts them back.
func TestConversionDisablesExactlyTheCovered(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 900}, nil)
	e.sync()
	ctx := context.Background()
	want := map[string]bool{} // user names
	before := map[string]mfa.State{}
	admins := 0
	for _, id := range e.emu.UserIDs() {
		u, _ := e.emu.User(id)
		before[u.UPN] = u.State
		if required, _ := bruteForce(e, id, false); len(required) > 0 && u.State != mfa.StateDisabled {
			want[u.UPN] = true
			if u.Privileged {
				admins++
			}
		}
	}
	if len(want) < 100 || admins == 0 {
		t.Fatalf("%d covered users in per-user MFA (%d admins): the seed should have many", len(want), admins)
	}
	preview, err := e.svc.PreviewConversion(ctx, admin, 25)
	if err != nil || preview.ToConvert() != len(want) || len(preview.CoveredEnabled.Users) == 0 || preview.GapPerUser.Total == 0 {
		t.Fatalf("preview: %+v %v, want %d to convert", preview, err, len(want))
	}

	// An authentication admin's plan: the admins' rows are refused.
	authAdmin := mfa.Actor{Name: "auth", Role: mfa.RoleAuthAdmin, Method: "local"}
	job, err := e.svc.PlanConversion(ctx, authAdmin, "")
	if err != nil || job.Counts.Errors != admins || job.Counts.Disable != len(want)-admins {
		t.Fatalf("authentication admin's plan: %+v %v (want %d refused)", job, err, admins)
	}
	if err := e.svc.DiscardBulkJob(ctx, authAdmin, job.ID); err != nil {
		t.Fatal(err)
	}

	job, err = e.svc.PlanConversion(ctx, admin, "CHG-42")
	if err != nil || job.Counts.Disable != len(want) || job.Counts.Errors != 0 || job.FileName != mfa.ConversionFileName || job.Reason != "CHG-42" {
		t.Fatalf("plan: %+v %v", job, err)
	}
	rows, err := e.svc.BulkJobRows(ctx, admin, job.ID, mfa.RowFilter{Limit: mfa.MaxLimit})
	if err != nil || len(rows) != len(want) {
		t.Fatalf("%d rows (%v), want %d", len(rows), err, len(want))
	}
	for _, r := range rows {
		if !want[r.Username] || r.To != mfa.StateDisabled || r.Action != mfa.RowDisable {
			t.Fatalf("row %+v", r)
		}
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
		t.Fatal(err)
	}
	runner := &mfa.BulkRunner{Service: e.svc, BatchSize: 500}
	if err := runner.RunJob(ctx, job.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := e.svc.GetBulkJob(ctx, admin, job.ID)
	if done.Status != mfa.JobDone || done.Changed != len(want) || done.Failed != 0 {
		t.Fatalf("job %+v", done)
	}
	for upn, st := range before {
		got, _ := e.emu.UserState(upn)
		if want[upn] && got != mfa.StateDisabled || !want[upn] && got != st {
			t.Fatalf("%s: %s in Graph after the move (was %s, covered in per-user MFA: %v)", upn, got, st, want[upn])
		}
	}
	if p, _ := e.svc.PreviewConversion(ctx, admin, 5); p.ToConvert() != 0 {
		t.Errorf("still %d to convert", p.ToConvert())
	}
	if _, err := e.svc.PlanConversion(ctx, admin, ""); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Errorf("a plan with nobody to move: %v", err)
	}

	// Undo.
	undo, err := e.svc.PlanUndo(ctx, admin, job.ID, false)
	if err != nil || undo.Total != len(want) {
		t.Fatalf("undo plan %+v %v", undo, err)
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, undo.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := runner.RunJob(ctx, undo.ID); err != nil {
		t.Fatal(err)
	}
	for upn, st := range before {
		// Graph enforces a user enabled while holding methods (graphemu's table).
		if got, _ := e.emu.UserState(upn); got != st && !(st == mfa.StateEnabled && got == mfa.StateEnforced) {
			t.Fatalf("%s: %s in Graph after the undo, was %s", upn, got, st)
		}
	}
}
