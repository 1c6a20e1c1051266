package mfa

import (
	"context"
	"time"
)

// Chores are the portal's timed work besides bulk jobs: exemptions that run out are ended
// (exemption.go) and the overview's daily snapshot is taken (overview.go). Both are kept in the
// store, so a restart only delays them until the first round, which runs at once.
type Chores struct {
	Service *Service
	Every   time.Duration               // between rounds; default one minute
	OnError func(msg string, err error) // for the log

	snapshotDay string // the day of the last snapshot this process took
}

// Run does a round at once and then every Every, until ctx is cancelled.
func (c *Chores) Run(ctx context.Context) {
	every := c.Every
	if every <= 0 {
		every = time.Minute
	}
	for {
		c.Round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Round does what is due now.
func (c *Chores) Round(ctx context.Context) {
	if _, err := c.Service.EndDueExemptions(ctx); err != nil && ctx.Err() == nil {
		c.report("ending exemptions", err)
	}
	// A snapshot at start and then once a day.
	if day := c.Service.now().UTC().Format(time.DateOnly); day != c.snapshotDay {
		if err := c.Service.TakeSnapshot(ctx); err != nil {
			if ctx.Err() == nil {
				c.report("overview snapshot", err)
			}
		} else {
			c.snapshotDay = day
		}
	}
}

func (c *Chores) report(msg string, err error) {
	if c.OnError != nil {
		c.OnError(msg, err)
	}
}
