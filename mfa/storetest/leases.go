package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// A lease is held by one holder at a time; it is renewed by its holder, taken over (with a new
// epoch) only once it has expired or was released.
func testLeases(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	// Long enough for a loaded machine; expiry is tested by renewing for a millisecond.
	const ttl = 5 * time.Second
	a, ok, err := db.AcquireLease(ctx, "bulk", "replica-a", ttl)
	if err != nil || !ok || a.Epoch == 0 {
		t.Fatalf("acquire: %+v %v %v", a, ok, err)
	}
	if _, ok, err := db.AcquireLease(ctx, "bulk", "replica-b", ttl); err != nil || ok {
		t.Fatalf("b acquired a held lease: %v %v", ok, err)
	}
	if _, ok, _ := db.AcquireLease(ctx, "sync", "replica-b", ttl); !ok {
		t.Fatal("another lease's name is not free")
	}
	again, ok, err := db.AcquireLease(ctx, "bulk", "replica-a", ttl)
	if err != nil || !ok || again.Epoch != a.Epoch {
		t.Fatalf("the holder acquires again: %+v %v %v", again, ok, err)
	}
	if err := db.RenewLease(ctx, a, ttl); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.AcquireLease(ctx, "bulk", "replica-b", ttl); ok {
		t.Fatal("b took a renewed lease")
	}
	// Not renewed in time, it expires and b takes it over under a new epoch; a's renewal then fails.
	if err := db.RenewLease(ctx, a, time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	b, ok, err := db.AcquireLease(ctx, "bulk", "replica-b", ttl)
	if err != nil || !ok || b.Epoch <= a.Epoch {
		t.Fatalf("take-over: %+v %v %v", b, ok, err)
	}
	if err := db.RenewLease(ctx, a, ttl); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("the old holder renews: %v", err)
	}
	// Released, it is free at once.
	if err := db.ReleaseLease(ctx, b); err != nil {
		t.Fatal(err)
	}
	if c, ok, err := db.AcquireLease(ctx, "bulk", "replica-a", time.Minute); err != nil || !ok || c.Epoch <= b.Epoch {
		t.Fatalf("after release: %+v %v %v", c, ok, err)
	}
	if err := db.ReleaseLease(ctx, b); err != nil {
		t.Fatalf("releasing a lost lease: %v", err)
	}
}

// Writes made under a lease that has moved on are refused: a runner that stalled past its lease
// changes no user and records no outcome.
func testLeaseFences(t *testing.T, open Opener) {
	db := open(t)
	svc := newService(t, db)
	ctx := context.Background()
	job, _ := planFile(t, svc, admin, "Username,MFA Status\ndis@contoso.com,Enabled\n")
	svc.StartBulkJob(ctx, admin, job.ID, "")
	old, _, err := db.AcquireLease(ctx, "bulk", "replica-a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	fenced := mfa.ContextWithLease(ctx, old)
	if err := db.SetJobStatus(fenced, job.ID, []mfa.JobStatus{mfa.JobQueued}, mfa.JobRunning, T0); err != nil {
		t.Fatalf("a write under a held lease: %v", err)
	}
	if err := db.RenewLease(ctx, old, time.Millisecond); err != nil { // it lapses
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if _, ok, _ := db.AcquireLease(ctx, "bulk", "replica-b", time.Minute); !ok {
		t.Fatal("no take-over")
	}
	_, _, err = db.UpdateUsers(fenced, mfa.Refs([]string{"dis@contoso.com"}), func(i int, u *mfa.User) (*mfa.AuditRecord, error) {
		u.State = mfa.StateEnabled
		return &mfa.AuditRecord{Action: mfa.AuditEnable, Target: u.UPN}, nil
	})
	if mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("UpdateUsers under a lost lease: %v", err)
	}
	rows, _ := db.PendingRows(ctx, job.ID, 0, 10)
	rows[0].Outcome, rows[0].Message = mfa.OutcomeChanged, "Enabled"
	if err := db.RecordOutcomes(fenced, job.ID, rows, T0); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("RecordOutcomes under a lost lease: %v", err)
	}
	if u, _ := db.FindUser(ctx, "dis@contoso.com"); u.State != mfa.StateDisabled {
		t.Fatal("a fenced write changed a user")
	}
	if j, _ := db.FindJob(ctx, job.ID); j.Done != 0 {
		t.Fatalf("a fenced write recorded outcomes: %+v", j)
	}
}
