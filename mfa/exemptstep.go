package mfa

import (
	"context"
	"fmt"
)

// ActionExempt is "Disable for a while" as a quick step on the users page (SPEC §10): like
// Disable, it applies to Enabled and Enforced users, and needs the role of a state change.
const ActionExempt Action = "exempt"

// ApplyExemptions is the quick step "Disable for a while": every target is disabled for hours
// hours (StartExemption each, on its own) and reported per user like ApplyStep: changed, already
// Disabled (unchanged), refused, conflict (changed meanwhile, or exempted already), not found. Bad
// hours or reason refuse the whole step (EINVALID naming the field) and change nothing.
func (s *Service) ApplyExemptions(ctx context.Context, actor Actor, hours int, targets []Target, reason, source string, onError func(upn string, err error)) ([]UserResult, error) {
	if err := actor.Require(PermChangeState); err != nil {
		return nil, err
	}
	if s.Exemptions == nil {
		return nil, Errorf(EUNAVAILABLE, "temporary exemptions are not available here")
	}
	if hours < 1 || hours > MaxExemptionHours {
		return nil, FieldErrorf("hours", "%d hours is out of range: an exemption lasts 1 to %d hours (30 days)", hours, MaxExemptionHours)
	}
	if _, err := s.checkReason(reason); err != nil {
		return nil, err
	}
	out := make([]UserResult, 0, len(targets))
	for _, t := range targets {
		r := UserResult{UPN: t.UPN}
		ex, u, err := s.StartExemption(ctx, actor, ExemptionRequest{UPN: t.UPN, Hours: hours, Reason: reason, Source: source, Version: t.Version})
		switch {
		case err == nil:
			r.UPN, r.DisplayName, r.Before, r.After = u.UPN, u.DisplayName, ex.Previous, u.State
			r.Outcome = OutcomeChanged
			r.Message = fmt.Sprintf("back to %s at %s", ex.Previous.Label(), ex.Until.UTC().Format("2006-01-02 15:04 UTC"))
		case ErrorCode(err) == EINVALID && ErrorField(err) == "":
			// Disabled already (hours and reason were checked above): nothing to exempt, as
			// Disable leaves a Disabled user as is.
			r.Outcome, r.Before, r.After, r.Message = OutcomeUnchanged, StateDisabled, StateDisabled, "already Disabled"
		default:
			r.Outcome, r.Message = outcomeOf(err)
			if r.Outcome == OutcomeError && onError != nil {
				onError(t.UPN, err)
			}
		}
		out = append(out, r)
	}
	return out, nil
}
