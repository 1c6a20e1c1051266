package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.StepResultStore = (*DB)(nil)

// ClaimStep inserts op unless it is there: the insert is the claim, so of replicas claiming one
// op at once only one wins.
func (d *DB) ClaimStep(ctx context.Context, op, account string, at time.Time) (bool, error) {
	tag, err := d.pool.Exec(ctx, "INSERT INTO step_results (op, account, at) VALUES ($1, $2, $3) ON CONFLICT (op) DO NOTHING",
		op, account, toMillis(at))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseStep deletes account's unfinished claim of op.
func (d *DB) ReleaseStep(ctx context.Context, op, account string) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM step_results WHERE op = $1 AND account = $2 AND NOT done", op, account)
	return err
}

// FinishStep stores op's result.
func (d *DB) FinishStep(ctx context.Context, op, account string, result []byte, rows int, at time.Time) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO step_results AS s (op, account, at, done, result, rows) VALUES ($1, $2, $3, true, $4, $5)
		ON CONFLICT (op) DO UPDATE SET at = excluded.at, done = true, result = excluded.result, rows = excluded.rows
		WHERE s.account = excluded.account`, op, account, toMillis(at), result, rows)
	return err
}

// StepResult reads op's result.
func (d *DB) StepResult(ctx context.Context, op, account string, since time.Time) ([]byte, bool, error) {
	var result []byte
	err := d.pool.QueryRow(ctx, "SELECT result FROM step_results WHERE op = $1 AND account = $2 AND done AND at >= $3",
		op, account, toMillis(since)).Scan(&result)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	return result, err == nil, err
}

// PruneSteps deletes old ops, then the oldest results beyond maxRows rows.
func (d *DB) PruneSteps(ctx context.Context, before time.Time, maxRows int) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM step_results WHERE at < $1", toMillis(before)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM step_results WHERE op IN (
			SELECT op FROM (SELECT op, row_number() OVER w AS n, sum(rows) OVER w AS total
				FROM step_results WINDOW w AS (ORDER BY at DESC, op DESC)) AS t
			WHERE n > 1 AND total > $1)`, maxRows)
		return err
	})
}
