package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// The end users' credentials and security info (their tables in migrations/100_baseline.sql): mfa.SecurityStore.
var _ mfa.SecurityStore = (*DB)(nil)

// findUserTx reads a user by UPN inside a transaction, with its row id.
func findUserTx(ctx context.Context, q querier, upn string) (row, error) {
	r, err := scanUser(q.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = ?", mfa.NormalizeUPN(upn)))
	if errors.Is(err, sql.ErrNoRows) {
		return row{}, mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return r, err
}

// FindCredentials returns a user and their password hash ("" when they have none).
func (d *DB) FindCredentials(ctx context.Context, upn string) (*mfa.User, string, error) {
	r, err := findUserTx(ctx, d.db, upn)
	if err != nil {
		return nil, "", err
	}
	var hash string
	err = d.db.QueryRowContext(ctx, "SELECT password_hash FROM user_passwords WHERE user_id = ?", r.id).Scan(&hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, "", err
	}
	return r.user, hash, nil
}

// CreateSetupLink replaces the user's setup link, with fn's audit record, in one transaction.
func (d *DB) CreateSetupLink(ctx context.Context, upn, hash string, expires time.Time, fn func(u *mfa.User) (*mfa.AuditRecord, error)) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		r, err := findUserTx(ctx, tx, upn)
		if err != nil {
			return err
		}
		rec, err := fn(r.user)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO setup_links (user_id, hash, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash, expires_at = excluded.expires_at`,
			r.id, hash, toMillis(expires)); err != nil {
			return err
		}
		return d.appendAudit(ctx, tx, rec)
	})
}

// FindSetupLink returns the user of a live setup link.
func (d *DB) FindSetupLink(ctx context.Context, hash string, now time.Time) (*mfa.User, error) {
	r, err := scanUser(d.db.QueryRowContext(ctx, "SELECT "+userColumns+` FROM setup_links l JOIN users u ON u.id = l.user_id
		WHERE l.hash = ? AND l.expires_at > ?`, hash, toMillis(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no such setup link")
	}
	return r.user, err
}

// UseSetupLink consumes a live link and sets the password, ending the user's sessions.
func (d *DB) UseSetupLink(ctx context.Context, hash string, now time.Time, passwordHash string, fn func(u *mfa.User) *mfa.AuditRecord) (*mfa.User, error) {
	var out *mfa.User
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "DELETE FROM setup_links WHERE hash = ? AND expires_at > ? RETURNING user_id", hash, toMillis(now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return mfa.Errorf(mfa.ENOTFOUND, "no such setup link")
		}
		if err != nil {
			return err
		}
		r, err := scanUser(tx.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ?", id))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO user_passwords (user_id, password_hash, set_at) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET password_hash = excluded.password_hash, set_at = excluded.set_at`,
			id, passwordHash, toMillis(now)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM user_sessions WHERE user_id = ?", id); err != nil {
			return err
		}
		out = r.user
		return d.appendAudit(ctx, tx, fn(r.user))
	})
	return out, err
}

// parseUserID is the row id of an mfa.User's ID; 0 (no user) if it is not one.
func parseUserID(id string) int64 {
	n, _ := strconv.ParseInt(id, 10, 64)
	return n
}

// CreateUserSession stores a user's session.
func (d *DB) CreateUserSession(ctx context.Context, s *mfa.UserSession) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO user_sessions (hash, user_id, upn, stage, created_at, last_seen_at)
		VALUES (?, ?, ?, ?, ?, ?)`, s.Hash, parseUserID(s.UserID), s.UPN, string(s.Stage), toMillis(s.CreatedAt), toMillis(s.LastSeenAt))
	return err
}

// FindUserSession returns a user's session by its hash.
func (d *DB) FindUserSession(ctx context.Context, hash string) (*mfa.UserSession, error) {
	s := mfa.UserSession{Hash: hash}
	var id, created, seen int64
	var stage string
	err := d.db.QueryRowContext(ctx, "SELECT user_id, upn, stage, created_at, last_seen_at FROM user_sessions WHERE hash = ?", hash).
		Scan(&id, &s.UPN, &stage, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no such session")
	}
	if err != nil {
		return nil, err
	}
	s.UserID, s.Stage = strconv.FormatInt(id, 10), mfa.Need(stage)
	s.CreatedAt, s.LastSeenAt = fromMillis(created), fromMillis(seen)
	return &s, nil
}

// SetUserSessionStage records what a session's sign-in still needs.
func (d *DB) SetUserSessionStage(ctx context.Context, hash string, stage mfa.Need) error {
	_, err := d.db.ExecContext(ctx, "UPDATE user_sessions SET stage = ? WHERE hash = ?", string(stage), hash)
	return err
}

// TouchUserSession records activity on a session.
func (d *DB) TouchUserSession(ctx context.Context, hash string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "UPDATE user_sessions SET last_seen_at = ? WHERE hash = ?", toMillis(at), hash)
	return err
}

// DeleteUserSession ends a session (and its pending code).
func (d *DB) DeleteUserSession(ctx context.Context, hash string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM user_sessions WHERE hash = ?", hash)
	return err
}

// DeleteExpiredUserSessions removes idle or too old sessions, and remembered devices older than
// the longest time a device may be remembered.
func (d *DB) DeleteExpiredUserSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM user_sessions WHERE last_seen_at < ? OR created_at < ?", toMillis(idleBefore), toMillis(createdBefore))
	if err != nil {
		return 0, err
	}
	oldest := createdBefore.Add(-mfa.MaxRememberDays * 24 * time.Hour)
	if _, err := d.db.ExecContext(ctx, "DELETE FROM remembered_devices WHERE remembered_at < ?", toMillis(oldest)); err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// RememberDevice stores a remembered device.
func (d *DB) RememberDevice(ctx context.Context, hash, userID string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO remembered_devices (hash, user_id, remembered_at) VALUES (?, ?, ?)",
		hash, parseUserID(userID), toMillis(at))
	return err
}

// FindRememberedDevice returns the user and time of a remembered device.
func (d *DB) FindRememberedDevice(ctx context.Context, hash string) (string, time.Time, error) {
	var id, at int64
	err := d.db.QueryRowContext(ctx, "SELECT user_id, remembered_at FROM remembered_devices WHERE hash = ?", hash).Scan(&id, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, mfa.Errorf(mfa.ENOTFOUND, "no such device")
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return strconv.FormatInt(id, 10), fromMillis(at), nil
}
