package mfa

import (
	"context"
	"fmt"
	"time"
)

// Temporary exemption (SPEC §10): "Disable for a while". The user is disabled now and returned to
// the state they had when the time is up (the Chores runner, across restarts), or earlier when an
// admin ends it; both directions are audited.

// MaxExemptionHours is the longest exemption: 30 days.
const MaxExemptionHours = 720

// Audit actions and source of exemptions.
const (
	AuditExemptionStart = "exemption.start"
	AuditExemptionEnd   = "exemption.end"
	SourceExemption     = "exemption"
)

// Exemption is a user disabled for a while.
type Exemption struct {
	UPN      string
	Previous State // the state to return to
	// PreviousReenabled is the user's re-enable flag before (User.HadMethodsWhenReenabled), restored with the state.
	PreviousReenabled bool
	StartedAt         time.Time
	Until             time.Time
	Reason            string
	Actor             Actor // who started it
}

// Left is the time left at now (0 when it is up).
func (e *Exemption) Left(now time.Time) time.Duration { return max(0, e.Until.Sub(now)) }

// ExemptionStore keeps the running exemptions.
type ExemptionStore interface {
	// AddExemption stores an exemption; ECONFLICT if the user has one.
	AddExemption(ctx context.Context, e Exemption) error
	// FindExemption returns the user's exemption; ENOTFOUND if none.
	FindExemption(ctx context.Context, upn string) (*Exemption, error)
	// ListExemptions returns up to limit exemptions, those ending soonest first, until before
	// (zero: all).
	ListExemptions(ctx context.Context, before time.Time, limit int) ([]Exemption, error)
	// RemoveExemption deletes the user's exemption (none is not an error).
	RemoveExemption(ctx context.Context, upn string) error
}

// ExemptionRequest is "Disable for a while".
type ExemptionRequest struct {
	UPN    string
	Hours  int
	Reason string
	Source string
	// Version is the user's version the admin saw (a quick step's selection); 0: do not check.
	Version int64
}

// StartExemption disables a user for req.Hours hours (1–720) and records it (exemption.start).
// Role rules are those of a state change. Errors: EFORBIDDEN, EINVALID (hours, reason, a user
// already Disabled), ECONFLICT (already exempted, or changed meanwhile), ENOTFOUND.
func (s *Service) StartExemption(ctx context.Context, actor Actor, req ExemptionRequest) (*Exemption, *User, error) {
	if err := actor.Require(PermChangeState); err != nil {
		return nil, nil, err
	}
	if s.Exemptions == nil {
		return nil, nil, Errorf(EUNAVAILABLE, "temporary exemptions are not available here")
	}
	if req.Hours < 1 || req.Hours > MaxExemptionHours {
		return nil, nil, FieldErrorf("hours", "%d hours is out of range: an exemption lasts 1 to %d hours (30 days)", req.Hours, MaxExemptionHours)
	}
	reason, err := s.checkReason(req.Reason)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.GetUser(ctx, actor, req.UPN)
	if err != nil {
		return nil, nil, err
	}
	if !actor.Role.CanOn(PermChangeState, u.Privileged) {
		return nil, nil, Errorf(EFORBIDDEN, "your role (%s) may not change the MFA status of %s, who holds an admin role", actor.Role, u.UPN)
	}
	if u.State == StateDisabled {
		return nil, nil, Errorf(EINVALID, "%s is already Disabled: there is nothing to exempt", u.UPN)
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	ex := Exemption{UPN: u.UPN, Previous: u.State, PreviousReenabled: u.HadMethodsWhenReenabled, StartedAt: now,
		Until: now.Add(time.Duration(req.Hours) * time.Hour), Reason: reason, Actor: actor}
	// The exemption first: a crash before the user is disabled leaves one that finds the user not
	// Disabled when it ends, and changes nothing.
	if err := s.Exemptions.AddExemption(ctx, ex); err != nil {
		return nil, nil, err
	}
	after, err := s.Directory.UpdateUser(ctx, u.UPN, func(cur *User) (*AuditRecord, error) {
		if !actor.Role.CanOn(PermChangeState, cur.Privileged) {
			return nil, Errorf(EFORBIDDEN, "your role (%s) may not change the MFA status of %s, who holds an admin role", actor.Role, cur.UPN)
		}
		if req.Version != 0 && cur.Version != req.Version {
			return nil, staleError(cur, req.Version)
		}
		if cur.State != ex.Previous {
			return nil, Errorf(ECONFLICT, "%s was changed by someone else meanwhile (now %s): reload and try again", cur.UPN, cur.State.Label())
		}
		rec := NewAuditRecord(actor, req.Source, reason, now)
		rec.Action, rec.Target, rec.Before = AuditExemptionStart, cur.UPN, cur.State.Label()
		rec.After = fmt.Sprintf("Disabled for %d hours, until %s, then %s again", req.Hours, ex.Until.Format(time.RFC3339), ex.Previous.Label())
		ApplyState(cur, StateDisabled)
		cur.StateReadAt = now
		return &rec, nil
	})
	if err != nil {
		s.Exemptions.RemoveExemption(context.WithoutCancel(ctx), u.UPN)
		return nil, nil, err
	}
	return &ex, after, nil
}

// GetExemption returns the user's running exemption, nil if none; any role may see it.
func (s *Service) GetExemption(ctx context.Context, actor Actor, upn string) (*Exemption, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if s.Exemptions == nil {
		return nil, nil
	}
	e, err := s.Exemptions.FindExemption(ctx, upn)
	if ErrorCode(err) == ENOTFOUND {
		return nil, nil
	}
	return e, err
}

// ListExemptions returns the running exemptions, those ending soonest first (at most 1,000).
func (s *Service) ListExemptions(ctx context.Context, actor Actor) ([]Exemption, error) {
	if err := actor.Require(PermView); err != nil {
		return nil, err
	}
	if s.Exemptions == nil {
		return nil, nil
	}
	return s.Exemptions.ListExemptions(ctx, time.Time{}, MaxLimit)
}

// EndExemption ends a user's exemption early (an admin's click): the user returns to the state
// before it. Role rules are those of a state change; ENOTFOUND when the user has none.
func (s *Service) EndExemption(ctx context.Context, actor Actor, upn, source string) (*User, error) {
	if err := actor.Require(PermChangeState); err != nil {
		return nil, err
	}
	if s.Exemptions == nil {
		return nil, Errorf(ENOTFOUND, "%s has no exemption", truncate(upn, 100))
	}
	ex, err := s.Exemptions.FindExemption(ctx, upn)
	if err != nil {
		return nil, err
	}
	return s.endExemption(ctx, actor, *ex, source, "ended early by "+actor.Name)
}

// EndDueExemptions ends every exemption whose time is up (the Chores runner calls it), as the
// portal itself. It answers how many ended; a user it could not change keeps its exemption and is
// tried again next time.
func (s *Service) EndDueExemptions(ctx context.Context) (int, error) {
	if s.Exemptions == nil {
		return 0, nil
	}
	due, err := s.Exemptions.ListExemptions(ctx, s.now(), MaxLimit)
	if err != nil {
		return 0, err
	}
	n := 0
	var firstErr error
	for _, ex := range due {
		if _, err := s.endExemption(ctx, SystemActor, ex, SourceExemption, "time is up (exemption by "+ex.Actor.Name+")"); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		n++
	}
	return n, firstErr
}

// endExemption returns the user to the state before the exemption (unless someone changed them
// meanwhile: then they are left as they are), records exemption.end and removes the exemption.
func (s *Service) endExemption(ctx context.Context, actor Actor, ex Exemption, source, why string) (*User, error) {
	u, err := s.Directory.UpdateUser(ctx, ex.UPN, func(cur *User) (*AuditRecord, error) {
		if actor != SystemActor && !actor.Role.CanOn(PermChangeState, cur.Privileged) {
			return nil, Errorf(EFORBIDDEN, "your role (%s) may not change the MFA status of %s, who holds an admin role", actor.Role, cur.UPN)
		}
		now := s.now()
		rec := NewAuditRecord(actor, source, why, now)
		rec.Action, rec.Target, rec.Before = AuditExemptionEnd, cur.UPN, cur.State.Label()
		if cur.State != StateDisabled {
			rec.After = cur.State.Label() + " (changed meanwhile: left as it is)"
			return &rec, nil
		}
		cur.State, cur.HadMethodsWhenReenabled = ex.Previous, ex.PreviousReenabled && cur.HasMethods()
		cur.StateReadAt = rec.Time
		rec.After = ex.Previous.Label()
		return &rec, nil
	})
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, err
	}
	// A user deleted meanwhile has nothing to return to.
	if rerr := s.Exemptions.RemoveExemption(context.WithoutCancel(ctx), ex.UPN); rerr != nil {
		return nil, rerr
	}
	return u, err
}

// exemptionScan is how many running exemptions endExemptionsOf reads in one go to find those of a
// batch of users; with more than that running it asks user by user.
const exemptionScan = 10_000

// endExemptionsOf ends the exemptions of users an admin has just moved to another state (a quick
// step, the user page, the API, the CLI, a bulk update, users import): the admin's explicit state
// decides, so the exemption must not later "return" the user to the state before it (nor, if the
// admin disabled the user again meanwhile, re-enable them). Each ended exemption is recorded
// (exemption.end, with the admin as actor and the change's source) before it is removed: a record
// left for an exemption not removed is harmless (when its time is up it finds the user changed
// meanwhile and leaves them as they are). upns are the users changed, newState[i] their state now.
func (s *Service) endExemptionsOf(ctx context.Context, actor Actor, source string, upns []string, newState []State) error {
	if s.Exemptions == nil || len(upns) == 0 {
		return nil
	}
	ctx = context.WithoutCancel(ctx) // the state changes are made: their exemptions end with them
	running := map[string]Exemption{}
	if len(upns) == 1 {
		ex, err := s.Exemptions.FindExemption(ctx, upns[0])
		if ErrorCode(err) == ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		running[NormalizeUPN(ex.UPN)] = *ex
	} else {
		list, err := s.Exemptions.ListExemptions(ctx, time.Time{}, exemptionScan)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		if len(list) == exemptionScan {
			list = nil // more may be running: look each user up
			for _, upn := range upns {
				ex, err := s.Exemptions.FindExemption(ctx, upn)
				if ErrorCode(err) == ENOTFOUND {
					continue
				} else if err != nil {
					return err
				}
				list = append(list, *ex)
			}
		}
		for _, ex := range list {
			running[NormalizeUPN(ex.UPN)] = ex
		}
	}
	now := s.now()
	for i, upn := range upns {
		ex, ok := running[NormalizeUPN(upn)]
		if !ok {
			continue
		}
		rec := NewAuditRecord(actor, source, "ended by a change of MFA status by "+actor.Name, now)
		rec.Action, rec.Target = AuditExemptionEnd, ex.UPN
		rec.Before = fmt.Sprintf("Disabled for a while, until %s, then %s again", ex.Until.UTC().Format(time.RFC3339), ex.Previous.Label())
		rec.After = newState[i].Label() + " (set by an admin before the time was up)"
		if err := s.Audit.AppendAudit(ctx, &rec); err != nil {
			return err
		}
		if err := s.Exemptions.RemoveExemption(ctx, ex.UPN); err != nil {
			return err
		}
		delete(running, NormalizeUPN(upn)) // once, should a user be named twice
	}
	return nil
}
