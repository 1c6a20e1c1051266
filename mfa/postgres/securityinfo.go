package postgres

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// PutChallenge stores a session's pending code in place of its earlier one.
func (d *DB) PutChallenge(ctx context.Context, c *mfa.Challenge) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "DELETE FROM user_challenges WHERE session_hash = $1", c.SessionHash); err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO user_challenges (session_hash, user_id, purpose, method, channel, target, code_hash,
			created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
			c.SessionHash, parseID(c.UserID), string(c.Purpose), string(c.Method), string(c.Channel), c.Target, c.CodeHash,
			toMillis(c.CreatedAt), toMillis(c.ExpiresAt)).Scan(&c.ID)
	})
}

// FindChallenge returns a session's pending code.
func (d *DB) FindChallenge(ctx context.Context, sessionHash string) (*mfa.Challenge, error) {
	c := mfa.Challenge{SessionHash: sessionHash}
	var userID, created, expires int64
	var purpose, method, channel string
	err := d.pool.QueryRow(ctx, `SELECT id, user_id, purpose, method, channel, target, code_hash, created_at, expires_at, attempts
		FROM user_challenges WHERE session_hash = $1`, sessionHash).
		Scan(&c.ID, &userID, &purpose, &method, &channel, &c.Target, &c.CodeHash, &created, &expires, &c.Attempts)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no pending code")
	}
	if err != nil {
		return nil, err
	}
	c.UserID, c.Purpose, c.Method, c.Channel = strconv.FormatInt(userID, 10), mfa.Purpose(purpose), mfa.MethodType(method), mfa.Channel(channel)
	c.CreatedAt, c.ExpiresAt = fromMillis(created), fromMillis(expires)
	return &c, nil
}

// FailChallenge counts a wrong code; the challenge is deleted at max failures. The count moves in
// one statement, so wrong codes sent to two replicas at once are both counted.
func (d *DB) FailChallenge(ctx context.Context, id int64, max int) (int, error) {
	left := 0
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		var attempts int
		err := tx.QueryRow(ctx, "UPDATE user_challenges SET attempts = attempts + 1 WHERE id = $1 RETURNING attempts", id).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // taken or replaced meanwhile: no tries left on it
		}
		if err != nil {
			return err
		}
		if left = max - attempts; left <= 0 {
			_, err = tx.Exec(ctx, "DELETE FROM user_challenges WHERE id = $1", id)
		}
		return err
	})
	return left, err
}

// TakeChallenge deletes a challenge, answering whether it was there: a code is used once, on
// whichever replica.
func (d *DB) TakeChallenge(ctx context.Context, id int64) (bool, error) {
	tag, err := d.pool.Exec(ctx, "DELETE FROM user_challenges WHERE id = $1", id)
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// SecurityDetails returns a user's method details and app passwords (oldest first).
func (d *DB) SecurityDetails(ctx context.Context, userID string) (*mfa.SecurityDetails, error) {
	return securityDetails(ctx, d.pool, parseID(userID))
}

func securityDetails(ctx context.Context, q querier, id int64) (*mfa.SecurityDetails, error) {
	out := &mfa.SecurityDetails{}
	rows, err := q.Query(ctx, "SELECT type, phone, channel, secret, added_at, last_step FROM user_methods WHERE user_id = $1 ORDER BY type", id)
	if err != nil {
		return nil, err
	}
	var m mfa.MethodDetail
	var typ, channel string
	var added int64
	_, err = pgx.ForEachRow(rows, []any{&typ, &m.Phone, &channel, &m.Secret, &added, &m.LastStep}, func() error {
		m.Type, m.Channel, m.AddedAt = mfa.MethodType(typ), mfa.Channel(channel), fromMillis(added)
		out.Methods = append(out.Methods, m)
		return nil
	})
	if err != nil {
		return nil, err
	}
	out.AppPasswords, err = appPasswords(ctx, q, "WHERE user_id = $1 ORDER BY id", id)
	return out, err
}

func appPasswords(ctx context.Context, q querier, where string, args ...any) ([]mfa.AppPassword, error) {
	rows, err := q.Query(ctx, "SELECT id, name, hash, hint, created_at, last_used_at FROM app_passwords "+where, args...)
	if err != nil {
		return nil, err
	}
	var out []mfa.AppPassword // nil for none, as mfa/sqlite answers
	var a mfa.AppPassword
	var id, created, used int64
	_, err = pgx.ForEachRow(rows, []any{&id, &a.Name, &a.Hash, &a.Hint, &created, &used}, func() error {
		a.ID, a.CreatedAt, a.LastUsedAt = strconv.FormatInt(id, 10), fromMillis(created), fromMillis(used)
		out = append(out, a)
		return nil
	})
	return out, err
}

// UpdateSecurity runs fn on a user (locked) and their details, and applies its change with its
// audit records in the same transaction.
func (d *DB) UpdateSecurity(ctx context.Context, upn string, fn func(u *mfa.User, det *mfa.SecurityDetails) (*mfa.SecurityChange, error)) (*mfa.User, error) {
	var out *mfa.User
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		r, err := findRow(ctx, tx, upn, true)
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
		if err := writeUsers(ctx, tx, []userWrite{{id: r.id, before: &before, after: r.user}}); err != nil {
			return err
		}
		if err := d.appendAudit(ctx, tx, ch.Records); err != nil {
			return err
		}
		r.user.Version++
		out = r.user
		return nil
	})
	return out, err
}

// applySecurityChange writes a change's method details and app passwords. They go before the
// user row, whose triggers then find nothing left to delete.
func applySecurityChange(ctx context.Context, tx pgx.Tx, id int64, ch *mfa.SecurityChange) error {
	if m := ch.PutMethod; m != nil {
		if _, err := tx.Exec(ctx, `INSERT INTO user_methods (user_id, type, phone, channel, secret, added_at, last_step)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, type) DO UPDATE SET phone = excluded.phone, channel = excluded.channel,
			secret = excluded.secret, added_at = excluded.added_at, last_step = excluded.last_step`,
			id, string(m.Type), m.Phone, string(m.Channel), m.Secret, toMillis(m.AddedAt), m.LastStep); err != nil {
			return err
		}
	}
	if ch.DeleteMethod != "" {
		if _, err := tx.Exec(ctx, "DELETE FROM user_methods WHERE user_id = $1 AND type = $2", id, string(ch.DeleteMethod)); err != nil {
			return err
		}
	}
	if a := ch.PutAppPassword; a != nil {
		var newID int64
		if err := tx.QueryRow(ctx, `INSERT INTO app_passwords (user_id, name, hash, hint, created_at) VALUES ($1, $2, $3, $4, $5)
			RETURNING id`, id, a.Name, a.Hash, a.Hint, toMillis(a.CreatedAt)).Scan(&newID); err != nil {
			return err
		}
		a.ID = strconv.FormatInt(newID, 10)
	}
	if ch.DeleteAppPassword != "" {
		if _, err := tx.Exec(ctx, "DELETE FROM app_passwords WHERE user_id = $1 AND id = $2", id, parseID(ch.DeleteAppPassword)); err != nil {
			return err
		}
	}
	return nil
}

// UseTOTPStep records an authenticator code's time step, refusing one used already: of two
// replicas accepting one code at once, one moves the step.
func (d *DB) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	tag, err := d.pool.Exec(ctx, "UPDATE user_methods SET last_step = $1 WHERE user_id = $2 AND type = $3 AND last_step < $1",
		step, parseID(userID), string(mfa.MethodSoftwareOTP))
	if err != nil {
		return false, err
	}
	return tag.RowsAffected() == 1, nil
}

// FindAppPasswords returns a user's app passwords with a hint.
func (d *DB) FindAppPasswords(ctx context.Context, userID, hint string) ([]mfa.AppPassword, error) {
	return appPasswords(ctx, d.pool, "WHERE user_id = $1 AND hint = $2", parseID(userID), hint)
}

// TouchAppPassword records an app password's use.
func (d *DB) TouchAppPassword(ctx context.Context, id string, at time.Time) error {
	_, err := d.pool.Exec(ctx, "UPDATE app_passwords SET last_used_at = $1 WHERE id = $2", toMillis(at), parseID(id))
	return err
}
