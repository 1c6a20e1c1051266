package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// PutChallenge stores a session's pending code in place of its earlier one.
func (d *DB) PutChallenge(ctx context.Context, c *mfa.Challenge) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_challenges WHERE session_hash = ?", c.SessionHash); err != nil {
			return err
		}
		return tx.QueryRowContext(ctx, `INSERT INTO user_challenges (session_hash, user_id, purpose, method, channel, target,
			code_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			c.SessionHash, parseUserID(c.UserID), string(c.Purpose), string(c.Method), string(c.Channel), c.Target, c.CodeHash,
			toMillis(c.CreatedAt), toMillis(c.ExpiresAt)).Scan(&c.ID)
	})
}

// FindChallenge returns a session's pending code.
func (d *DB) FindChallenge(ctx context.Context, sessionHash string) (*mfa.Challenge, error) {
	c := mfa.Challenge{SessionHash: sessionHash}
	var userID, created, expires int64
	var purpose, method, channel string
	err := d.db.QueryRowContext(ctx, `SELECT id, user_id, purpose, method, channel, target, code_hash, created_at, expires_at, attempts
		FROM user_challenges WHERE session_hash = ?`, sessionHash).
		Scan(&c.ID, &userID, &purpose, &method, &channel, &c.Target, &c.CodeHash, &created, &expires, &c.Attempts)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no pending code")
	}
	if err != nil {
		return nil, err
	}
	c.UserID, c.Purpose, c.Method, c.Channel = strconv.FormatInt(userID, 10), mfa.Purpose(purpose), mfa.MethodType(method), mfa.Channel(channel)
	c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &c, nil
}

// FailChallenge counts a wrong code; the challenge is deleted at max failures.
func (d *DB) FailChallenge(ctx context.Context, id int64, max int) (int, error) {
	left := 0
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var attempts int
		err := tx.QueryRowContext(ctx, "UPDATE user_challenges SET attempts = attempts + 1 WHERE id = ? RETURNING attempts", id).Scan(&attempts)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // taken or replaced meanwhile: no tries left on it
		}
		if err != nil {
			return err
		}
		if left = max - attempts; left <= 0 {
			_, err = tx.ExecContext(ctx, "DELETE FROM user_challenges WHERE id = ?", id)
		}
		return err
	})
	return left, err
}

// TakeChallenge deletes a challenge, answering whether it was there.
func (d *DB) TakeChallenge(ctx context.Context, id int64) (bool, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM user_challenges WHERE id = ?", id)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// SecurityDetails returns a user's method details and app passwords (oldest first).
func (d *DB) SecurityDetails(ctx context.Context, userID string) (*mfa.SecurityDetails, error) {
	return securityDetails(ctx, d.db, parseUserID(userID))
}

func securityDetails(ctx context.Context, q querier, id int64) (*mfa.SecurityDetails, error) {
	out := &mfa.SecurityDetails{}
	rows, err := q.QueryContext(ctx, "SELECT type, phone, channel, secret, added_at, last_step FROM user_methods WHERE user_id = ?", id)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var m mfa.MethodDetail
		var typ, channel string
		var added int64
		if err := rows.Scan(&typ, &m.Phone, &channel, &m.Secret, &added, &m.LastStep); err != nil {
			rows.Close()
			return nil, err
		}
		m.Type, m.Channel, m.AddedAt = mfa.MethodType(typ), mfa.Channel(channel), fromMillis(added)
		out.Methods = append(out.Methods, m)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	aps, err := appPasswords(ctx, q, "WHERE user_id = ? ORDER BY id", id)
	out.AppPasswords = aps
	return out, err
}

func appPasswords(ctx context.Context, q querier, where string, args ...any) ([]mfa.AppPassword, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, name, hash, hint, created_at, last_used_at FROM app_passwords "+where, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []mfa.AppPassword
	for rows.Next() {
		var a mfa.AppPassword
		var id, created, used int64
		if err := rows.Scan(&id, &a.Name, &a.Hash, &a.Hint, &created, &used); err != nil {
			return nil, err
		}
		a.ID, a.CreatedAt, a.LastUsedAt = strconv.FormatInt(id, 10), fromMillis(created), fromMillis(used)
		out = append(out, a)
	}
	return out, rows.Err()
}

// UpdateSecurity runs fn on a user and their details, and applies its change with its audit
// records in the same transaction.
func (d *DB) UpdateSecurity(ctx context.Context, upn string, fn func(u *mfa.User, det *mfa.SecurityDetails) (*mfa.SecurityChange, error)) (*mfa.User, error) {
	var out *mfa.User
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		r, err := findUserTx(ctx, tx, upn)
		if err != nil {
			return err
		}
		det, err := securityDetails(ctx, tx, r.id)
		if err != nil {
			return err
		}
		before := *r.user
		ch, err := fn(r.user, det)
		if err != nil || ch == nil {
			out = &before
			return err
		}
		if err := applySecurityChange(ctx, tx, r.id, ch); err != nil {
			return err
		}
		if err := writeUser(ctx, tx, r.id, &before, r.user); err != nil {
			return err
		}
		w, err := d.newAuditWriter(tx)
		if err != nil {
			return err
		}
		defer w.close()
		for _, rec := range ch.Records {
			if err := w.append(ctx, rec); err != nil {
				return err
			}
		}
		r.user.Version++
		out = r.user
		return nil
	})
	return out, err
}

// applySecurityChange writes a change's method details and app passwords. They go before the
// user row, whose triggers then find nothing left to delete.
func applySecurityChange(ctx context.Context, tx *sql.Tx, id int64, ch *mfa.SecurityChange) error {
	if m := ch.PutMethod; m != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_methods (user_id, type, phone, channel, secret, added_at, last_step)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, type) DO UPDATE SET phone = excluded.phone, channel = excluded.channel,
			secret = excluded.secret, added_at = excluded.added_at, last_step = excluded.last_step`,
			id, string(m.Type), m.Phone, string(m.Channel), m.Secret, toMillis(m.AddedAt), m.LastStep); err != nil {
			return err
		}
	}
	if ch.DeleteMethod != "" {
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_methods WHERE user_id = ? AND type = ?", id, string(ch.DeleteMethod)); err != nil {
			return err
		}
	}
	if a := ch.PutAppPassword; a != nil {
		var newID int64
		if err := tx.QueryRowContext(ctx, `INSERT INTO app_passwords (user_id, name, hash, hint, created_at) VALUES (?, ?, ?, ?, ?)
			RETURNING id`, id, a.Name, a.Hash, a.Hint, toMillis(a.CreatedAt)).Scan(&newID); err != nil {
			return err
		}
		a.ID = strconv.FormatInt(newID, 10)
	}
	if ch.DeleteAppPassword != "" {
		if _, err := tx.ExecContext(ctx, "DELETE FROM app_passwords WHERE user_id = ? AND id = ?", id, parseUserID(ch.DeleteAppPassword)); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep records an authenticator code's time step, refusing one used already.
func (d *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	res, err := d.db.ExecContext(ctx, "UPDATE user_methods SET last_step = ? WHERE user_id = ? AND type = ? AND last_step < ?",
		step, parseUserID(userID), string(mfa.MethodSoftwareOTP), step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// FindAppPasswords returns a user's app passwords with a hint.
func (d *DB) FindAppPasswords(ctx context.Context, userID, hint string) ([]mfa.AppPassword, error) {
	return appPasswords(ctx, d.db, "WHERE user_id = ? AND hint = ?", parseUserID(userID), hint)
}

// TouchAppPassword records an app password's use.
func (d *DB) TouchAppPassword(ctx context.Context, id string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "UPDATE app_passwords SET last_used_at = ? WHERE id = ?", toMillis(at), parseUserID(id))
	return err
}
