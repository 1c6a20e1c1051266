package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// CreateAccount adds a local account.
func (d *DB) CreateAccount(ctx context.Context, a *mfa.Account) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO accounts (name, role, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
		a.Name, string(a.Role), a.PasswordHash, toMillis(a.CreatedAt), toMillis(a.UpdatedAt))
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "an account named %q already exists", a.Name)
	}
	return err
}

// FindAccount returns a local account by name, case-insensitively.
func (d *DB) FindAccount(ctx context.Context, name string) (*mfa.Account, error) {
	var a mfa.Account
	var role string
	var created, updated int64
	err := d.db.QueryRowContext(ctx, "SELECT name, role, password_hash, created_at, updated_at FROM accounts WHERE name = ?", name).
		Scan(&a.Name, &role, &a.PasswordHash, &created, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
	}
	if err != nil {
		return nil, err
	}
	a.Role, a.CreatedAt, a.UpdatedAt = mfa.Role(role), fromMillis(created), fromMillis(updated)
	return &a, nil
}

// UpdateAccountPassword replaces an account's password hash and ends its sessions.
func (d *DB) UpdateAccountPassword(ctx context.Context, name, hash string, at time.Time) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "UPDATE accounts SET password_hash = ?, updated_at = ? WHERE name = ?", hash, toMillis(at), name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE account = ? COLLATE NOCASE", name)
		return err
	})
}

// DeleteAccount removes an account and its sessions.
func (d *DB) DeleteAccount(ctx context.Context, name string) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM accounts WHERE name = ?", name)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM sessions WHERE account = ? COLLATE NOCASE", name)
		return err
	})
}

// ListAccounts returns every account sorted by name.
func (d *DB) ListAccounts(ctx context.Context) ([]*mfa.Account, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT name, role, password_hash, created_at, updated_at FROM accounts ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*mfa.Account
	for rows.Next() {
		var a mfa.Account
		var role string
		var created, updated int64
		if err := rows.Scan(&a.Name, &role, &a.PasswordHash, &created, &updated); err != nil {
			return nil, err
		}
		a.Role, a.CreatedAt, a.UpdatedAt = mfa.Role(role), fromMillis(created), fromMillis(updated)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s *mfa.Session) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO sessions (id, account, role, method, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?)",
		s.ID, s.Account, string(s.Role), s.Method, toMillis(s.CreatedAt), toMillis(s.LastSeenAt))
	return err
}

// FindSession returns a session by id.
func (d *DB) FindSession(ctx context.Context, id string) (*mfa.Session, error) {
	var s mfa.Session
	var role string
	var created, seen int64
	err := d.db.QueryRowContext(ctx, "SELECT id, account, role, method, created_at, last_seen_at FROM sessions WHERE id = ?", id).
		Scan(&s.ID, &s.Account, &role, &s.Method, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no such session")
	}
	if err != nil {
		return nil, err
	}
	s.Role, s.CreatedAt, s.LastSeenAt = mfa.Role(role), fromMillis(created), fromMillis(seen)
	return &s, nil
}

// TouchSession records activity on a session.
func (d *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "UPDATE sessions SET last_seen_at = ? WHERE id = ?", toMillis(at), id)
	return err
}

// DeleteSession ends a session.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", id)
	return err
}

// DeleteExpiredSessions removes idle or too old sessions.
func (d *DB) DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?", toMillis(idleBefore), toMillis(createdBefore))
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}
