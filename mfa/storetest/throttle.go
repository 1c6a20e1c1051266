package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Sign-in throttle counters are kept per namespace, replaced when saved again, deleted when they
// count no failure, and forgotten once old.
func testThrottleCounters(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	save := func(ns string, cs []mfa.ThrottleCounter, forget time.Time) {
		t.Helper()
		if err := db.SaveThrottle(ctx, ns, cs, forget); err != nil {
			t.Fatal(err)
		}
	}
	load := func(ns string, since time.Time) map[string]mfa.ThrottleCounter {
		t.Helper()
		cs, err := db.LoadThrottle(ctx, ns, since)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]mfa.ThrottleCounter{}
		for _, c := range cs {
			out[c.Key] = c
		}
		return out
	}
	old := T0.Add(-time.Hour)
	save("admin", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 3, Last: T0}, {Key: "ip:203.0.113.9", Failures: 1, Last: old}}, old.Add(-time.Hour))
	save("user", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 7, Last: T0}}, old.Add(-time.Hour))
	if got := load("admin", old); len(got) != 2 || got["a:alice"].Failures != 3 || !got["a:alice"].Last.Equal(T0) {
		t.Fatalf("admin: %+v", got)
	}
	if got := load("admin", T0); len(got) != 1 {
		t.Fatalf("admin since T0: %+v", got)
	}
	if got := load("user", old); got["a:alice"].Failures != 7 {
		t.Fatalf("user: %+v", got)
	}
	// Saved again: replaced; no failures: deleted; older than forgetBefore: forgotten.
	save("admin", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 0, Last: T0}, {Key: "a:bob", Failures: 2, Last: T0}}, old.Add(time.Minute))
	if got := load("admin", time.Time{}); len(got) != 1 || got["a:bob"].Failures != 2 {
		t.Fatalf("after the second save: %+v", got)
	}
	if got := load("user", time.Time{}); len(got) != 1 {
		t.Fatalf("another namespace's counter was touched: %+v", got)
	}
}
