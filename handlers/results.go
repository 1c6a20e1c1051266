package handlers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/templates"
)

// ResultStore keeps what a quick step did for the page the admin is sent back to (post, redirect,
// get), and makes each confirmation's one-time id work once: Claim takes it atomically, so a form
// submitted twice, or eight times at once on any replicas, applies once. Both live in the portal's
// store (mfa.StepResultStore), so that any replica serves the result page; results are kept for
// TTL, bounded to MaxRows result rows in all (the oldest dropped first): once dropped, the page
// simply says the result is no longer available.
type ResultStore struct {
	Store   mfa.StepResultStore
	TTL     time.Duration
	MaxRows int // bounds the stored results (a quick step's result holds a row per user)
	Now     func() time.Time
}

// DefaultResultRows bounds the stored results: about 200,000 users' outcomes (a few tens of MB).
const DefaultResultRows = 200_000

// NewResultStore keeps results in store for ttl.
func NewResultStore(store mfa.StepResultStore, ttl time.Duration) *ResultStore {
	return &ResultStore{Store: store, TTL: ttl, MaxRows: DefaultResultRows, Now: time.Now}
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
func (s *ResultStore) Claim(ctx context.Context, op, account string) (bool, error) {
	return s.Store.ClaimStep(ctx, op, account, s.Now())
}

// Release gives a claimed op back when nothing was applied (the form is shown again to correct).
func (s *ResultStore) Release(ctx context.Context, op, account string) error {
	return s.Store.ReleaseStep(context.WithoutCancel(ctx), op, account)
}

// Put stores the result of a claimed op, and drops the results past their time or the bound. It
// is written even if the client went away meanwhile: the step was applied.
func (s *ResultStore) Put(ctx context.Context, op, account string, d templates.ResultDialog) error {
	ctx = context.WithoutCancel(ctx)
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	now := s.Now()
	if err := s.Store.FinishStep(ctx, op, account, b, 1+len(d.Results)+len(d.Notified), now); err != nil {
		return err
	}
	return s.Store.PruneSteps(ctx, now.Add(-s.TTL), s.MaxRows)
}

// Get returns the result of op if it belongs to account, is done and has not expired.
func (s *ResultStore) Get(ctx context.Context, op, account string) (templates.ResultDialog, bool, error) {
	var d templates.ResultDialog
	b, ok, err := s.Store.StepResult(ctx, op, account, s.Now().Add(-s.TTL))
	if !ok || err != nil {
		return d, false, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, false, err
	}
	return d, true, nil
}
