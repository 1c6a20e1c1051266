package storetest

import (
	"context"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
)

// stateOfUser is the user's state now.
func stateOfUser(t *testing.T, db Store, upn string) mfa.State {
	t.Helper()
	u, err := db.FindUser(context.Background(), upn)
	if err != nil {
		t.Fatal(err)
	}
	return u.State
}

// An update is run, someone else changes one of its users, and it is undone: the undo is a
// planned job of its own, the user changed since is flagged and skipped unless included,
// and the others go back to the state before the update.
func testUndoBulkUpdate(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	// Before: dis Disabled, ena Enabled, enf Enforced, boss Enabled (admin).
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enforced\nena@contoso.com,Disabled\nenf@contoso.com,Enforced\nboss@contoso.com,Disabled\nghost@contoso.com,Enabled\n")
	if _, err := svc.PlanUndo(ctx, admin, job.ID, false); mfa.ErrorCode(err) != mfa.EINVALID {
		t.Errorf("undo of a job never started: %v", err)
	}
	if _, err := svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PlanUndo(ctx, admin, job.ID, false); mfa.ErrorCode(err) != mfa.ECONFLICT || !strings.Contains(mfa.ErrorMessage(err), "still queued") {
		t.Errorf("undo of a queued job: %v", err)
	}
	runJob(t, svc, job.ID)
	// Someone else changes ena after the update.
	if _, _, err := svc.SetState(ctx, authAdm, mfa.StateRequest{UPN: "ena@contoso.com", To: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.PlanUndo(ctx, reader, job.ID, false); mfa.ErrorCode(err) != mfa.EFORBIDDEN {
		t.Errorf("a reader planned an undo: %v", err)
	}
	undo, err := svc.PlanUndo(ctx, admin, job.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if undo.Status != mfa.JobPlanned || undo.UndoOf != job.ID || undo.Counts != (mfa.BulkCounts{Enable: 1, Disable: 1, Errors: 1}) || undo.Total != 2 {
		t.Fatalf("undo plan %+v", undo)
	}
	rows, _ := svc.BulkJobRows(ctx, admin, undo.ID, mfa.RowFilter{Limit: 100})
	got := map[string]mfa.BulkRow{}
	for _, r := range rows {
		got[r.Username] = r
	}
	if r := got["dis@contoso.com"]; r.From != mfa.StateEnforced || r.To != mfa.StateDisabled || r.Action != mfa.RowDisable || r.Line != 2 {
		t.Errorf("dis: %+v", r)
	}
	if r := got["boss@contoso.com"]; r.From != mfa.StateDisabled || r.To != mfa.StateEnabled || r.Action != mfa.RowEnable {
		t.Errorf("boss: %+v", r)
	}
	if r := got["ena@contoso.com"]; r.Action != mfa.RowError || !strings.Contains(r.Error, "the update set Disabled, now Enabled") || mfa.ChangedSinceCount(rows) != 1 {
		t.Errorf("ena (changed since): %+v", r)
	}
	if _, ok := got["enf@contoso.com"]; ok {
		t.Errorf("enf was not changed by the update, yet it is in the undo")
	}
	// Including users changed since: a new plan, ena with a warning.
	if err := svc.DiscardBulkJob(ctx, admin, undo.ID); err != nil {
		t.Fatal(err)
	}
	undo, err = svc.PlanUndo(ctx, admin, job.ID, true)
	if err != nil || undo.Counts != (mfa.BulkCounts{Enable: 1, Disable: 1, Unchanged: 1}) {
		t.Fatalf("undo including changed users: %+v %v", undo, err)
	}
	rows, _ = svc.BulkJobRows(ctx, admin, undo.ID, mfa.RowFilter{Limit: 100})
	for _, r := range rows {
		if r.Username == "ena@contoso.com" && (len(r.Warnings) == 0 || !strings.HasPrefix(r.Warnings[0], mfa.WarnChangedSince)) {
			t.Errorf("ena included without the warning: %+v", r)
		}
	}
	// An authentication admin may not undo an admin's change: that row is refused.
	aa, err := svc.PlanUndo(ctx, authAdm, job.ID, false)
	if err != nil || aa.Counts.Errors != 2 {
		t.Errorf("undo planned by an authentication admin: %+v %v", aa, err)
	}
	svc.DiscardBulkJob(ctx, authAdm, aa.ID)
	if _, err := svc.StartBulkJob(ctx, admin, undo.ID, ""); err != nil {
		t.Fatal(err)
	}
	if done := runJob(t, svc, undo.ID); done.Changed != 2 {
		t.Errorf("undo job: %+v", done)
	}
	for upn, want := range map[string]mfa.State{"dis@contoso.com": mfa.StateDisabled, "ena@contoso.com": mfa.StateEnabled,
		"enf@contoso.com": mfa.StateEnforced, "boss@contoso.com": mfa.StateEnabled} {
		if got := stateOfUser(t, db, upn); got != want {
			t.Errorf("%s after the undo: %s, want %s", upn, got, want)
		}
	}
	// An update that changed nothing (the same file again) has nothing to undo.
	again, _ := planFile(t, svc, admin, "Username,MFA Status\nenf@contoso.com,Enforced\n")
	svc.StartBulkJob(ctx, admin, again.ID, "")
	runJob(t, svc, again.ID)
	if _, err := svc.PlanUndo(ctx, admin, again.ID, false); mfa.ErrorCode(err) != mfa.EINVALID || !strings.Contains(mfa.ErrorMessage(err), "changed no user") {
		t.Errorf("undo of a job that changed nothing: %v", err)
	}
}
