package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.WorkRequestStore = (*DB)(nil)

// RequestWork records a request for name unless one waits.
func (d *DB) RequestWork(ctx context.Context, name string, at time.Time) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO work_requests (name, requested_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
		name, toMillis(at))
	return err
}

// WorkRequested answers when the waiting request for name was made, zero if none.
func (d *DB) WorkRequested(ctx context.Context, name string) (time.Time, error) {
	var at int64
	err := d.pool.QueryRow(ctx, "SELECT requested_at FROM work_requests WHERE name = $1", name).Scan(&at)
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return fromMillis(at), err
}

// TakeWorkRequest removes the waiting request for name; of replicas taking it at once, one gets it.
func (d *DB) TakeWorkRequest(ctx context.Context, name string) (bool, error) {
	tag, err := d.pool.Exec(ctx, "DELETE FROM work_requests WHERE name = $1", name)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() > 0, nil
}
