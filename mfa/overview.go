package mfa

import (
	"context"
	"time"
)

// The overview tab (SPEC §10): counts by state, users registered or not, admins without MFA, and
// the state counts day by day from a snapshot taken at start and each day (Chores).

// OverviewCounts are the overview's figures at one time.
type OverviewCounts struct {
	Day      string // YYYY-MM-DD (UTC) of a snapshot; "" for live counts
	TakenAt  time.Time
	Enabled  int
	Enforced int
	Disabled int
	// Registered users hold methods and were not re-enabled while holding them (User.Registered).
	Registered    int
	NotRegistered int
	// AdminsWithoutMFA may sign in (sign-in allowed), hold an admin role, are not Enforced and are
	// not covered by Conditional Access or security defaults (Microsoft Graph): a password alone
	// signs them in. Disabled admins are not in MFA at all; Enabled ones have not completed
	// registration (SPEC §1), so their non-browser apps sign in without MFA and their next
	// sign-in registers whoever holds the password. Enforced admins, and blocked ones, are not
	// counted.
	AdminsWithoutMFA int
	// AdminsDisabled and AdminsEnabled are AdminsWithoutMFA by state (live counts only, 0 in
	// snapshots): the overview links each to the users page's filter that lists them.
	AdminsDisabled, AdminsEnabled int
}

// Total is every user.
func (c OverviewCounts) Total() int { return c.Enabled + c.Enforced + c.Disabled }

// OverviewStore counts the directory and keeps the daily snapshots.
type OverviewStore interface {
	// CountOverview counts the directory now.
	CountOverview(ctx context.Context) (OverviewCounts, error)
	// SaveSnapshot stores the counts of c.Day, replacing an earlier snapshot of that day.
	SaveSnapshot(ctx context.Context, c OverviewCounts) error
	// Snapshots returns the snapshots from the day since on (YYYY-MM-DD), oldest first.
	Snapshots(ctx context.Context, since string) ([]OverviewCounts, error)
}

// OverviewDays is how many days of snapshots the chart shows.
const OverviewDays = 90

// Overview is the overview tab's content.
type Overview struct {
	Now  OverviewCounts   // live
	Days []OverviewCounts // daily snapshots, oldest first
}

// GetOverview counts the directory and reads the last OverviewDays days of snapshots; any role.
func (s *Service) GetOverview(ctx context.Context, actor Actor) (*Overview, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if s.Overview == nil {
		return nil, Errorf(EUNAVAILABLE, "the overview is not available here")
	}
	now, err := s.Overview.CountOverview(ctx)
	if err != nil {
		return nil, err
	}
	now.TakenAt = s.now().UTC()
	since := s.now().UTC().AddDate(0, 0, -OverviewDays+1).Format(time.DateOnly)
	days, err := s.Overview.Snapshots(ctx, since)
	if err != nil {
		return nil, err
	}
	return &Overview{Now: now, Days: days}, nil
}

// TakeSnapshot stores today's counts (UTC day), replacing an earlier snapshot of today.
func (s *Service) TakeSnapshot(ctx context.Context) error {
	if s.Overview == nil {
		return nil
	}
	c, err := s.Overview.CountOverview(ctx)
	if err != nil {
		return err
	}
	now := s.now().UTC()
	c.Day, c.TakenAt = now.Format(time.DateOnly), now
	return s.Overview.SaveSnapshot(ctx, c)
}
