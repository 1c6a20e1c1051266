package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A confirmation id is claimed once; released, it may be claimed again; finished, its result is
// the claimer's alone, for its time; old ones and the oldest beyond the rows bound are pruned.
func testStepResults(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	claim := func(op, account string, at time.Time) bool {
		t.Helper()
		ok, err := db.ClaimStep(ctx, op, account, at)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	result := func(op, account string, since time.Time) string {
		t.Helper()
		b, ok, err := db.StepResult(ctx, op, account, since)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "none"
		}
		return string(b)
	}
	finish := func(op, account, result string, rows int, at time.Time) {
		t.Helper()
		if err := db.FinishStep(ctx, op, account, []byte(result), rows, at); err != nil {
			t.Fatal(err)
		}
	}
	if !claim("op1", "alice", T0) || claim("op1", "alice", T0) || claim("op1", "bob", T0) {
		t.Fatal("op1 claimed other than once")
	}
	if got := result("op1", "alice", T0.Add(-time.Hour)); got != "none" {
		t.Fatalf("a claimed op has a result before it is finished: %q", got)
	}
	if err := db.ReleaseStep(ctx, "op1", "bob"); err != nil || claim("op1", "bob", T0) {
		t.Fatal("another account released alice's claim")
	}
	if err := db.ReleaseStep(ctx, "op1", "alice"); err != nil || !claim("op1", "alice", T0) {
		t.Fatal("a released op could not be claimed again")
	}
	finish("op1", "alice", `{"title":"done"}`, 3, T0.Add(time.Second))
	if err := db.ReleaseStep(ctx, "op1", "alice"); err != nil || claim("op1", "alice", T0) {
		t.Fatal("a finished op was released or claimed again")
	}
	if got := result("op1", "alice", T0); got != `{"title":"done"}` {
		t.Fatalf("result %q", got)
	}
	if got := result("op1", "bob", T0); got != "none" {
		t.Fatal("another account reads the result")
	}
	if got := result("op1", "alice", T0.Add(time.Minute)); got != "none" {
		t.Fatal("a result older than asked for is answered")
	}
	finish("op1", "bob", "stolen", 1, T0.Add(2*time.Second))
	if got := result("op1", "alice", T0); got != `{"title":"done"}` {
		t.Fatalf("another account overwrote the result: %q", got)
	}
	// Finished after being pruned (a long step): stored all the same.
	finish("op2", "alice", "late", 1, T0.Add(time.Second))
	if got := result("op2", "alice", T0); got != "late" {
		t.Fatalf("op2: %q", got)
	}

	// Pruning: by age, then the oldest results beyond the rows bound, the newest always kept.
	for i := range 10 {
		op := fmt.Sprintf("bound%d", i)
		claim(op, "alice", T0.Add(time.Hour))
		finish(op, "alice", "r", 100, T0.Add(time.Hour+time.Duration(i)*time.Second))
	}
	claim("old", "alice", T0.Add(-time.Hour))
	claim("huge", "alice", T0.Add(2*time.Hour))
	finish("huge", "alice", "big", 10_000, T0.Add(2*time.Hour))
	if err := db.PruneSteps(ctx, T0.Add(30*time.Minute), 10_000); err != nil {
		t.Fatal(err)
	}
	if claim("op1", "alice", T0) != true || claim("old", "alice", T0) != true {
		t.Fatal("ops older than the cut-off were kept")
	}
	if result("huge", "alice", T0) != "big" || result("bound9", "alice", T0) != "none" {
		t.Fatal("the newest result alone fills the bound: it is kept, the others go")
	}
	if err := db.PruneSteps(ctx, T0.Add(30*time.Minute), 20_000); err != nil {
		t.Fatal(err)
	}
	if err := db.PruneSteps(ctx, T0.Add(3*time.Hour), 20_000); err != nil {
		t.Fatal(err)
	}
	if claim("huge", "bob", T0) != true {
		t.Fatal("pruning by age kept the newest result")
	}
}

// Eight submissions of one confirmation at once, on two replicas: exactly one claims it.
func testStepClaimOnceAcrossReplicas(t *testing.T, open TwinOpener) {
	a, b := open(t)
	for round := range 5 {
		op := fmt.Sprintf("op%d", round)
		var wins atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 8 {
			db := a
			if i%2 == 1 {
				db = b
			}
			wg.Go(func() {
				<-start
				ok, err := db.ClaimStep(context.Background(), op, "alice", T0)
				if err != nil {
					t.Error(err)
				}
				if ok {
					wins.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if wins.Load() != 1 {
			t.Fatalf("round %d: %d of 8 claims won", round, wins.Load())
		}
	}
}
