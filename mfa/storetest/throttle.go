package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Sign-in throttle counters are kept per namespace, replaced when updated, deleted when they count
// no failure, forgotten once old, and left alone when the update fails.
func testThrottleCounters(t *testing.T, open Opener) {
	db := open(t)
	ctx := context.Background()
	set := func(ns string, cs []mfa.ThrottleCounter, forget time.Time) {
		t.Helper()
		keys := make([]string, len(cs))
		for i, c := range cs {
			keys[i] = c.Key
		}
		err := db.UpdateThrottle(ctx, ns, keys, forget, func(got []mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error) {
			for i := range got {
				if got[i].Key != keys[i] {
					t.Errorf("update got the counters %+v, want them in the order of %v", got, keys)
				}
			}
			return cs, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	load := func(ns string, keys ...string) map[string]mfa.ThrottleCounter {
		t.Helper()
		cs, err := db.LoadThrottle(ctx, ns, keys)
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
	set("admin", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 3, Last: T0}, {Key: "ip:203.0.113.9", Failures: 1, Last: old}}, old.Add(-time.Hour))
	set("user", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 7, Last: T0}}, old.Add(-time.Hour))
	if got := load("admin", "a:alice", "ip:203.0.113.9", "a:nobody"); len(got) != 2 || got["a:alice"].Failures != 3 || !got["a:alice"].Last.Equal(T0) {
		t.Fatalf("admin: %+v", got)
	}
	if got := load("user", "a:alice"); got["a:alice"].Failures != 7 {
		t.Fatalf("user: %+v", got)
	}
	// A failed update writes nothing and answers its error as it is.
	refused := mfa.Errorf(mfa.ETOOMANY, "wait")
	err := db.UpdateThrottle(ctx, "admin", []string{"a:alice"}, old.Add(-time.Hour), func(cs []mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error) {
		cs[0].Failures = 99
		return cs, refused
	})
	if err != refused || load("admin", "a:alice")["a:alice"].Failures != 3 {
		t.Fatalf("a refused update: %v, %+v", err, load("admin", "a:alice"))
	}
	// Updated again: replaced; no failures: deleted; older than forgetBefore: forgotten.
	set("admin", []mfa.ThrottleCounter{{Key: "a:alice", Failures: 0, Last: T0}, {Key: "a:bob", Failures: 2, Last: T0}}, old.Add(time.Minute))
	if got := load("admin", "a:alice", "a:bob", "ip:203.0.113.9"); len(got) != 1 || got["a:bob"].Failures != 2 {
		t.Fatalf("after the second update: %+v", got)
	}
	if got := load("user", "a:alice"); len(got) != 1 {
		t.Fatalf("another namespace's counter was touched: %+v", got)
	}
}

// Updates of the same counters from two replicas at once (two handles on one store) are atomic:
// none is lost.
func testThrottleUpdatesAreAtomic(t *testing.T, open TwinOpener) {
	a, b := open(t)
	ctx := context.Background()
	keys := []string{"a:admin", "ip:203.0.113.9"}
	var wg sync.WaitGroup
	for i := range 40 {
		db := a
		if i%2 == 1 {
			db = b
		}
		wg.Go(func() {
			err := db.UpdateThrottle(ctx, "admin", keys, T0.Add(-time.Hour), func(cs []mfa.ThrottleCounter) ([]mfa.ThrottleCounter, error) {
				for i := range cs {
					cs[i].Failures++
					cs[i].Last = T0
				}
				return cs, nil
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cs, err := b.LoadThrottle(ctx, "admin", keys)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || cs[0].Failures != 40 || cs[1].Failures != 40 {
		t.Fatalf("after 40 updates on two replicas: %+v", cs)
	}
}
