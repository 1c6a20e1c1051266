package postgres

import (
	"context"
	"time"
)

// DeletePlannedBefore removes the planned jobs created before before (their rows go with them).
func (d *DB) DeletePlannedBefore(ctx context.Context, before time.Time) (int, error) {
	tag, err := d.pool.Exec(ctx, "DELETE FROM bulk_jobs WHERE status = 'planned' AND created_at < $1", toMillis(before))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
