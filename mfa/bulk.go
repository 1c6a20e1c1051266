package mfa

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// BulkTemplate is the file offered for download on the wizard's first step.
const BulkTemplate = "Username,MFA Status\r\nadele.vance@contoso.com,Enabled\r\nalex.wilber@contoso.com,Enforced\r\n"

// RowAction is what a bulk row will do (SPEC §5's "action").
type RowAction string

// The actions of a planned row.
const (
	RowEnable    RowAction = "enable"
	RowEnforce   RowAction = "enforce"
	RowDisable   RowAction = "disable"
	RowUnchanged RowAction = "unchanged"
	RowError     RowAction = "error"
)

// BulkRow is one row of a bulk file, planned and later applied.
type BulkRow struct {
	Seq      int64 // 1.. in file order, among data rows
	Line     int   // the file's own line number
	Username string
	UserID   string // the directory's id of the user the row was planned against; "" if none
	From     State  // current state when planned; "" if unknown
	To       State  // requested state; "" if invalid
	Action   RowAction
	Error    string   // why the row is refused
	Warnings []string // what is risky about it
	// Outcome and Message are set when the row has been applied.
	Outcome Outcome
	Message string

	key string // NormalizeUPN(Username), while planning
}

// Applies reports whether the row is to be applied (not an error, not already so).
func (r *BulkRow) Applies() bool {
	return r.Action == RowEnable || r.Action == RowEnforce || r.Action == RowDisable
}

// BulkCounts count a plan's rows by action (SPEC §5's "counts").
type BulkCounts struct {
	Enable    int `json:"enable"`
	Enforce   int `json:"enforce"`
	Disable   int `json:"disable"`
	Unchanged int `json:"unchanged"`
	Errors    int `json:"errors"`
}

// Add counts a row.
func (c *BulkCounts) Add(a RowAction) {
	switch a {
	case RowEnable:
		c.Enable++
	case RowEnforce:
		c.Enforce++
	case RowDisable:
		c.Disable++
	case RowUnchanged:
		c.Unchanged++
	default:
		c.Errors++
	}
}

// Total is the number of rows.
func (c BulkCounts) Total() int { return c.Enable + c.Enforce + c.Disable + c.Unchanged + c.Errors }

// Valid is the number of rows that will be applied.
func (c BulkCounts) Valid() int { return c.Enable + c.Enforce + c.Disable }

// JobStatus is the life of a bulk job.
type JobStatus string

// The statuses of a job. A planned job is a verified file waiting for the admin's confirmation.
const (
	JobPlanned   JobStatus = "planned"
	JobQueued    JobStatus = "queued"
	JobRunning   JobStatus = "running"
	JobDone      JobStatus = "done"
	JobCancelled JobStatus = "cancelled"
)

// Job is a bulk update: the verified file, then its progress.
type Job struct {
	ID        string
	Status    JobStatus
	FileName  string
	Actor     Actor
	Reason    string
	Counts    BulkCounts
	CreatedAt time.Time
	StartedAt time.Time
	// Progress of the applicable rows.
	Total     int // rows to apply (Counts.Valid())
	Done      int
	Changed   int
	Unchanged int
	Failed    int
	// CancelRequested stops a running job at the next batch.
	CancelRequested bool
	// PausedReason says why a running job is waiting (the directory could not be reached); "" when
	// it runs normally. The runner tries again by itself.
	PausedReason string
	// UndoOf is the job this one undoes (undo.go); "" for a job planned from a file.
	UndoOf string
	// Notice is what the admin should know about how the file was read (CSVReader.Notice).
	Notice     string
	FinishedAt time.Time
	UpdatedAt  time.Time
}

// Finished reports whether the job has ended.
func (j *Job) Finished() bool { return j.Status == JobDone || j.Status == JobCancelled }

// Rate is rows applied a second since the job started, and ETA the time left at that rate.
func (j *Job) Rate(now time.Time) (perSecond float64, eta time.Duration) {
	if j.StartedAt.IsZero() || j.Done == 0 {
		return 0, 0
	}
	end := now
	if j.Finished() && !j.FinishedAt.IsZero() {
		end = j.FinishedAt
	}
	elapsed := end.Sub(j.StartedAt).Seconds()
	if elapsed <= 0 {
		return 0, 0
	}
	perSecond = float64(j.Done) / elapsed
	if left := j.Total - j.Done; left > 0 && perSecond > 0 {
		eta = time.Duration(float64(left) / perSecond * float64(time.Second))
	}
	return perSecond, eta
}

// RowFilter selects rows of a job for the preview, the errors file and the results.
type RowFilter struct {
	AfterSeq int64 // rows after this one (keyset)
	Limit    int
	Problems bool // only rows with an error or a warning
	Errors   bool // only rows in error
}

// JobStore keeps bulk jobs and their rows, so that a job survives a restart.
type JobStore interface {
	// CreateJob stores a planned job; write is called with a function that appends rows (in Seq
	// order), so that a million-row plan never sits in memory. All or nothing.
	CreateJob(ctx context.Context, j *Job, write func(add func([]BulkRow) error) error) error
	// FindJob returns a job; ENOTFOUND if there is none.
	FindJob(ctx context.Context, id string) (*Job, error)
	// ListJobs returns the newest jobs.
	ListJobs(ctx context.Context, limit int) ([]*Job, error)
	// JobRows returns rows of a job in Seq order.
	JobRows(ctx context.Context, id string, f RowFilter) ([]BulkRow, error)
	// PendingRows returns up to limit applicable rows that have no outcome yet, after the row
	// afterSeq (0: from the start), in Seq order.
	PendingRows(ctx context.Context, id string, afterSeq int64, limit int) ([]BulkRow, error)
	// RecordOutcomes stores the outcomes of applied rows and advances the job's counters, atomically.
	RecordOutcomes(ctx context.Context, id string, rows []BulkRow, at time.Time) error
	// QueueJob moves a planned job to queued, with the reason the admin gave; ECONFLICT if not planned.
	QueueJob(ctx context.Context, id, reason string, at time.Time) error
	// SetJobPaused records why a running job is waiting ("" clears it).
	SetJobPaused(ctx context.Context, id, reason string, at time.Time) error
	// SetJobStatus moves a job from one of the statuses from to the status to; ECONFLICT otherwise.
	SetJobStatus(ctx context.Context, id string, from []JobStatus, to JobStatus, at time.Time) error
	// RequestCancel marks a job to stop; a queued or planned job is cancelled at once.
	RequestCancel(ctx context.Context, id string, at time.Time) (*Job, error)
	// NextJob returns the oldest queued or running job, nil if none.
	NextJob(ctx context.Context) (*Job, error)
	// DeleteJob removes a planned job (the admin went back).
	DeleteJob(ctx context.Context, id string) error
	// DeletePlannedBefore removes the planned jobs (never started) created before before, with
	// their rows, and answers how many.
	DeletePlannedBefore(ctx context.Context, before time.Time) (int, error)
}

// bulkColumns are the header names of a bulk update file.
const (
	ColUsername  = "Username"
	ColMFAStatus = "MFA Status"
)

// bulkBatch is how many rows are looked up in the directory at once while planning.
const bulkBatch = 2000

// planLookups is how many batches are looked up in the directory at once while planning: looking
// a million user names up at random is most of a plan's time, and the store serves readers in
// parallel.
const planLookups = 2

// UserLookup finds many users at once by UPN (keys of the map are NormalizeUPN).
type UserLookup interface {
	FindUsersByUPN(ctx context.Context, upns []string) (map[string]*User, error)
}

// PlanUser is what planning a bulk row needs to know of its user.
type PlanUser struct {
	ID         string
	State      State
	Privileged bool
	HasMethods bool
}

// PlanLookup is implemented by directories that find what planning needs faster than whole users
// (a million-row file is a million look-ups). keys are NormalizeUPN, and so are the map's.
type PlanLookup interface {
	LookupForPlan(ctx context.Context, keys []string) (map[string]PlanUser, error)
}

// planLookup adapts a UserLookup to PlanLookup.
type planLookup struct{ UserLookup }

func (l planLookup) LookupForPlan(ctx context.Context, keys []string) (map[string]PlanUser, error) {
	users, err := l.FindUsersByUPN(ctx, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]PlanUser, len(users))
	for k, u := range users {
		out[k] = PlanUser{ID: u.ID, State: u.State, Privileged: u.Privileged, HasMethods: u.HasMethods()}
	}
	return out, nil
}

// planBatch is a batch of rows on its way through PlanBulk: read, looked up, emitted in order.
type planBatch struct {
	rows []BulkRow
	err  error
	done chan struct{} // closed when the rows are planned (or err is set)
}

// PlanBulk reads a bulk update file and checks every row against the directory, calling emit with
// the planned rows in batches, in file order. It refuses a file that cannot be read as a whole (not
// a CSV, no header, no Username or MFA Status column, over the limits) with a message naming what
// was expected and what was found. Nothing is changed.
//
// Reading the file (and finding duplicates), looking the users up (planLookups batches at once)
// and emitting run side by side.
func (s *Service) PlanBulk(ctx context.Context, actor Actor, r io.Reader, lim CSVLimits, emit func([]BulkRow) error) (BulkCounts, error) {
	plan, err := s.PlanBulkFile(ctx, actor, r, lim, emit)
	return plan.Counts, err
}

// BulkPlan is what planning a file found: the counts, and how the file was read.
type BulkPlan struct {
	Counts BulkCounts
	Notice string // CSVReader.Notice: e.g. the file was read as Windows-1252
}

// PlanBulkFile is PlanBulk that also says how the file was read.
func (s *Service) PlanBulkFile(ctx context.Context, actor Actor, r io.Reader, lim CSVLimits, emit func([]BulkRow) error) (BulkPlan, error) {
	var plan BulkPlan
	counts, err := s.planBulk(ctx, actor, r, lim, emit, &plan.Notice)
	plan.Counts = counts
	return plan, err
}

func (s *Service) planBulk(ctx context.Context, actor Actor, r io.Reader, lim CSVLimits, emit func([]BulkRow) error, notice *string) (BulkCounts, error) {
	var counts BulkCounts
	if err := actor.Require(PermBulkUpdate); err != nil {
		return counts, err
	}
	lookup := s.plan
	if lookup == nil {
		return counts, Errorf(EINTERNAL, "the directory cannot look up users in bulk")
	}
	c, err := OpenCSV(r, lim)
	if err != nil {
		return counts, err
	}
	iUser, iStatus := c.Column(ColUsername), c.Column(ColMFAStatus)
	if iUser < 0 || iStatus < 0 {
		return counts, Errorf(EINVALID, "the header must have the columns %q and %q (in any order, any case); found %q",
			ColUsername, ColMFAStatus, truncate(strings.Join(c.Header, string(c.Delimiter)), 200))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ordered := make(chan *planBatch, planLookups+2) // to the emitter, in file order
	work := make(chan *planBatch, planLookups)      // to the look-ups
	var readErr error
	var seq int64
	var wg sync.WaitGroup
	defer wg.Wait() // after the cancel: nothing outlives the call
	wg.Add(1 + planLookups)
	go func() { // the reader
		defer wg.Done()
		defer close(ordered)
		defer close(work)
		readErr = readBulkRows(ctx, c, iUser, iStatus, &seq, func(rows []BulkRow) bool {
			b := &planBatch{rows: rows, done: make(chan struct{})}
			select {
			case ordered <- b:
			case <-ctx.Done():
				return false
			}
			select {
			case work <- b:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	for range planLookups {
		go func() {
			defer wg.Done()
			for b := range work {
				b.err = planBatchRows(ctx, lookup, actor, b.rows)
				close(b.done)
			}
		}()
	}
	var firstErr error
	for b := range ordered {
		if firstErr != nil {
			continue // draining after a failure; the reader stops at the cancel
		}
		select {
		case <-b.done:
		case <-ctx.Done():
			firstErr = ctx.Err()
			continue
		}
		if b.err == nil {
			for i := range b.rows {
				counts.Add(b.rows[i].Action)
			}
			b.err = emit(b.rows)
		}
		if b.err != nil {
			firstErr = b.err
			cancel()
		}
	}
	*notice = c.Notice()
	if firstErr != nil {
		return counts, firstErr
	}
	if readErr != nil {
		return counts, readErr
	}
	if seq == 0 {
		return counts, Errorf(EINVALID, "the file has a header but no rows: add one row per user, e.g. %q", "adele.vance@contoso.com,Enabled")
	}
	return counts, nil
}

// planBatchRows looks up the users of rows that have no action yet (valid, not duplicates) and plans them.
func planBatchRows(ctx context.Context, lookup PlanLookup, actor Actor, rows []BulkRow) error {
	var keys []string
	for _, row := range rows {
		if row.Action == "" {
			keys = append(keys, row.key)
		}
	}
	users, err := lookup.LookupForPlan(ctx, keys)
	if err != nil {
		return err
	}
	for i := range rows {
		if rows[i].Action == "" {
			u, ok := users[rows[i].key]
			if !ok {
				planRow(actor, &rows[i], nil)
			} else {
				planRow(actor, &rows[i], &u)
			}
		}
	}
	return nil
}

// readBulkRows reads the data rows of a bulk file, checks what can be checked without the
// directory (user name, status, duplicates), and hands them to batch bulkBatch at a time (a new
// slice each); it stops early when batch answers false. seq counts the rows read.
func readBulkRows(ctx context.Context, c *CSVReader, iUser, iStatus int, seq *int64, batch func([]BulkRow) bool) error {
	// Each user name seen, with the line and status it first had (packed: line<<2 | status).
	seen := map[string]uint64{}
	statusCode := map[State]uint64{StateDisabled: 0, StateEnabled: 1, StateEnforced: 2}
	codeStatus := [...]State{StateDisabled, StateEnabled, StateEnforced}
	rows := make([]BulkRow, 0, bulkBatch)
	for {
		rec, err := c.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		*seq++
		field := func(i int) string {
			if i < len(rec.Fields) {
				return rec.Fields[i]
			}
			return ""
		}
		// A user name that the export made formula-safe ('+x@contoso.com) is read as the name it is.
		row := BulkRow{Seq: *seq, Line: rec.Line, Username: UnsafeCSVField(field(iUser))}
		st, serr := ParseState(field(iStatus))
		switch {
		case ValidateUPN(row.Username) != nil:
			row.Action, row.Error = RowError, ErrorMessage(ValidateUPN(row.Username))
			if row.Username == "" {
				row.Error = "the user name is empty"
			}
		case serr != nil:
			row.Action, row.Error = RowError, fmt.Sprintf("invalid MFA Status %q: expected Enabled, Enforced or Disabled", truncate(field(iStatus), 40))
			if field(iStatus) == "" {
				row.Error = "the MFA Status is empty: expected Enabled, Enforced or Disabled"
			}
		default:
			row.To = st
			key := NormalizeUPN(row.Username)
			row.key = key
			if prev, dup := seen[key]; dup {
				line, prevTo := prev>>2, codeStatus[prev&3]
				if prevTo != st {
					row.Action, row.Error = RowError, fmt.Sprintf("duplicate: %s is already on line %d with status %s", row.Username, line, prevTo.Label())
				} else {
					row.Action, row.Warnings = RowUnchanged, []string{fmt.Sprintf("duplicate of line %d (same status): ignored", line)}
				}
			} else {
				seen[key] = uint64(rec.Line)<<2 | statusCode[st]
			}
		}
		rows = append(rows, row)
		if len(rows) == bulkBatch {
			if !batch(rows) {
				return ctx.Err()
			}
			rows = make([]BulkRow, 0, bulkBatch)
		}
	}
	if len(rows) > 0 && !batch(rows) {
		return ctx.Err()
	}
	return nil
}

// The warnings of a planned row that do not depend on the row. A store may keep them as their
// index in PlanWarnings (a million-row plan repeats them a million times).
const (
	WarnDisabledToEnforced = "goes from Disabled straight to Enforced"
	WarnNoMethods          = "no registered methods: non-browser apps stop working until the user registers and creates app passwords"
	WarnAdmin              = "holds an admin role"
)

// PlanWarnings lists the fixed warnings; their order is part of stored plans: only append.
var PlanWarnings = []string{WarnDisabledToEnforced, WarnNoMethods, WarnAdmin}

// planRow decides one row's action against the user as the directory has them.
func planRow(actor Actor, row *BulkRow, u *PlanUser) {
	if u == nil {
		row.Action, row.Error = RowError, fmt.Sprintf("unknown user: %s is not in the directory", row.Username)
		return
	}
	row.From, row.UserID = u.State, u.ID
	if u.State == row.To {
		row.Action = RowUnchanged
		return
	}
	// SPEC §3's bulk rule: rows on privileged users are refused (applying a row checks the state
	// change rule on the user again).
	if !actor.Role.CanOn(PermBulkUpdate, u.Privileged) {
		row.Action, row.Error = RowError, fmt.Sprintf("your role (%s) may not change %s, who holds an admin role", actor.Role, row.Username)
		return
	}
	switch row.To {
	case StateEnabled:
		row.Action = RowEnable
	case StateEnforced:
		row.Action = RowEnforce
		if u.State == StateDisabled {
			row.Warnings = append(row.Warnings, WarnDisabledToEnforced)
		}
		if !u.HasMethods {
			row.Warnings = append(row.Warnings, WarnNoMethods)
		}
	default:
		row.Action = RowDisable
	}
	if u.Privileged {
		row.Warnings = append(row.Warnings, WarnAdmin)
	}
}

// BulkStateRequest applies one planned row: the bulk update sets the state the file asks for (as
// the original page's bulk update and Set-MsolUser do), so Disabled → Enforced is allowed here.
func bulkStateRequest(job *Job, row BulkRow) StateRequest {
	return StateRequest{UPN: row.Username, To: row.To, Reason: job.Reason, Source: SourceBulk(job.ID), direct: true}
}
