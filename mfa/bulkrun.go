package mfa

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
)

// BatchUpdater is implemented by directories that can change many users in one transaction (the
// embedded directory): each user is still changed atomically on its own — fn's error for one user
// is that user's result, not the batch's.
type BatchUpdater interface {
	// UpdateUsers runs fn on each user and stores the changes and their audit records. It returns,
	// per user, the user afterwards or the error (ENOTFOUND, or fn's).
	UpdateUsers(ctx context.Context, users []UserRef, fn func(i int, u *User) (*AuditRecord, error)) ([]*User, []error, error)
}

// UserRef names a user for a batch: by UPN, with the directory's id of the user as last seen when
// known (a bulk row's UserID). The directory may find the user by the id, faster, but only if it
// still has that UPN; otherwise by the UPN.
type UserRef struct {
	UPN string
	ID  string
}

// Refs names users by UPN alone.
func Refs(upns []string) []UserRef {
	out := make([]UserRef, len(upns))
	for i, u := range upns {
		out[i].UPN = u
	}
	return out
}

// NewJobID returns a random job id.
func NewJobID() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// CreateBulkJob verifies a file and stores it as a planned job, waiting for the admin's confirmation.
func (s *Service) CreateBulkJob(ctx context.Context, actor Actor, fileName string, r io.Reader, lim CSVLimits, reason string) (*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	// A reason may also be given when the job is confirmed; a required one is checked then.
	reason = truncate(strings.TrimSpace(reason), MaxReasonLen)
	now := s.now().UTC()
	job := &Job{ID: NewJobID(), Status: JobPlanned, FileName: truncate(fileName, 200), Actor: actor, Reason: reason, CreatedAt: now, UpdatedAt: now}
	err := s.Jobs.CreateJob(ctx, job, func(add func([]BulkRow) error) error {
		// Planning (reading the file, looking users up) and storing the planned rows run side by
		// side, on a reader and on the writer: a million-row file is verified in less time.
		planCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		batches := make(chan []BulkRow, 4)
		var plan BulkPlan
		var planErr error
		go func() {
			defer close(batches)
			plan, planErr = s.PlanBulkFile(planCtx, actor, r, lim, func(rows []BulkRow) error {
				select {
				case batches <- rows:
					return nil
				case <-planCtx.Done():
					return planCtx.Err()
				}
			})
		}()
		var addErr error
		for rows := range batches {
			if addErr == nil {
				if addErr = add(rows); addErr != nil {
					cancel() // stop planning, then drain what it already sent
				}
			}
		}
		if addErr != nil {
			return addErr
		}
		job.Counts, job.Total, job.Notice = plan.Counts, plan.Counts.Valid(), plan.Notice
		return planErr
	})
	if err != nil {
		return nil, err
	}
	return job, nil
}

// StartBulkJob confirms a planned job: it is queued and the runner applies its valid rows.
func (s *Service) StartBulkJob(ctx context.Context, actor Actor, id, reason string) (*Job, error) {
	job, err := s.jobFor(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	if s.planExpired(job) {
		return nil, Errorf(EINVALID, "this verified file waited more than %s to be applied and has expired: upload it again", s.planTTL())
	}
	if reason != "" || s.RequireReason {
		if reason, err = s.checkReason(reason); err != nil {
			return nil, err
		}
		job.Reason = reason
	}
	if err := s.Jobs.QueueJob(ctx, id, job.Reason, s.now()); err != nil {
		return nil, err
	}
	rec := NewAuditRecord(actor, SourceBulk(id), job.Reason, s.now())
	rec.Action, rec.Target = AuditBulkStart, "bulk:"+id
	rec.After = summarizeCounts(job)
	if err := s.Audit.AppendAudit(ctx, &rec); err != nil {
		return nil, err
	}
	if s.Wake != nil {
		s.Wake()
	}
	return s.Jobs.FindJob(ctx, id)
}

func summarizeCounts(j *Job) string {
	c := j.Counts
	return fmt.Sprintf("file %s: %d to enable, %d to enforce, %d to disable, %d unchanged, %d errors",
		j.FileName, c.Enable, c.Enforce, c.Disable, c.Unchanged, c.Errors)
}

// CancelBulkJob stops a job: a planned or queued job at once, a running one after its current batch.
func (s *Service) CancelBulkJob(ctx context.Context, actor Actor, id string) (*Job, error) {
	if _, err := s.jobFor(ctx, actor, id); err != nil {
		return nil, err
	}
	job, err := s.Jobs.RequestCancel(ctx, id, s.now())
	if err != nil {
		return nil, err
	}
	rec := NewAuditRecord(actor, SourceBulk(id), "", s.now())
	rec.Action, rec.Target, rec.After = AuditBulkCancel, "bulk:"+id, fmt.Sprintf("cancel requested after %d of %d rows", job.Done, job.Total)
	if err := s.Audit.AppendAudit(ctx, &rec); err != nil {
		return nil, err
	}
	return job, nil
}

// DiscardBulkJob removes a planned job (the wizard's Back): its owner or a global admin, audited.
func (s *Service) DiscardBulkJob(ctx context.Context, actor Actor, id string) error {
	job, err := s.jobFor(ctx, actor, id)
	if err != nil {
		return err
	}
	if job.Status != JobPlanned {
		return Errorf(ECONFLICT, "this bulk update has already started: cancel it instead")
	}
	if err := s.Jobs.DeleteJob(ctx, id); err != nil {
		return err
	}
	rec := NewAuditRecord(actor, SourceBulk(id), "", s.now())
	rec.Action, rec.Target, rec.Before = AuditBulkDiscard, "bulk:"+id, summarizeCounts(job)
	return s.Audit.AppendAudit(ctx, &rec)
}

// GetBulkJob returns a job the actor may see.
func (s *Service) GetBulkJob(ctx context.Context, actor Actor, id string) (*Job, error) {
	j, err := s.jobFor(ctx, actor, id)
	if err != nil {
		return nil, err
	}
	s.live.overlay(j)
	return j, nil
}

// BulkJobRows returns rows of a job the actor may see.
func (s *Service) BulkJobRows(ctx context.Context, actor Actor, id string, f RowFilter) ([]BulkRow, error) {
	if _, err := s.jobFor(ctx, actor, id); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > MaxLimit {
		f.Limit = DefaultLimit
	}
	return s.Jobs.JobRows(ctx, id, f)
}

// ListBulkJobs returns the newest jobs the actor may see (a global admin's: everyone's).
func (s *Service) ListBulkJobs(ctx context.Context, actor Actor, limit int) ([]*Job, error) {
	if err := actor.Require(PermBulkUpdate); err != nil {
		return nil, err
	}
	fetch := limit
	if actor.Role != RoleGlobalAdmin {
		fetch = max(limit*10, 200) // others' jobs are left out below
	}
	jobs, err := s.Jobs.ListJobs(ctx, fetch)
	if err != nil {
		return nil, err
	}
	out := jobs[:0]
	for _, j := range jobs {
		if mayActOnJob(actor, j) && len(out) < limit {
			s.live.overlay(j)
			out = append(out, j)
		}
	}
	return out, nil
}

// BulkRunner applies queued jobs one at a time, in the order they were confirmed, so that two jobs
// touching the same users never interleave. A job survives a restart: rows are applied in batches
// and each batch's outcomes are stored; on start the runner resumes where it stopped.
type BulkRunner struct {
	Service   *Service
	BatchSize int // the most rows a batch; default 500
	// BatchTime, if set, sizes the batches to take about this long each (from 100 rows up to
	// BatchSize), so that a batch (one transaction on the embedded directory) holds other writers
	// up and delays a cancel about that long at most, whatever the machine. Larger batches are
	// cheaper a row (an index page shared by rows of a batch is written once); the progress shown
	// moves during a batch all the same.
	BatchTime time.Duration
	// LiveProgress counts the rows of a batch in the job's progress as the directory runs them
	// through the rules, before the batch commits: right where that is the change itself (the
	// embedded directory: one transaction a batch), so that the progress bar moves during a long
	// batch; not where the writes are sent afterwards (Graph).
	LiveProgress bool
	OnError      func(msg string, err error) // internal errors, for the log
	wake         chan struct{}
}

// NewBulkRunner makes a runner for the service's jobs and sets the service to wake it when a job
// is queued.
func NewBulkRunner(s *Service, onError func(msg string, err error)) *BulkRunner {
	r := &BulkRunner{Service: s, OnError: onError, wake: make(chan struct{}, 1)}
	s.Wake = r.Wake
	return r
}

// Wake tells the runner a job is waiting.
func (r *BulkRunner) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run applies jobs until ctx is cancelled; a job interrupted by the cancel stays "running" and
// resumes at the next Run.
func (r *BulkRunner) Run(ctx context.Context) {
	for ctx.Err() == nil {
		job, err := r.Service.Jobs.NextJob(ctx)
		if err != nil && ctx.Err() == nil {
			r.report("finding the next bulk job", err)
		}
		if job == nil || err != nil {
			select {
			case <-ctx.Done():
				return
			case <-r.wake:
			case <-time.After(5 * time.Second):
			}
			continue
		}
		if err := r.RunJob(ctx, job.ID); err != nil && ctx.Err() == nil {
			r.report("bulk job "+job.ID, err)
			select { // do not spin on a job that keeps failing
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
}

func (r *BulkRunner) report(msg string, err error) {
	if r.OnError != nil {
		r.OnError(msg, err)
	}
}

// RunJob applies one job's pending rows until it is done, cancelled, or ctx is cancelled.
func (r *BulkRunner) RunJob(ctx context.Context, id string) error {
	s := r.Service
	// Database work must not be cut in the middle by a cancel: stop between batches instead.
	work := context.WithoutCancel(ctx)
	job, err := s.Jobs.FindJob(work, id)
	if err != nil {
		return err
	}
	resumed := job.Status == JobRunning
	if job.Status == JobQueued {
		if err := s.Jobs.SetJobStatus(work, id, []JobStatus{JobQueued}, JobRunning, s.now()); err != nil {
			return err
		}
	} else if job.Status != JobRunning {
		return nil
	}
	maxSize := r.BatchSize
	if maxSize <= 0 {
		maxSize = 500
	}
	size := maxSize
	if r.BatchTime > 0 {
		size = min(maxSize, minBatch*10)
	}
	// Every row up to after has its outcome: a batch either gets all its outcomes or ends the run
	// (the directory could not be reached), and the next run starts from the beginning.
	var after int64
	// The next batch's rows are read while this one is applied (on another connection, from rows
	// this batch does not touch).
	type fetched struct {
		rows []BulkRow
		err  error
		size int // the rows asked for: fewer came back at the end
	}
	var prefetch chan fetched
	fetch := func(after int64, size int) chan fetched {
		c := make(chan fetched, 1)
		go func() {
			rows, err := s.Jobs.PendingRows(work, id, after, size)
			c <- fetched{rows, err, size}
		}()
		return c
	}
	for {
		if ctx.Err() != nil {
			return nil // paused; resumes later
		}
		job, err = s.Jobs.FindJob(work, id)
		if err != nil {
			return err
		}
		if job.CancelRequested {
			return s.Jobs.SetJobStatus(work, id, []JobStatus{JobRunning}, JobCancelled, s.now())
		}
		if prefetch == nil {
			prefetch = fetch(after, size)
		}
		f := <-prefetch
		prefetch = nil
		rows, err := f.rows, f.err
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return s.Jobs.SetJobStatus(work, id, []JobStatus{JobRunning}, JobDone, s.now())
		}
		full := len(rows) == f.size
		after = rows[len(rows)-1].Seq
		if full {
			prefetch = fetch(after, size)
		}
		if resumed {
			// The batch being applied when the process stopped may have been applied without its
			// outcomes being stored: a change recorded in the audit log under this job counts as done.
			// That batch may have been larger than this one (batches grow to BatchTime): look on
			// while a batch finds rows applied.
			resumed = r.markApplied(work, job, rows)
		}
		started := time.Now() // the machine's time, not the domain's (s.now): a measure of speed
		applyErr := s.applyRows(work, job, rows, r.OnError, r.LiveProgress)
		err = s.Jobs.RecordOutcomes(work, id, rows, s.now())
		s.live.reset(id) // after the commit: the stored counters now count the batch
		if err != nil {
			return err
		}
		if took := time.Since(started); r.BatchTime > 0 && full && took > 0 {
			// At most doubling, so that one fast batch (rows already applied) does not overshoot.
			// The batch read meanwhile has the size before: batches follow one behind.
			next := int(float64(len(rows)) * float64(r.BatchTime) / float64(took))
			size = max(minBatch, min(next, 2*len(rows), maxSize))
		}
		if applyErr != nil {
			// The directory cannot be reached: the rows not applied stay pending, the job's page
			// says why it waits, and Run tries the job again later.
			if err := s.Jobs.SetJobPaused(work, id, "paused: "+ErrorMessage(applyErr)+" — trying again shortly", s.now()); err != nil {
				return err
			}
			return applyErr
		}
		if job.PausedReason != "" {
			if err := s.Jobs.SetJobPaused(work, id, "", s.now()); err != nil {
				return err
			}
		}
	}
}

// BatchSizer is implemented by directories whose bulk batches are best sized otherwise than the
// embedded directory's (serve's BatchSize and BatchTime): a store where a batch's transaction holds
// up no one but the writers of its own users, and a batch costs a fixed amount on top of its rows.
type BatchSizer interface {
	BulkBatch() (size int, took time.Duration)
}

// SizeBatchesFor sets BatchSize and BatchTime from dir if it is a BatchSizer.
func (r *BulkRunner) SizeBatchesFor(dir any) {
	if s, ok := dir.(BatchSizer); ok {
		r.BatchSize, r.BatchTime = s.BulkBatch()
	}
}

// minBatch is the smallest batch BatchTime makes.
const minBatch = 100

// markApplied sets the outcome of rows already applied by this job (found in the audit log), and
// answers whether it found any.
func (r *BulkRunner) markApplied(ctx context.Context, job *Job, rows []BulkRow) bool {
	found := false
	for i := range rows {
		page, err := r.Service.Audit.FindAudit(ctx, AuditFilter{Target: rows[i].Username, Limit: 20})
		if err != nil {
			continue
		}
		for _, rec := range page.Records {
			if rec.Source == SourceBulk(job.ID) && rec.Action != AuditResetUser {
				rows[i].Outcome, rows[i].Message = OutcomeChanged, "applied before a restart"
				found = true
				break
			}
		}
	}
	return found
}

// applyRows applies rows without an outcome yet and sets each row's outcome. When the directory
// fails as a whole (a BatchUpdater's error: unreachable, credentials refused), the rows it did not
// get to keep no outcome and the error is returned, so the job pauses instead of failing them.
func (s *Service) applyRows(ctx context.Context, job *Job, rows []BulkRow, onError func(string, error), live bool) error {
	outcome := func(row *BulkRow, changed bool, after *User, err error) {
		switch {
		case err != nil:
			row.Outcome, row.Message = outcomeOf(err)
			if row.Outcome == OutcomeError && onError != nil {
				onError("bulk row "+row.Username, err)
			}
		case changed:
			row.Outcome, row.Message = OutcomeChanged, after.State.Label()
		default:
			row.Outcome, row.Message = OutcomeUnchanged, "already "+after.State.Label()
		}
	}
	if bu := s.batch; bu != nil {
		var idx []int
		var refs []UserRef
		for i := range rows {
			if rows[i].Outcome == "" {
				idx, refs = append(idx, i), append(refs, UserRef{UPN: rows[i].Username, ID: rows[i].UserID})
			}
		}
		if len(refs) == 0 {
			return nil
		}
		changed := make([]bool, len(refs))
		befores := make([]*User, len(refs))
		users, errs, err := bu.UpdateUsers(ctx, refs, func(i int, u *User) (*AuditRecord, error) {
			rec, err := s.stateUpdate(job.Actor, bulkStateRequest(job, rows[idx[i]]), job.Reason, &befores[i], &changed[i])(u)
			switch {
			case !live:
			case err != nil:
				s.live.add(job.ID, 0, 0, 1)
			case rec != nil:
				s.live.add(job.ID, 1, 0, 0)
			default:
				s.live.add(job.ID, 0, 1, 0)
			}
			return rec, err
		})
		var moved []string // users the batch changed, whose exemptions end (endExemptionsOf)
		var movedTo []State
		for k, i := range idx {
			switch {
			case k < len(errs) && errs[k] != nil:
				outcome(&rows[i], false, nil, errs[k])
			case k < len(users) && users[k] != nil:
				outcome(&rows[i], changed[k], users[k], nil)
				if changed[k] {
					moved, movedTo = append(moved, users[k].UPN), append(movedTo, users[k].State)
				}
			case err == nil:
				outcome(&rows[i], false, nil, Errorf(EINTERNAL, "the directory answered nothing for %s", rows[i].Username))
			}
		}
		if xerr := s.endExemptionsOf(ctx, job.Actor, SourceBulk(job.ID), moved, movedTo); xerr != nil && onError != nil {
			onError("ending the exemptions of users the bulk update changed", xerr) // see setState
		}
		return err
	}
	for i := range rows {
		if rows[i].Outcome != "" {
			continue
		}
		after, _, changed, err := s.setState(ctx, job.Actor, bulkStateRequest(job, rows[i]))
		outcome(&rows[i], changed, after, err)
	}
	return nil
}
