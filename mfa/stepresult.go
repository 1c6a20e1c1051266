package mfa

import (
	"context"
	"time"
)

// StepResultStore keeps the one-time ids of confirmations (a quick step, a notify) and what each
// did, for the page the admin is sent back to (post, redirect, get). They are in the store so that
// replicas sharing it agree: an id is claimed once across all of them, however many times and on
// whichever replicas the form is submitted, and the result shows on whichever replica serves the
// next page. A result is opaque here: its page encodes it.
type StepResultStore interface {
	// ClaimStep takes op for account at at: true for the first claim only (on any replica); false
	// when op was claimed already, by anyone.
	ClaimStep(ctx context.Context, op, account string, at time.Time) (bool, error)
	// ReleaseStep gives back an op account claimed and has not finished (nothing was applied): it
	// may be claimed again.
	ReleaseStep(ctx context.Context, op, account string) error
	// FinishStep stores the result of op for account at at (claiming it if it was pruned
	// meanwhile); rows is the result's size, for PruneSteps' bound.
	FinishStep(ctx context.Context, op, account string, result []byte, rows int, at time.Time) error
	// StepResult answers op's result if account finished it at or after since; ok is false
	// otherwise (unknown, another account's, not finished, older).
	StepResult(ctx context.Context, op, account string, since time.Time) (result []byte, ok bool, err error)
	// PruneSteps deletes the ops claimed or finished before before, then the oldest results
	// until those left hold at most maxRows rows in all (the newest is always kept).
	PruneSteps(ctx context.Context, before time.Time, maxRows int) error
}
