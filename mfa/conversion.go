package mfa

import (
	"context"
	"strings"
)

// The move to Conditional Access (SPEC §11): Microsoft's guidance (seeds/003, "Convert users from
// per-user MFA to Conditional Access based MFA") is to move users whose MFA Conditional Access
// requires off per-user MFA. The page lists those still Enabled or Enforced, the users Conditional
// Access does not cover yet (the gap to close before relying on it), and plans a bulk job that
// disables per-user MFA for the covered ones, verified and undone like any bulk update.

// ConditionalAccessReader is implemented by directories that evaluate Conditional Access (Microsoft
// Graph): what the last sync learnt of the tenant's policies.
type ConditionalAccessReader interface {
	ConditionalAccess(ctx context.Context) (ConditionalAccessSummary, error)
}

// ConversionPreview is how many users need a plan of each kind, and the first of each list.
type ConversionPreview struct {
	Summary ConditionalAccessSummary
	// Covered users still in per-user MFA: the job disables them (Enabled and Enforced).
	CoveredEnabled, CoveredEnforced *UserPage
	// The gap: users in per-user MFA that Conditional Access does not cover (disabling them would
	// leave them without MFA), and Disabled users it does not cover (no MFA at all).
	GapPerUser, GapDisabled *UserPage
}

// ToConvert is how many users the move disables.
func (p *ConversionPreview) ToConvert() int { return p.CoveredEnabled.Total + p.CoveredEnforced.Total }

// ConversionFileName names the job the move plans, on its pages and in the audit log.
const ConversionFileName = "move to Conditional Access"

// FromFile reports whether the job's rows came from a file (bulk update) rather than from a plan
// the portal made (an undo, the move to Conditional Access), so that its pages speak of rows in
// the file or in the plan. (A file uploaded under the name ConversionFileName reads as a plan:
// still true of it.)
func (j *Job) FromFile() bool { return !j.IsUndo() && j.FileName != ConversionFileName }

// caReader answers the directory's Conditional Access, ENOTFOUND without one: the move's page
// does not exist for such a directory (not a service briefly unavailable, which 503 would say).
func (s *Service) caReader() (ConditionalAccessReader, error) {
	r, ok := s.Directory.(ConditionalAccessReader)
	if !ok || !s.Capabilities().ConditionalAccess {
		return nil, Errorf(ENOTFOUND, "This directory has no Conditional Access: the move to Conditional Access needs the Microsoft Graph directory.")
	}
	return r, nil
}

// PreviewConversion reads the page's counts and the first limit users of each list. For the roles
// that may run a bulk update.
func (s *Service) PreviewConversion(ctx context.Context, actor Actor, limit int) (*ConversionPreview, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	r, err := s.caReader()
	if err != nil {
		return nil, err
	}
	p := &ConversionPreview{}
	if p.Summary, err = r.ConditionalAccess(ctx); err != nil {
		return nil, err
	}
	for _, l := range []struct {
		page   **UserPage
		status State
		cov    CoverageFilter
	}{
		{&p.CoveredEnabled, StateEnabled, CoverageCA}, {&p.CoveredEnforced, StateEnforced, CoverageCA},
		{&p.GapDisabled, StateDisabled, CoverageNone},
	} {
		f := UserFilter{View: ViewAll, Status: StatusFilter(l.status), Coverage: l.cov, Limit: limit}
		if *l.page, err = s.ListUsers(ctx, actor, f); err != nil {
			return nil, err
		}
	}
	// In per-user MFA and not covered: Enabled then Enforced, limit in all, counted together.
	enabled, err := s.ListUsers(ctx, actor, UserFilter{View: ViewAll, Status: StatusFilter(StateEnabled), Coverage: CoverageNone, Limit: limit})
	if err != nil {
		return nil, err
	}
	enforced, err := s.ListUsers(ctx, actor, UserFilter{View: ViewAll, Status: StatusFilter(StateEnforced), Coverage: CoverageNone, Limit: limit})
	if err != nil {
		return nil, err
	}
	p.GapPerUser = &UserPage{Total: enabled.Total + enforced.Total, Users: append(enabled.Users, enforced.Users...)}
	p.GapPerUser.Users = p.GapPerUser.Users[:min(len(p.GapPerUser.Users), limit)]
	return p, nil
}

// PlanConversion plans the job that disables per-user MFA for every user Conditional Access (or
// security defaults) covers who is Enabled or Enforced: one row each, checked like a bulk file's
// (SPEC §3: an authentication admin's rows on admins are refused), started from its verify page.
// reason is recorded with it (required when the portal requires reasons). EINVALID when there is no
// user to move.
func (s *Service) PlanConversion(ctx context.Context, actor Actor, reason string) (*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	if _, err := s.caReader(); err != nil {
		return nil, err
	}
	reason = strings.TrimSpace(reason)
	if reason != "" || s.RequireReason {
		var err error
		if reason, err = s.checkReason(reason); err != nil {
			return nil, err
		}
	} else {
		reason = "disable per-user MFA for users whose MFA Conditional Access requires"
	}
	now := s.now().UTC()
	job := &Job{ID: NewJobID(), Status: JobPlanned, FileName: ConversionFileName, Actor: actor,
		Reason: truncate(reason, MaxReasonLen), CreatedAt: now, UpdatedAt: now}
	err := s.Jobs.CreateJob(ctx, job, func(add func([]BulkRow) error) error {
		var seq int64
		for _, st := range []State{StateEnabled, StateEnforced} {
			f := UserFilter{View: ViewAll, Status: StatusFilter(st), Coverage: CoverageCA, Limit: MaxLimit}
			for {
				page, err := s.ListUsers(ctx, actor, f)
				if err != nil {
					return err
				}
				rows := make([]BulkRow, 0, len(page.Users))
				for _, u := range page.Users {
					seq++
					row := BulkRow{Seq: seq, Line: int(seq), Username: u.UPN, To: StateDisabled}
					planRow(actor, &row, &PlanUser{ID: u.ID, State: u.State, Privileged: u.Privileged, HasMethods: u.HasMethods()})
					job.Counts.Add(row.Action)
					rows = append(rows, row)
				}
				if len(rows) > 0 {
					if err := add(rows); err != nil {
						return err
					}
				}
				if page.NextCursor == "" {
					break
				}
				f.After = page.NextCursor
			}
		}
		job.Total = job.Counts.Valid()
		if seq == 0 {
			return Errorf(EINVALID, "no user in per-user MFA has MFA required by Conditional Access: there is nobody to move")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}
