package storetest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Of two replicas holding for the same lease, one works at a time; when it stops renewing (dies),
// the other takes over within the lease's time and works under a new epoch.
func testLeaseHolder(t *testing.T, open Opener) {
	db := open(t)
	const ttl = 900 * time.Millisecond
	var working atomic.Int32
	var mu sync.Mutex
	var epochs []int64
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	work := func(ctx context.Context) {
		if working.Add(1) != 1 {
			t.Error("two replicas work at once")
		}
		l, _ := mfa.LeaseFromContext(ctx)
		mu.Lock()
		epochs = append(epochs, l.Epoch)
		mu.Unlock()
		<-ctx.Done()
		working.Add(-1)
	}
	// Replica a "dies" (kill -9): its work stops, and its lease is neither renewed nor released.
	aCtx, killA := context.WithCancel(ctx)
	dead := &deadAfter{LeaseStore: db, ctx: aCtx}
	a := &mfa.LeaseHolder{Store: dead, Name: "bulk-runner", Holder: "a", TTL: ttl}
	b := &mfa.LeaseHolder{Store: db, Name: "bulk-runner", Holder: "b", TTL: ttl}
	go a.Hold(aCtx, work)
	time.Sleep(100 * time.Millisecond) // a first
	go b.Hold(ctx, work)
	time.Sleep(2 * ttl)
	mu.Lock()
	if len(epochs) != 1 {
		t.Fatalf("epochs %v: want a alone working", epochs)
	}
	mu.Unlock()
	killA()
	deadline := time.Now().Add(4 * ttl)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(epochs)
		mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(epochs) != 2 || epochs[1] <= epochs[0] {
		t.Fatalf("epochs %v: want b to take over under a new epoch", epochs)
	}
}

// deadAfter is a lease store that a replica reaches only until ctx ends: then every call fails as
// a dead process's would never be made; a lease it holds is neither renewed nor released.
type deadAfter struct {
	mfa.LeaseStore
	ctx context.Context
}

func (d *deadAfter) RenewLease(ctx context.Context, l mfa.Lease, ttl time.Duration) error {
	if d.ctx.Err() != nil {
		return mfa.Errorf(mfa.EUNAVAILABLE, "dead")
	}
	return d.LeaseStore.RenewLease(ctx, l, ttl)
}

func (d *deadAfter) ReleaseLease(ctx context.Context, l mfa.Lease) error {
	if d.ctx.Err() != nil {
		return nil
	}
	return d.LeaseStore.ReleaseLease(ctx, l)
}
