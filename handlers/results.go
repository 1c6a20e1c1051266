package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/templates"
)

// ResultStore keeps what a quick step did for the page the admin is sent back to (post, redirect,
// get), and makes each confirmation's one-time id work once: Claim takes it atomically, so a form
// submitted twice, or eight times at once, applies once. It lives in memory, bounded (MaxRows
// result rows in all, the oldest results dropped first): after a restart, or once dropped, the
// page simply shows no result dialog.
type ResultStore struct {
	mu      sync.Mutex
	entries map[string]*storedResult
	order   []string // ops, oldest first
	rows    int      // result rows held
	ttl     time.Duration
	now     func() time.Time
	// MaxRows bounds the memory the results hold (a quick step's result holds a row per user).
	MaxRows int
}

type storedResult struct {
	account string
	dialog  templates.ResultDialog
	done    bool // false while the step is being applied
	rows    int
	at      time.Time
}

// DefaultResultRows bounds the stored results: about 200,000 users' outcomes (a few tens of MB).
const DefaultResultRows = 200_000

// NewResultStore keeps results for ttl.
func NewResultStore(ttl time.Duration) *ResultStore {
	return &ResultStore{entries: map[string]*storedResult{}, ttl: ttl, now: time.Now, MaxRows: DefaultResultRows}
}

// NewOp returns a fresh one-time id for a confirmation.
func NewOp() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func validOp(op string) bool {
	if len(op) != 32 {
		return false
	}
	_, err := hex.DecodeString(op)
	return err == nil
}

// Claim takes op for account, atomically: true for the first caller only, who then applies the
// step and calls Put (or Release if nothing was applied).
func (s *ResultStore) Claim(op, account string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire()
	if _, taken := s.entries[op]; taken {
		return false
	}
	s.entries[op] = &storedResult{account: account, at: s.now(), rows: 1}
	s.order = append(s.order, op)
	s.rows++
	s.bound()
	return true
}

// Release gives a claimed op back when nothing was applied (the form is shown again to correct).
func (s *ResultStore) Release(op, account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[op]; ok && e.account == account && !e.done {
		s.rows -= e.rows
		delete(s.entries, op)
	}
}

// Put stores the result of a claimed op.
func (s *ResultStore) Put(op, account string, d templates.ResultDialog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[op]
	if !ok { // dropped meanwhile (the bound): claim it again
		e = &storedResult{account: account}
		s.entries[op] = e
		s.order = append(s.order, op)
	}
	s.rows -= e.rows
	e.dialog, e.done, e.at, e.rows = d, true, s.now(), 1+len(d.Results)+len(d.Notified)
	s.rows += e.rows
	s.bound()
}

// Get returns the result of op if it belongs to account, is done and has not expired.
func (s *ResultStore) Get(op, account string) (templates.ResultDialog, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[op]
	if !ok || !e.done || e.account != account || s.now().Sub(e.at) > s.ttl {
		return templates.ResultDialog{}, false
	}
	return e.dialog, true
}

// expire drops results older than the ttl; callers hold mu.
func (s *ResultStore) expire() {
	now := s.now()
	for len(s.order) > 0 {
		e, ok := s.entries[s.order[0]]
		if ok && now.Sub(e.at) <= s.ttl {
			return
		}
		s.drop()
	}
}

// bound drops the oldest results until the rows fit; callers hold mu.
func (s *ResultStore) bound() {
	for s.rows > s.MaxRows && len(s.order) > 1 {
		s.drop()
	}
}

// drop forgets the oldest op.
func (s *ResultStore) drop() {
	op := s.order[0]
	s.order = s.order[1:]
	if e, ok := s.entries[op]; ok {
		s.rows -= e.rows
		delete(s.entries, op)
	}
}
