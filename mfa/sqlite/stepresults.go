package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.StepResultStore = (*DB)(nil)

// ClaimStep inserts op unless it is there: the insert is the claim, so only one wins.
func (d *DB) ClaimStep(ctx context.Context, op, account string, at time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, "INSERT INTO step_results (op, account, at) VALUES (?, ?, ?) ON CONFLICT (op) DO NOTHING",
		op, account, toMillis(at))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseStep deletes account's unfinished claim of op.
func (d *DB) ReleaseStep(ctx context.Context, op, account string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM step_results WHERE op = ? AND account = ? AND done = 0", op, account)
	return err
}

// FinishStep stores op's result.
func (d *DB) FinishStep(ctx context.Context, op, account string, result []byte, rows int, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO step_results (op, account, at, done, result, rows) VALUES (?, ?, ?, 1, ?, ?)
		ON CONFLICT (op) DO UPDATE SET at = excluded.at, done = 1, result = excluded.result, rows = excluded.rows
		WHERE step_results.account = excluded.account`, op, account, toMillis(at), result, rows)
	return err
}

// StepResult reads op's result.
func (d *DB) StepResult(ctx context.Context, op, account string, since time.Time) ([]byte, bool, error) {
	var result []byte
	err := d.db.QueryRowContext(ctx, "SELECT result FROM step_results WHERE op = ? AND account = ? AND done = 1 AND at >= ?",
		op, account, toMillis(since)).Scan(&result)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	return result, err == nil, err
}

// PruneSteps deletes old ops, then the oldest results beyond maxRows rows.
func (d *DB) PruneSteps(ctx context.Context, before time.Time, maxRows int) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM step_results WHERE at < ?", toMillis(before)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM step_results WHERE op IN (
			SELECT op FROM (SELECT op, row_number() OVER w AS n, sum(rows) OVER w AS total
				FROM step_results WINDOW w AS (ORDER BY at DESC, op DESC))
			WHERE n > 1 AND total > ?)`, maxRows)
		return err
	})
}
