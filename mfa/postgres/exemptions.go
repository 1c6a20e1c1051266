package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.ExemptionStore = (*DB)(nil)

const exemptionColumns = "upn, previous_state, previous_reenabled, started_at, until, reason, actor, actor_role, actor_method"

func scanExemption(sc pgx.Row) (mfa.Exemption, error) {
	var e mfa.Exemption
	var prev, role string
	var started, until int64
	err := sc.Scan(&e.UPN, &prev, &e.PreviousReenabled, &started, &until, &e.Reason, &e.Actor.Name, &role, &e.Actor.Method)
	e.Previous, e.Actor.Role = stateOf(prev), mfa.Role(role)
	e.StartedAt, e.Until = fromMillis(started), fromMillis(until)
	return e, err
}

// AddExemption stores an exemption; ECONFLICT if the user has one.
func (d *DB) AddExemption(ctx context.Context, e mfa.Exemption) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO exemptions (upn_key, "+exemptionColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
		mfa.NormalizeUPN(e.UPN), e.UPN, string(e.Previous), e.PreviousReenabled, toMillis(e.StartedAt), toMillis(e.Until),
		e.Reason, e.Actor.Name, string(e.Actor.Role), e.Actor.Method)
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "%s is already disabled for a while: end that exemption first", e.UPN)
	}
	return err
}

// FindExemption returns the user's exemption; ENOTFOUND if none.
func (d *DB) FindExemption(ctx context.Context, upn string) (*mfa.Exemption, error) {
	e, err := scanExemption(d.pool.QueryRow(ctx, "SELECT "+exemptionColumns+" FROM exemptions WHERE upn_key = $1", mfa.NormalizeUPN(upn)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "%s has no exemption", upn)
	}
	if err != nil {
		return nil, err
	}
	return &e, nil
}

// ListExemptions returns exemptions ending soonest first, those ending before before (zero: all).
func (d *DB) ListExemptions(ctx context.Context, before time.Time, limit int) ([]mfa.Exemption, error) {
	a := &args{}
	q := "SELECT " + exemptionColumns + " FROM exemptions"
	if !before.IsZero() {
		q += " WHERE until <= " + a.add(toMillis(before))
	}
	rows, err := d.pool.Query(ctx, q+" ORDER BY until, upn_key LIMIT "+a.add(limit), a.vals...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (mfa.Exemption, error) { return scanExemption(r) })
}

// RemoveExemption deletes the user's exemption.
func (d *DB) RemoveExemption(ctx context.Context, upn string) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM exemptions WHERE upn_key = $1", mfa.NormalizeUPN(upn))
	return err
}
