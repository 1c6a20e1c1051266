package graph

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// replica is a second Directory on the same store and tenant: another replica of the portal.
func (e *env) replica() (*Directory, *mfa.Service) {
	e.t.Helper()
	dir, err := New(e.cfg, e.db, testLog(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(dir.Close)
	return dir, mfa.MustNewService(mfa.Deps{Directory: dir, Accounts: e.db, Audit: e.db, Settings: dir, Jobs: e.db, Now: time.Now})
}

// "sync now" on a replica that does not sync reaches the one that does (Run): the asking replica
// shows the sync running from the click on, and the other runs it.
func TestSyncNowReachesTheReplicaThatSyncs(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 50}, nil)
	e.sync()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { e.dir.Run(ctx); close(done) }() // the replica that holds the sync's lease
	defer func() { cancel(); <-done }()
	other, svc := e.replica()
	before, _ := other.SyncStatus(ctx)
	if _, err := e.emu.AddUser(mfa.User{UPN: "late@contoso.com", DisplayName: "Late Comer", AccountEnabled: true, State: mfa.StateEnabled}); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartSync(ctx, admin); err != nil {
		t.Fatal(err)
	}
	if st, _ := other.SyncStatus(ctx); !st.Running {
		t.Fatalf("right after sync now: %+v, want it shown running", st)
	}
	if err := svc.StartSync(ctx, admin); mfa.ErrorCode(err) != mfa.ECONFLICT {
		t.Fatalf("sync now twice: %v", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := other.SyncStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running && st.LastSync.After(before.LastSync) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync asked for on the other replica did not run: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := other.FindUser(ctx, "late@contoso.com"); err != nil {
		t.Fatalf("the user added in Graph is not indexed: %v", err)
	}
	if at, _ := e.db.WorkRequested(ctx, SyncWork); !at.IsZero() {
		t.Fatal("the request is still waiting after the sync")
	}
}

// A change of the verification options made through one replica is seen by another at once,
// although each reads Graph's policy at most every 30 seconds.
func TestSettingsChangeSeenByAnotherReplicaAtOnce(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 5}, nil)
	ctx := context.Background()
	_, svcB := e.replica()
	cur, _, err := svcB.GetSettings(ctx, admin) // read, and kept for 30 s, by B
	if err != nil || !cur.VerificationOptions.SMS {
		t.Fatalf("B reads: %+v %v", cur.VerificationOptions, err)
	}
	next := cur
	next.VerificationOptions.SMS = false
	if _, changed, err := e.svc.SaveSettings(ctx, admin, next, mfa.SourcePage); err != nil || !changed {
		t.Fatalf("A saves: %v %v", changed, err)
	}
	got, _, err := svcB.GetSettings(ctx, admin)
	if err != nil || got.VerificationOptions.SMS {
		t.Fatalf("B after A's change: %+v %v, want text message off", got.VerificationOptions, err)
	}
}

// A sync stopped in the middle with the replica that ran it (killed: it is still recorded as
// running) is started again by the replica that takes the lease over.
func TestSyncStoppedWithItsReplicaStartsAgain(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 30}, nil) // SyncInterval -1: no periodic sync
	e.sync()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before, _ := e.dir.SyncStatus(ctx)
	if err := e.db.BeginSync(ctx, time.Now().UnixMilli(), time.Now()); err != nil { // the dead replica's
		t.Fatal(err)
	}
	other, _ := e.replica()
	done := make(chan struct{})
	go func() { other.Run(ctx); close(done) }() // the replica that took the lease over
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, err := other.SyncStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !st.Running && st.LastSync.After(before.LastSync) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the stopped sync did not start again: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
