package handlers

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// Of many claims of one confirmation id at once, exactly one wins; a released id can be claimed
// again, a finished one not.
func TestResultStoreClaimIsAtomic(t *testing.T) {
	s := NewResultStore(time.Hour)
	op := NewOp()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			if s.Claim(op, "admin") {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won", wins.Load())
	}
	if _, ok := s.Get(op, "admin"); ok {
		t.Fatal("a claimed op has a result before Put")
	}
	s.Release(op, "admin")
	if !s.Claim(op, "admin") {
		t.Fatal("a released op cannot be claimed again")
	}
	s.Put(op, "admin", templates.ResultDialog{Title: "done"})
	if s.Claim(op, "admin") {
		t.Fatal("a finished op was claimed again")
	}
	if d, ok := s.Get(op, "admin"); !ok || d.Title != "done" {
		t.Fatal("the result is lost")
	}
	if _, ok := s.Get(op, "someone-else"); ok {
		t.Fatal("another account reads the result")
	}
}

// The store holds at most MaxRows result rows: the oldest results go first.
func TestResultStoreIsBounded(t *testing.T) {
	s := NewResultStore(time.Hour)
	s.MaxRows = 10_000
	results := make([]mfa.UserResult, 999)
	var ops []string
	for range 100 {
		op := NewOp()
		s.Claim(op, "admin")
		s.Put(op, "admin", templates.ResultDialog{Results: results})
		ops = append(ops, op)
	}
	if s.rows > s.MaxRows || len(s.entries) > 10 {
		t.Fatalf("%d rows in %d results held, bound %d", s.rows, len(s.entries), s.MaxRows)
	}
	if _, ok := s.Get(ops[99], "admin"); !ok {
		t.Fatal("the newest result was dropped")
	}
	if _, ok := s.Get(ops[0], "admin"); ok {
		t.Fatal("the oldest result was kept")
	}
	// Expired results go too.
	now := time.Now()
	s.now = func() time.Time { return now.Add(2 * time.Hour) }
	s.Claim(NewOp(), "admin")
	if len(s.entries) != 1 {
		t.Fatalf("%d results after they expired", len(s.entries))
	}
}
