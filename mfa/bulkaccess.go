package mfa

import (
	"context"
	"strings"
	"time"
)

// Who may see and act on a bulk job (SPEC §9): the roles that may run bulk updates, and of those,
// a global admin every job and any other role only the jobs it verified itself. Someone else's job
// is answered as not found, so that its existence is not revealed either.

// AuditBulkDiscard records a verified file discarded (the wizard's Back).
const AuditBulkDiscard = "bulk.discard"

// DefaultBulkPlanTTL is how long a verified, unstarted bulk job is kept (--bulk-plan-ttl).
const DefaultBulkPlanTTL = 24 * time.Hour

// ownsJob reports whether actor verified the job (the same person, signed in the same way).
func ownsJob(actor Actor, j *Job) bool {
	return strings.EqualFold(j.Actor.Name, actor.Name) && j.Actor.Method == actor.Method
}

// mayActOnJob: the job's owner, or a global admin.
func mayActOnJob(actor Actor, j *Job) bool { return actor.Role == RoleGlobalAdmin || ownsJob(actor, j) }

// jobFor finds a job the actor may see.
func (s *Service) jobFor(ctx context.Context, actor Actor, id string) (*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	j, err := s.Jobs.FindJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !mayActOnJob(actor, j) {
		return nil, Errorf(ENOTFOUND, "there is no bulk update %q that you started", truncate(id, 40))
	}
	return j, nil
}

// planExpired reports whether a verified job waited longer than the plan TTL to be started.
func (s *Service) planExpired(j *Job) bool {
	return j.Status == JobPlanned && s.planTTL() > 0 && s.now().Sub(j.CreatedAt) > s.planTTL()
}

func (s *Service) planTTL() time.Duration {
	if s.BulkPlanTTL == 0 {
		return DefaultBulkPlanTTL
	}
	return s.BulkPlanTTL
}

// ExpireBulkPlans deletes the verified jobs nobody started within the plan TTL (with their rows),
// and answers how many. The server runs it every few minutes.
func (s *Service) ExpireBulkPlans(ctx context.Context) (int, error) {
	return s.Jobs.DeletePlannedBefore(ctx, s.now().Add(-s.planTTL()))
}

// EndBulkDryRun deletes the plan of an API dry run once its rows were sent (or the client went
// away): a dry run changes nothing and leaves nothing behind.
func (s *Service) EndBulkDryRun(ctx context.Context, actor Actor, id string) error {
	ctx = context.WithoutCancel(ctx)
	j, err := s.jobFor(ctx, actor, id)
	if err != nil {
		return err
	}
	if j.Status != JobPlanned {
		return Errorf(ECONFLICT, "this bulk update has started: it is no dry run")
	}
	return s.Jobs.DeleteJob(ctx, id)
}

// StepPermission is what a quick step needs: the state steps PermChangeState, Manage user
// settings (action "") PermManageSettings.
func StepPermission(action Action) Permission {
	if action == "" {
		return PermManageSettings
	}
	return PermChangeState
}

// MayTakeStep answers EFORBIDDEN unless the actor may take the quick step on some user (the
// confirmation dialog's check; each user's own rule is checked when the step is applied).
func (s *Service) MayTakeStep(actor Actor, action Action) error {
	return actor.Require(StepPermission(action))
}
