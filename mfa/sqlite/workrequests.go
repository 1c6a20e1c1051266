package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.WorkRequestStore = (*DB)(nil)

// RequestWork records a request for name unless one waits.
func (d *DB) RequestWork(ctx context.Context, name string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO work_requests (name, requested_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
		name, toMillis(at))
	return err
}

// WorkRequested answers when the waiting request for name was made, zero if none.
func (d *DB) WorkRequested(ctx context.Context, name string) (time.Time, error) {
	var at int64
	err := d.db.QueryRowContext(ctx, "SELECT requested_at FROM work_requests WHERE name = ?", name).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromMillis(at), err
}

// TakeWorkRequest removes the waiting request for name.
func (d *DB) TakeWorkRequest(ctx context.Context, name string) (bool, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM work_requests WHERE name = ?", name)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
