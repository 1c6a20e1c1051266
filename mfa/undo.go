package mfa

import (
	"context"
	"fmt"
	"strings"
)

// Undo a bulk update (SPEC §10): a finished job's changed users go back to the state they had
// before it, as a new planned job with its own verify page. A user changed since by anyone else
// (their state is no longer what the job left) is flagged and skipped, unless the admin includes
// them.

// WarnChangedSince starts the warning of an undo row whose user was changed since the update.
const WarnChangedSince = "changed since the update"

// PlanUndo plans the undo of the finished job id: one row per user it changed, from the state the
// job left them in back to the state recorded before it. includeChanged also undoes users changed
// since (with a warning); otherwise they are rows in error, skipped. Errors: ENOTFOUND, ECONFLICT
// (the job has not finished), EINVALID (it changed nothing, or it is itself planned).
func (s *Service) PlanUndo(ctx context.Context, actor Actor, id string, includeChanged bool) (*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	orig, err := s.Jobs.FindJob(ctx, id)
	if err != nil {
		return nil, err
	}
	switch {
	case orig.Status == JobPlanned:
		return nil, Errorf(EINVALID, "this bulk update was never started: there is nothing to undo")
	case !orig.Finished():
		return nil, Errorf(ECONFLICT, "this bulk update is still %s: wait for it to finish, or cancel it, then undo it", orig.Status)
	case orig.Changed == 0:
		return nil, Errorf(EINVALID, "this bulk update changed no user: there is nothing to undo")
	}
	var lookup PlanLookup
	switch d := s.Directory.(type) {
	case PlanLookup:
		lookup = d
	case UserLookup:
		lookup = planLookup{d}
	default:
		return nil, Errorf(EINTERNAL, "the directory cannot look up users in bulk")
	}
	now := s.now().UTC()
	job := &Job{ID: NewJobID(), Status: JobPlanned, FileName: truncate("undo of "+orig.FileName, 200), Actor: actor,
		Reason: truncate("undo of bulk update "+orig.ID, MaxReasonLen), CreatedAt: now, UpdatedAt: now, UndoOf: orig.ID}
	err = s.Jobs.CreateJob(ctx, job, func(add func([]BulkRow) error) error {
		var seq, after int64
		for {
			rows, err := s.Jobs.JobRows(ctx, orig.ID, RowFilter{AfterSeq: after, Limit: MaxLimit})
			if err != nil {
				return err
			}
			if len(rows) == 0 {
				job.Total = job.Counts.Valid()
				return nil
			}
			after = rows[len(rows)-1].Seq
			var undo []BulkRow
			var keys []string
			for _, r := range rows {
				if r.Outcome != OutcomeChanged || !r.From.Valid() {
					continue
				}
				seq++
				key := NormalizeUPN(r.Username)
				// The state the job left the user in: what the directory answered (Graph may have
				// enforced a user it was asked to enable), else the state asked for.
				left, err := ParseState(r.Message)
				if err != nil {
					left = r.To
				}
				undo = append(undo, BulkRow{Seq: seq, Line: r.Line, Username: r.Username, To: r.From, From: left, key: key})
				keys = append(keys, key)
			}
			users, err := lookup.LookupForPlan(ctx, keys)
			if err != nil {
				return err
			}
			for i := range undo {
				planUndoRow(actor, &undo[i], users, includeChanged)
				job.Counts.Add(undo[i].Action)
			}
			if len(undo) > 0 {
				if err := add(undo); err != nil {
					return err
				}
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// undoPlanSearch is how many of the newest jobs PlannedUndo looks through. A plan expires after
// the plan TTL (a day by default), so the one an admin made minutes ago is among them unless
// hundreds of jobs were planned since; one not found only means another plan, which is harmless
// (the second undo to run finds its users changed since and skips them).
const undoPlanSearch = 500

// PlannedUndo returns the undo of the job id that actor planned and has not started (nor let
// expire), the newest if several; nil when there is none. A second "undo this update" leads to
// it rather than planning one more. Errors: EFORBIDDEN.
func (s *Service) PlannedUndo(ctx context.Context, actor Actor, id string) (*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	jobs, err := s.Jobs.ListJobs(ctx, undoPlanSearch)
	if err != nil {
		return nil, err
	}
	for _, j := range jobs { // newest first
		if j.UndoOf == id && j.Status == JobPlanned && !s.planExpired(j) && ownsJob(actor, j) {
			return j, nil
		}
	}
	return nil, nil
}

// planUndoRow plans one undo row: row.From holds the state the update left the user in, row.To the
// state before it.
func planUndoRow(actor Actor, row *BulkRow, users map[string]PlanUser, includeChanged bool) {
	left := row.From
	u, ok := users[row.key]
	if !ok {
		row.Action, row.Error = RowError, fmt.Sprintf("%s is no longer in the directory", row.Username)
		return
	}
	if u.State != left {
		msg := fmt.Sprintf("%s: the update set %s, now %s", WarnChangedSince, left.Label(), u.State.Label())
		if !includeChanged {
			row.From, row.UserID = u.State, u.ID
			row.Action, row.Error = RowError, msg+"; skipped (include users changed since to undo them too)"
			return
		}
		planRow(actor, row, &u)
		if row.Action != RowError {
			row.Warnings = append([]string{msg}, row.Warnings...)
		}
		return
	}
	planRow(actor, row, &u)
}

// IsUndo reports whether the job undoes another.
func (j *Job) IsUndo() bool { return j.UndoOf != "" }

// ChangedSinceCount is how many of an undo plan's rows were skipped because their user was changed
// since the update (the rows "include users changed since" would add).
func ChangedSinceCount(rows []BulkRow) int {
	n := 0
	for _, r := range rows {
		if r.Action == RowError && strings.HasPrefix(r.Error, WarnChangedSince) {
			n++
		}
	}
	return n
}
