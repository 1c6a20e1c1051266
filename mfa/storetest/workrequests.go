package storetest

import (
	"context"
	"testing"
	"time"
)

// A work request waits until taken, once; asking again while it waits keeps the first's time;
// requests for other work are apart.
func testWorkRequests(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	requested := func(name string) time.Time {
		t.Helper()
		at, err := db.WorkRequested(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return at
	}
	take := func(name string) bool {
		t.Helper()
		ok, err := db.TakeWorkRequest(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !requested("graph-sync").IsZero() || take("graph-sync") {
		t.Fatal("a request waits before any was made")
	}
	for i := range 2 {
		if err := db.RequestWork(ctx, "graph-sync", T0.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if at := requested("graph-sync"); !at.Equal(T0) {
		t.Fatalf("requested at %v, want the first request's %v", at, T0)
	}
	if !requested("other").IsZero() {
		t.Fatal("a request for other work waits")
	}
	if !take("graph-sync") || take("graph-sync") || !requested("graph-sync").IsZero() {
		t.Fatal("a request was not taken exactly once")
	}
}
