package handlers

import (
	"context"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
	"github.com/mfaportal/mfaportal/templates"
)

// newTestResults is a result store over a real SQLite store, with a clock the test moves.
func newTestResults(t *testing.T) (*ResultStore, *time.Time) {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	s := NewResultStore(db, time.Hour)
	s.Now = func() time.Time { return now }
	return s, &now
}

// Of many claims of one confirmation id at once, exactly one wins; a released id can be claimed
// again, a finished one not; the result comes back as it was put, to its account only.
func TestResultStoreClaimsOnceAndKeepsTheResult(t *testing.T) {
	s, _ := newTestResults(t)
	ctx := context.Background()
	op := NewOp()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if ok, err := s.Claim(ctx, op, "admin"); err != nil {
				t.Error(err)
			} else if ok {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
	if _, ok, _ := s.Get(ctx, op, "admin"); ok {
		t.Fatal("a claimed op has a result before Put")
	}
	s.Release(ctx, op, "admin")
	if ok, _ := s.Claim(ctx, op, "admin"); !ok {
		t.Fatal("a released op cannot be claimed again")
	}
	want := templates.ResultDialog{Step: "enable", Title: "Some updates were not made", Return: "/users?q=a",
		Results: []mfa.UserResult{{UPN: "ada@contoso.com", DisplayName: "Ada", Before: mfa.StateDisabled, After: mfa.StateEnabled, Outcome: mfa.OutcomeChanged}},
		Counts:  map[mfa.Outcome]int{mfa.OutcomeChanged: 1}}
	if err := s.Put(ctx, op, "admin", want); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.Claim(ctx, op, "admin"); ok {
		t.Fatal("a finished op was claimed again")
	}
	got, ok, err := s.Get(ctx, op, "admin")
	if err != nil || !ok || got.Title != want.Title || got.Return != want.Return || len(got.Results) != 1 ||
		got.Results[0] != want.Results[0] || got.Counts[mfa.OutcomeChanged] != 1 {
		t.Fatalf("the result came back as %+v (%v, %v)", got, ok, err)
	}
	if _, ok, _ := s.Get(ctx, op, "someone-else"); ok {
		t.Fatal("another account reads the result")
	}
}

// The store holds at most MaxRows result rows (the oldest results go first) and results for TTL.
func TestResultStoreIsBounded(t *testing.T) {
	s, now := newTestResults(t)
	ctx := context.Background()
	s.MaxRows = 10_000
	results := make([]mfa.UserResult, 999)
	var ops []string
	for range 100 {
		op := NewOp()
		*now = now.Add(time.Millisecond)
		s.Claim(ctx, op, "admin")
		if err := s.Put(ctx, op, "admin", templates.ResultDialog{Results: results}); err != nil {
			t.Fatal(err)
		}
		ops = append(ops, op)
	}
	kept := 0
	for _, op := range ops {
		if _, ok, _ := s.Get(ctx, op, "admin"); ok {
			kept++
		}
	}
	if kept != 10 {
		t.Fatalf("%d results of 1,000 rows kept, bound 10,000 rows", kept)
	}
	if _, ok, _ := s.Get(ctx, ops[99], "admin"); !ok {
		t.Fatal("the newest result was dropped")
	}
	*now = now.Add(2 * time.Hour)
	if _, ok, _ := s.Get(ctx, ops[99], "admin"); ok {
		t.Fatal("a result older than the TTL is shown")
	}
}
