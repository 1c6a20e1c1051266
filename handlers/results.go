package handlers

import (
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/templates"
)

// ResultStore keeps what a quick step did for the page the admin is sent back to (post, redirect,
// get), and remembers each confirmation's one-time id so that a form submitted twice applies once.
// It lives in memory: after a restart the page simply shows no result dialog.
type ResultStore struct {
	mu      sync.Mutex
	entries map[string]storedResult
	ttl     time.Duration
	now     func() time.Time
}

type storedResult struct {
	account string
	dialog  templates.ResultDialog
	at      time.Time
}

// NewResultStore keeps results for ttl.
func NewResultStore(ttl time.Duration) *ResultStore {
	return &ResultStore{entries: map[string]storedResult{}, ttl: ttl, now: time.Now}
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

// Put stores the result of op for account.
func (s *ResultStore) Put(op, account string, d templates.ResultDialog) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for k, e := range s.entries {
		if now.Sub(e.at) > s.ttl {
			delete(s.entries, k)
		}
	}
	s.entries[op] = storedResult{account: account, dialog: d, at: now}
}

// Get returns the result of op if it belongs to account and has not expired.
func (s *ResultStore) Get(op, account string) (templates.ResultDialog, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[op]
	if !ok || e.account != account || s.now().Sub(e.at) > s.ttl {
		return templates.ResultDialog{}, false
	}
	return e.dialog, true
}
