package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.AccountMFAStore = (*DB)(nil)

// AccountTOTP returns a local account's authenticator secret and when it was enrolled.
func (d *DB) AccountTOTP(ctx context.Context, name string) (string, time.Time, error) {
	var secret string
	var at int64
	err := d.pool.QueryRow(ctx, "SELECT totp_secret, totp_enrolled_at FROM accounts WHERE lower(name) = lower($1)", name).Scan(&secret, &at)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", time.Time{}, mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
	}
	return secret, fromMillis(at), err
}

// SetAccountTOTP enrols or (secret "") removes an account's authenticator; removing ends its
// sessions.
func (d *DB) SetAccountTOTP(ctx context.Context, name, secret string, at time.Time) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		enrolled := toMillis(at)
		if secret == "" {
			enrolled = 0
		}
		// updated_at is the password's time (the accounts list's "password changed"): an
		// authenticator has its own, totp_enrolled_at.
		tag, err := tx.Exec(ctx, "UPDATE accounts SET totp_secret = $1, totp_enrolled_at = $2, totp_last_step = 0 WHERE lower(name) = lower($3) AND ($1 = '' OR totp_secret = '')",
			secret, enrolled, name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			var exists bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM accounts WHERE lower(name) = lower($1))", name).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return mfa.ErrAppEnrolled
			}
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		if secret == "" {
			_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE lower(account) = lower($1)", name)
		}
		return err
	})
}

// UseAccountTOTPStep moves the account's last used step forward, atomically: of two replicas
// accepting the same code at once, one wins.
func (d *DB) UseAccountTOTPStep(ctx context.Context, name string, step int64) (bool, error) {
	tag, err := d.pool.Exec(ctx, "UPDATE accounts SET totp_last_step = $1 WHERE lower(name) = lower($2) AND totp_last_step < $1", step, name)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}
