package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// TestUndoThroughGraph undoes a bulk update on the Graph directory: the undo job runs through the
// same runner and puts back in Graph the states from before the update; a user changed in Graph
// since (seen by the sync) is skipped.
func TestUndoThroughGraph(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 60}, nil)
	e.sync()
	ctx := context.Background()
	before := map[string]mfa.State{}
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	var changedByOther string
	for _, id := range e.emu.UserIDs() {
		u, _ := e.emu.User(id)
		before[u.UPN] = u.State
		if u.State != mfa.StateDisabled {
			fmt.Fprintf(&b, "%s,Disabled\n", u.UPN)
			if changedByOther == "" {
				changedByOther = u.UPN
			}
		}
	}
	job := runJob(t, e, b.String(), func(int, error) {})
	if job.Status != mfa.JobDone || job.Changed == 0 {
		t.Fatalf("job %+v", job)
	}
	// Someone enables a user in Graph meanwhile; the sync sees it.
	if err := e.emu.SetUserState(changedByOther, mfa.StateEnabled); err != nil {
		t.Fatal(err)
	}
	e.sync()
	undo, err := e.svc.PlanUndo(ctx, admin, job.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	if undo.Counts.Errors != 1 || undo.Total != job.Changed-1 {
		t.Fatalf("undo plan %+v (the update changed %d)", undo.Counts, job.Changed)
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, undo.ID, ""); err != nil {
		t.Fatal(err)
	}
	runner := &mfa.BulkRunner{Service: e.svc, BatchSize: 500}
	if err := runner.RunJob(ctx, undo.ID); err != nil {
		t.Fatal(err)
	}
	done, _ := e.svc.GetBulkJob(ctx, admin, undo.ID)
	if done.Status != mfa.JobDone || done.Failed != 0 {
		t.Fatalf("undo job %+v", done)
	}
	for upn, st := range before {
		got, _ := e.emu.UserState(upn)
		switch {
		case upn == changedByOther:
			if got != mfa.StateEnabled {
				t.Errorf("%s, changed since, is %s in Graph: the undo should have left it", upn, got)
			}
		case got != st && !(st == mfa.StateEnabled && got == mfa.StateEnforced): // Graph enforces a user with methods
			t.Errorf("%s is %s in Graph after the undo, was %s before the update", upn, got, st)
		}
	}
}
