package postgres

import (
	"context"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// The state of the remote directory's sync (mfa.ExternalIndex): one row of directory_sync, which
// every replica reads (the sync itself runs on the one holding its lease).

// SyncState returns the state of the sync and the generation of the running or last full sync.
func (d *DB) SyncState(ctx context.Context) (mfa.SyncStatus, int64, error) {
	var st mfa.SyncStatus
	var gen, started, last, errAt int64
	err := d.pool.QueryRow(ctx, `SELECT running, generation, started_at, last_sync, done, total, last_error, last_error_at
		FROM directory_sync WHERE id = 1`).Scan(&st.Running, &gen, &started, &last, &st.Done, &st.Total, &st.LastError, &errAt)
	st.StartedAt, st.LastSync, st.LastErrorAt = fromMillis(started), fromMillis(last), fromMillis(errAt)
	return st, gen, err
}

// BeginSync records that the full sync gen started at at.
func (d *DB) BeginSync(ctx context.Context, gen int64, at time.Time) error {
	_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET running = true, generation = $1, started_at = $2, done = 0, total = 0 WHERE id = 1",
		gen, toMillis(at))
	return err
}

// SetSyncProgress records how many users the running sync has read, of how many.
func (d *DB) SetSyncProgress(ctx context.Context, done, total int) error {
	_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET done = $1, total = $2 WHERE id = 1", done, total)
	return err
}

// FinishSync records the end of the running sync at at: complete when errMsg is "", failed with
// errMsg otherwise (the time of the last complete sync is then kept).
func (d *DB) FinishSync(ctx context.Context, at time.Time, errMsg string) error {
	if errMsg == "" {
		_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET running = false, last_sync = $1, last_error = '', last_error_at = 0 WHERE id = 1", toMillis(at))
		return err
	}
	_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET running = false, last_error = $1, last_error_at = $2 WHERE id = 1", errMsg, toMillis(at))
	return err
}

// FinishSyncWithWarning records the end of the running sync at at as complete, with a warning shown
// like an error (a part of the directory could not be read and is kept as last read).
func (d *DB) FinishSyncWithWarning(ctx context.Context, at time.Time, warning string) error {
	_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET running = false, last_sync = $1, last_error = $2, last_error_at = $1 WHERE id = 1",
		toMillis(at), warning)
	return err
}

// SetDirectoryError records a failure to reach the directory outside a sync ("" clears it).
func (d *DB) SetDirectoryError(ctx context.Context, msg string, at time.Time) error {
	if msg == "" {
		_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET last_error = '', last_error_at = 0 WHERE id = 1 AND last_error <> ''")
		return err
	}
	_, err := d.pool.Exec(ctx, "UPDATE directory_sync SET last_error = $1, last_error_at = $2 WHERE id = 1", msg, toMillis(at))
	return err
}
