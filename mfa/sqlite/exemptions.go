package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ExemptionStore = (*DB)(nil)

const exemptionColumns = "upn, previous_state, previous_reenabled, started_at, until, reason, actor, actor_role, actor_method"

func scanExemption(sc interface{ Scan(...any) error }) (mfa.Exemption, error) {
	var e mfa.Exemption
	var prev, role string
	var started, until int64
	err := sc.Scan(&e.UPN, &prev, &e.PreviousReenabled, &started, &until, &e.Reason, &e.Actor.Name, &role, &e.Actor.Method)
	e.Previous, e.Actor.Role = mfa.State(prev), mfa.Role(role)
	e.StartedAt, e.Until = fromMillis(started), fromMillis(until)
	return e, err
}

// AddExemption stores an exemption; ECONFLICT if the user has one.
func (d *DB) AddExemption(ctx context.Context, e mfa.Exemption) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO exemptions (upn_key, "+exemptionColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		mfa.NormalizeUPN(e.UPN), e.UPN, string(e.Previous), boolInt(e.PreviousReenabled), toMillis(e.StartedAt), toMillis(e.Until),
		e.Reason, e.Actor.Name, string(e.Actor.Role), e.Actor.Method)
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "%s is already disabled for a while: end that exemption first", e.UPN)
	}
	return err
}

// FindExemption returns the user's exemption; ENOTFOUND if none.
func (d *DB) FindExemption(ctx context.Context, upn string) (*mfa.Exemption, error) {
	e, err := scanExemption(d.db.QueryRowContext(ctx, "SELECT "+exemptionColumns+" FROM exemptions WHERE upn_key = ?", mfa.NormalizeUPN(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "%s has no exemption", upn)
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListExemptions returns exemptions ending soonest first, those ending before before (zero: all).
func (d *DB) ListExemptions(ctx context.Context, before time.Time, limit int) ([]mfa.Exemption, error) {
	q, args := "SELECT "+exemptionColumns+" FROM exemptions", []any{}
	if !before.IsZero() {
		q, args = q+" WHERE until <= ?", append(args, toMillis(before))
	}
	rows, err := d.db.QueryContext(ctx, q+" ORDER BY until, upn_key LIMIT ?", append(args, limit)...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.Exemption
	for rows.Next() {
		e, err := scanExemption(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// RemoveExemption deletes the user's exemption.
func (d *DB) RemoveExemption(ctx context.Context, upn string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM exemptions WHERE upn_key = ?", mfa.NormalizeUPN(upn))
	return err
}
