package sqlite

import (
	"context"
	"time"
)

// DeletePlannedBefore removes the planned jobs created before before (their rows go with them).
func (d *DB) DeletePlannedBefore(ctx context.Context, before time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM bulk_jobs WHERE status = 'planned' AND created_at < ?", toMillis(before))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
