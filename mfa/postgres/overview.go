package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.OverviewStore = (*DB)(nil)

// CountOverview counts the users from the kept counts: by state, registered (holding methods,
// less those re-enabled with them: a partial index of only them) and admins without MFA
// (mfa.OverviewCounts) by state.
func (d *DB) CountOverview(ctx context.Context) (mfa.OverviewCounts, error) {
	var c mfa.OverviewCounts
	var reenabled int
	err := d.pool.QueryRow(ctx, `SELECT
			COALESCE(sum(n) FILTER (WHERE state = 'enabled'), 0)::bigint,
			COALESCE(sum(n) FILTER (WHERE state = 'enforced'), 0)::bigint,
			COALESCE(sum(n) FILTER (WHERE state = 'disabled'), 0)::bigint,
			COALESCE(sum(n) FILTER (WHERE methods_class <> 0), 0)::bigint,
			COALESCE(sum(n) FILTER (WHERE account_enabled AND privileged AND NOT ca_covered AND state = 'disabled'), 0)::bigint,
			COALESCE(sum(n) FILTER (WHERE account_enabled AND privileged AND NOT ca_covered AND state = 'enabled'), 0)::bigint,
			(SELECT count(*) FROM users WHERE reenabled_with_methods AND methods <> '')
		FROM user_counts`).Scan(&c.Enabled, &c.Enforced, &c.Disabled, &c.Registered, &c.AdminsDisabled, &c.AdminsEnabled, &reenabled)
	c.Registered -= reenabled
	c.AdminsWithoutMFA = c.AdminsDisabled + c.AdminsEnabled
	c.NotRegistered = c.Total() - c.Registered
	return c, err
}

// SaveSnapshot stores the counts of c.Day.
func (d *DB) SaveSnapshot(ctx context.Context, c mfa.OverviewCounts) error {
	_, err := d.pool.Exec(ctx, `INSERT INTO overview_days (day, taken_at, enabled, enforced, disabled, registered, not_registered,
		admins_without_mfa) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (day) DO UPDATE SET taken_at = excluded.taken_at,
		enabled = excluded.enabled, enforced = excluded.enforced, disabled = excluded.disabled, registered = excluded.registered,
		not_registered = excluded.not_registered, admins_without_mfa = excluded.admins_without_mfa`,
		c.Day, toMillis(c.TakenAt), c.Enabled, c.Enforced, c.Disabled, c.Registered, c.NotRegistered, c.AdminsWithoutMFA)
	return err
}

// Snapshots returns the snapshots from since on, oldest first.
func (d *DB) Snapshots(ctx context.Context, since string) ([]mfa.OverviewCounts, error) {
	rows, err := d.pool.Query(ctx, `SELECT day, taken_at, enabled, enforced, disabled, registered, not_registered, admins_without_mfa
		FROM overview_days WHERE day >= $1 ORDER BY day`, since)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (mfa.OverviewCounts, error) {
		var c mfa.OverviewCounts
		var taken int64
		err := r.Scan(&c.Day, &taken, &c.Enabled, &c.Enforced, &c.Disabled, &c.Registered, &c.NotRegistered, &c.AdminsWithoutMFA)
		c.TakenAt = fromMillis(taken)
		return c, err
	})
}
