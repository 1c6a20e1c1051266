package postgres

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

const jobColumns = `id, status, file_name, actor, actor_role, actor_method, client_ip, reason, n_enable, n_enforce, n_disable,
	n_unchanged, n_errors, total, done, changed, unchanged, failed, cancel_requested, created_at, started_at, finished_at, updated_at,
	paused_reason, notice, undo_of`

func scanJob(sc pgx.Row) (*mfa.Job, error) {
	var j mfa.Job
	var status, role string
	var created, started, finished, updated int64
	if err := sc.Scan(&j.ID, &status, &j.FileName, &j.Actor.Name, &role, &j.Actor.Method, &j.Actor.IP, &j.Reason,
		&j.Counts.Enable, &j.Counts.Enforce, &j.Counts.Disable, &j.Counts.Unchanged, &j.Counts.Errors, &j.Total, &j.Done,
		&j.Changed, &j.Unchanged, &j.Failed, &j.CancelRequested, &created, &started, &finished, &updated, &j.PausedReason, &j.Notice, &j.UndoOf); err != nil {
		return nil, err
	}
	j.Status, j.Actor.Role = mfa.JobStatus(status), mfa.Role(role)
	j.CreatedAt, j.StartedAt, j.FinishedAt, j.UpdatedAt = fromMillis(created), fromMillis(started), fromMillis(finished), fromMillis(updated)
	return &j, nil
}

// CreateJob stores a planned job and its rows in one transaction, the rows by one COPY as they are
// planned (rowCopy).
func (d *DB) CreateJob(ctx context.Context, j *mfa.Job, write func(add func([]mfa.BulkRow) error) error) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO bulk_jobs (id, status, file_name, actor, actor_role, actor_method, client_ip,
			reason, n_enable, n_enforce, n_disable, n_unchanged, n_errors, total, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 0, 0, 0, 0, 0, $9, $10)`,
			j.ID, string(j.Status), j.FileName, j.Actor.Name, string(j.Actor.Role), j.Actor.Method, j.Actor.IP, j.Reason,
			toMillis(j.CreatedAt), toMillis(j.UpdatedAt)); err != nil {
			return err
		}
		rows := startRowCopy(ctx, tx, j.ID)
		err := write(rows.add)
		if end := rows.finish(); err == nil {
			err = end
		}
		if err != nil {
			return err
		}
		if err := analyzeRows(ctx, tx, rows.n); err != nil {
			return err
		}
		c := j.Counts
		_, err = tx.Exec(ctx, `UPDATE bulk_jobs SET n_enable = $1, n_enforce = $2, n_disable = $3, n_unchanged = $4, n_errors = $5,
			total = $6, notice = $7, undo_of = $8 WHERE id = $9`, c.Enable, c.Enforce, c.Disable, c.Unchanged, c.Errors, j.Total, j.Notice,
			j.UndoOf, j.ID)
		return err
	})
}

// analyzeRows gives the planner statistics of bulk_rows when a job stored many rows. Until
// autovacuum gets to it (a minute or more after the commit), the planner takes a large new job for
// a few rows: it read the job's pending rows by sorting every row after the last one applied (0.6 s
// a batch at a million rows, 50 s of a job) instead of along the primary key (15 ms). A small sample
// (3,000 rows, 0.15 s at a million) is enough to tell the job's rows and states apart; ANALYZE
// counts this transaction's own rows.
func analyzeRows(ctx context.Context, tx pgx.Tx, written int) error {
	if written < 10000 {
		return nil
	}
	if _, err := tx.Exec(ctx, "SET LOCAL default_statistics_target = 10"); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "ANALYZE bulk_rows")
	return err
}

// parseID is a user's id in users, 0 if id is not one.
func parseID(id string) int64 {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

func notFoundJob(id string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return mfa.Errorf(mfa.ENOTFOUND, "no bulk update %q", id)
	}
	return err
}

// FindJob returns a job by id.
func (d *DB) FindJob(ctx context.Context, id string) (*mfa.Job, error) {
	j, err := scanJob(d.pool.QueryRow(ctx, "SELECT "+jobColumns+" FROM bulk_jobs WHERE id = $1", id))
	return j, notFoundJob(id, err)
}

// ListJobs returns the newest jobs first.
func (d *DB) ListJobs(ctx context.Context, limit int) ([]*mfa.Job, error) {
	rows, err := d.pool.Query(ctx, "SELECT "+jobColumns+" FROM bulk_jobs ORDER BY created_at DESC LIMIT $1", limit)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mfa.Job, error) { return scanJob(r) })
}

const rowColumns = "seq, line, username, from_state, to_state, action, error, warnings, outcome, message, user_id"

func (d *DB) queryRows(ctx context.Context, q string, args ...any) ([]mfa.BulkRow, error) {
	rows, err := d.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.BulkRow
	for rows.Next() {
		var r mfa.BulkRow
		var from, to, action, warnings, outcome string
		var userID int64
		if err := rows.Scan(&r.Seq, &r.Line, &r.Username, &from, &to, &action, &r.Error, &warnings, &outcome, &r.Message, &userID); err != nil {
			return nil, err
		}
		if userID > 0 {
			r.UserID = strconv.FormatInt(userID, 10)
		}
		r.From, r.To, r.Action, r.Outcome = stateOf(from), stateOf(to), mfa.RowAction(action), mfa.Outcome(outcome)
		r.Warnings = mfa.DecodeWarnings(warnings)
		out = append(out, r)
	}
	return out, rows.Err()
}

// JobRows returns rows in seq order after f.AfterSeq, by the index that fits the filter.
func (d *DB) JobRows(ctx context.Context, id string, f mfa.RowFilter) ([]mfa.BulkRow, error) {
	cond := ""
	switch {
	case f.Errors:
		cond = " AND action = 'error'"
	case f.Problems:
		cond = " AND (error <> '' OR warnings <> '')"
	}
	return d.queryRows(ctx, "SELECT "+rowColumns+" FROM bulk_rows WHERE job_id = $1 AND seq > $2"+cond+" ORDER BY seq LIMIT $3", id, f.AfterSeq, f.Limit)
}

// PendingRows returns applicable rows without an outcome after afterSeq, along the primary key.
func (d *DB) PendingRows(ctx context.Context, id string, afterSeq int64, limit int) ([]mfa.BulkRow, error) {
	return d.queryRows(ctx, "SELECT "+rowColumns+` FROM bulk_rows
		WHERE job_id = $1 AND seq > $2 AND outcome = '' AND action IN ('enable', 'enforce', 'disable') ORDER BY seq LIMIT $3`, id, afterSeq, limit)
}

// RecordOutcomes stores outcomes (one statement for the batch) and advances the counters by the
// rows that had none yet: a row recorded before a take-over is not counted twice.
func (d *DB) RecordOutcomes(ctx context.Context, id string, rows []mfa.BulkRow, at time.Time) error {
	var seqs []int64
	var outcomes, messages []string
	for _, r := range rows {
		if r.Outcome != "" {
			seqs, outcomes, messages = append(seqs, r.Seq), append(outcomes, string(r.Outcome)), append(messages, r.Message)
		}
	}
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `WITH recorded AS (
				UPDATE bulk_rows b SET outcome = v.outcome, message = v.message
				FROM unnest($2::bigint[], $3::text[], $4::text[]) AS v (seq, outcome, message)
				WHERE b.job_id = $1 AND b.seq = v.seq AND b.outcome = ''
				RETURNING b.outcome)
			UPDATE bulk_jobs j SET done = j.done + r.done, changed = j.changed + r.changed, unchanged = j.unchanged + r.unchanged,
				failed = j.failed + r.failed, updated_at = $5
			FROM (SELECT count(*) AS done, count(*) FILTER (WHERE outcome = $6) AS changed,
				count(*) FILTER (WHERE outcome = $7) AS unchanged,
				count(*) FILTER (WHERE outcome NOT IN ($6, $7)) AS failed FROM recorded) r
			WHERE j.id = $1`, id, seqs, outcomes, messages, toMillis(at), string(mfa.OutcomeChanged), string(mfa.OutcomeUnchanged))
		return err
	})
}

// lockJob reads a job's status, locking its row for the transaction.
func lockJob(ctx context.Context, tx pgx.Tx, id string) (mfa.JobStatus, error) {
	var cur string
	err := tx.QueryRow(ctx, "SELECT status FROM bulk_jobs WHERE id = $1 FOR UPDATE", id).Scan(&cur)
	return mfa.JobStatus(cur), notFoundJob(id, err)
}

// SetJobStatus moves a job between statuses.
func (d *DB) SetJobStatus(ctx context.Context, id string, from []mfa.JobStatus, to mfa.JobStatus, at time.Time) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		cur, err := lockJob(ctx, tx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(from, cur) {
			return mfa.Errorf(mfa.ECONFLICT, "this bulk update is %s, not %s", cur, from[0])
		}
		ms := toMillis(at)
		switch to {
		case mfa.JobQueued:
			_, err = tx.Exec(ctx, "UPDATE bulk_jobs SET status = $1, updated_at = $2, queued_at = $2 WHERE id = $3", string(to), ms, id)
		case mfa.JobRunning:
			_, err = tx.Exec(ctx, "UPDATE bulk_jobs SET status = $1, updated_at = $2, started_at = CASE started_at WHEN 0 THEN $2 ELSE started_at END WHERE id = $3", string(to), ms, id)
		case mfa.JobDone, mfa.JobCancelled:
			_, err = tx.Exec(ctx, "UPDATE bulk_jobs SET status = $1, updated_at = $2, finished_at = $2 WHERE id = $3", string(to), ms, id)
		default:
			_, err = tx.Exec(ctx, "UPDATE bulk_jobs SET status = $1, updated_at = $2 WHERE id = $3", string(to), ms, id)
		}
		return err
	})
}

// SetJobPaused records why a running job waits.
func (d *DB) SetJobPaused(ctx context.Context, id, reason string, at time.Time) error {
	_, err := d.pool.Exec(ctx, "UPDATE bulk_jobs SET paused_reason = $1, updated_at = $2 WHERE id = $3", reason, toMillis(at), id)
	return err
}

// QueueJob queues a planned job with its reason.
func (d *DB) QueueJob(ctx context.Context, id, reason string, at time.Time) error {
	tag, err := d.pool.Exec(ctx, "UPDATE bulk_jobs SET status = 'queued', reason = $1, queued_at = $2, updated_at = $2 WHERE id = $3 AND status = 'planned'",
		reason, toMillis(at), id)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		if _, err := d.FindJob(ctx, id); err != nil {
			return err
		}
		return mfa.Errorf(mfa.ECONFLICT, "this bulk update was already started or cancelled")
	}
	return nil
}

// RequestCancel cancels a planned or queued job at once and marks a running one to stop.
func (d *DB) RequestCancel(ctx context.Context, id string, at time.Time) (*mfa.Job, error) {
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		cur, err := lockJob(ctx, tx, id)
		if err != nil {
			return err
		}
		ms := toMillis(at)
		switch cur {
		case mfa.JobPlanned, mfa.JobQueued:
			_, err := tx.Exec(ctx, "UPDATE bulk_jobs SET status = 'cancelled', cancel_requested = true, finished_at = $1, updated_at = $1 WHERE id = $2", ms, id)
			return err
		case mfa.JobRunning:
			_, err := tx.Exec(ctx, "UPDATE bulk_jobs SET cancel_requested = true, updated_at = $1 WHERE id = $2", ms, id)
			return err
		}
		return mfa.Errorf(mfa.ECONFLICT, "this bulk update has already ended (%s)", cur)
	})
	if err != nil {
		return nil, err
	}
	return d.FindJob(ctx, id)
}

// NextJob returns the oldest queued or running job.
func (d *DB) NextJob(ctx context.Context) (*mfa.Job, error) {
	j, err := scanJob(d.pool.QueryRow(ctx, "SELECT "+jobColumns+" FROM bulk_jobs WHERE status IN ('queued', 'running') ORDER BY queued_at LIMIT 1"))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	return j, err
}

// DeleteJob removes a planned job and its rows.
func (d *DB) DeleteJob(ctx context.Context, id string) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM bulk_jobs WHERE id = $1 AND status = 'planned'", id)
	return err
}
