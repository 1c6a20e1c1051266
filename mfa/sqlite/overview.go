package sqlite

import (
	"context"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.OverviewStore = (*DB)(nil)

// CountOverview counts the users by state and the admins without MFA (mfa.OverviewCounts) from
// user_counts, and registered users in one pass over the users table (docs/PERFORMANCE.md has
// its cost at a million).
func (d *DB) CountOverview(ctx context.Context) (mfa.OverviewCounts, error) {
	var c mfa.OverviewCounts
	rows, err := d.db.QueryContext(ctx, `SELECT state, SUM(n),
		SUM(CASE WHEN account_enabled = 1 AND privileged = 1 AND ca_covered = 0 THEN n ELSE 0 END)
		FROM user_counts GROUP BY state`)
	if err != nil {
		return c, err
	}
	for rows.Next() {
		var state string
		var n, admins int
		if err := rows.Scan(&state, &n, &admins); err != nil {
			rows.Close()
			return c, err
		}
		switch mfa.State(state) {
		case mfa.StateEnabled:
			c.Enabled, c.AdminsEnabled = n, admins
		case mfa.StateEnforced:
			c.Enforced = n
		case mfa.StateDisabled:
			c.Disabled, c.AdminsDisabled = n, admins
		}
	}
	c.AdminsWithoutMFA = c.AdminsDisabled + c.AdminsEnabled
	rows.Close()
	if err := rows.Err(); err != nil {
		return c, err
	}
	err = d.db.QueryRowContext(ctx, `SELECT COALESCE(SUM(methods <> '' AND reenabled_with_methods = 0), 0)
		FROM users`).Scan(&c.Registered)
	c.NotRegistered = c.Total() - c.Registered
	return c, err
}

// SaveSnapshot stores the counts of c.Day.
func (d *DB) SaveSnapshot(ctx context.Context, c mfa.OverviewCounts) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO overview_days (day, taken_at, enabled, enforced, disabled, registered, not_registered,
		admins_without_mfa) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day) DO UPDATE SET taken_at = excluded.taken_at,
		enabled = excluded.enabled, enforced = excluded.enforced, disabled = excluded.disabled, registered = excluded.registered,
		not_registered = excluded.not_registered, admins_without_mfa = excluded.admins_without_mfa`,
		c.Day, toMillis(c.TakenAt), c.Enabled, c.Enforced, c.Disabled, c.Registered, c.NotRegistered, c.AdminsWithoutMFA)
	return err
}

// Snapshots returns the snapshots from since on, oldest first.
func (d *DB) Snapshots(ctx context.Context, since string) ([]mfa.OverviewCounts, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT day, taken_at, enabled, enforced, disabled, registered, not_registered, admins_without_mfa
		FROM overview_days WHERE day >= ? ORDER BY day`, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.OverviewCounts
	for rows.Next() {
		var c mfa.OverviewCounts
		var taken int64
		if err := rows.Scan(&c.Day, &taken, &c.Enabled, &c.Enforced, &c.Disabled, &c.Registered, &c.NotRegistered, &c.AdminsWithoutMFA); err != nil {
			return nil, err
		}
		c.TakenAt = fromMillis(taken)
		out = append(out, c)
	}
	return out, rows.Err()
}
