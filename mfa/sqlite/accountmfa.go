package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.AccountMFAStore = (*DB)(nil)

// AccountTOTP returns a local account's authenticator secret and when it was enrolled.
func (d *DB) AccountTOTP(ctx context.Context, name string) (string, time.Time, error) {
	var secret string
	var at int64
	err := d.db.QueryRowContext(ctx, "SELECT totp_secret, totp_enrolled_at FROM accounts WHERE name = ?", name).Scan(&secret, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
	}
	return secret, fromMillis(at), err
}

// SetAccountTOTP enrols or (secret "") removes an account's authenticator; removing ends its
// sessions.
func (d *DB) SetAccountTOTP(ctx context.Context, name, secret string, at time.Time) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		enrolled := toMillis(at)
		if secret == "" {
			enrolled = 0
		}
		// updated_at is the password's time (the accounts list's "password changed"): an
		// authenticator has its own, totp_enrolled_at.
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET totp_secret = ?, totp_enrolled_at = ?, totp_last_step = 0 WHERE name = ? AND (? = '' OR totp_secret = '')",
			secret, enrolled, name, secret)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var exists bool
			if err := tx.QueryRowContext(ctx, "SELECT EXISTS (SELECT 1 FROM accounts WHERE name = ?)", name).Scan(&exists); err != nil {
				return err
			}
			if exists {
				return mfa.ErrAppEnrolled
			}
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		if secret == "" {
			_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE account = ? COLLATE NOCASE", name)
		}
		return err
	})
}

// UseAccountTOTPStep moves the account's last used step forward; false if it was not behind.
func (d *DB) UseAccountTOTPStep(ctx context.Context, name string, step int64) (bool, error) {
	res, err := d.db.ExecContext(ctx, "UPDATE accounts SET totp_last_step = ? WHERE name = ? AND totp_last_step < ?", step, name, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
