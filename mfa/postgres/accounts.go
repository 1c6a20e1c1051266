package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// CreateAccount adds a local account; names are unique case-insensitively.
func (d *DB) CreateAccount(ctx context.Context, a *mfa.Account) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO accounts (name, role, password_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)",
		a.Name, string(a.Role), a.PasswordHash, toMillis(a.CreatedAt), toMillis(a.UpdatedAt))
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "an account named %q already exists", a.Name)
	}
	return err
}

func scanAccount(sc pgx.Row) (*mfa.Account, error) {
	var a mfa.Account
	var role string
	var created, updated int64
	if err := sc.Scan(&a.Name, &role, &a.PasswordHash, &created, &updated); err != nil {
		return nil, err
	}
	a.Role, a.CreatedAt, a.UpdatedAt = mfa.Role(role), fromMillis(created), fromMillis(updated)
	return &a, nil
}

// FindAccount returns a local account by name, case-insensitively.
func (d *DB) FindAccount(ctx context.Context, name string) (*mfa.Account, error) {
	a, err := scanAccount(d.pool.QueryRow(ctx, "SELECT name, role, password_hash, created_at, updated_at FROM accounts WHERE lower(name) = lower($1)", name))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
	}
	return a, err
}

// UpdateAccountPassword replaces an account's password hash and ends its sessions.
func (d *DB) UpdateAccountPassword(ctx context.Context, name, hash string, at time.Time) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "UPDATE accounts SET password_hash = $1, updated_at = $2 WHERE lower(name) = lower($3)", hash, toMillis(at), name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE lower(account) = lower($1)", name)
		return err
	})
}

// DeleteAccount removes an account and its sessions.
func (d *DB) DeleteAccount(ctx context.Context, name string) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "DELETE FROM accounts WHERE lower(name) = lower($1)", name)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return mfa.Errorf(mfa.ENOTFOUND, "no account named %q", name)
		}
		_, err = tx.Exec(ctx, "DELETE FROM sessions WHERE lower(account) = lower($1)", name)
		return err
	})
}

// ListAccounts returns every account sorted by name.
func (d *DB) ListAccounts(ctx context.Context) ([]*mfa.Account, error) {
	rows, err := d.pool.Query(ctx, "SELECT name, role, password_hash, created_at, updated_at FROM accounts ORDER BY lower(name), name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mfa.Account, error) { return scanAccount(r) })
}

// CreateSession stores a new session.
func (d *DB) CreateSession(ctx context.Context, s *mfa.Session) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO sessions (id, account, role, method, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6)",
		s.ID, s.Account, string(s.Role), s.Method, toMillis(s.CreatedAt), toMillis(s.LastSeenAt))
	return err
}

// FindSession returns a session by id.
func (d *DB) FindSession(ctx context.Context, id string) (*mfa.Session, error) {
	var s mfa.Session
	var role string
	var created, seen int64
	err := d.pool.QueryRow(ctx, "SELECT id, account, role, method, created_at, last_seen_at FROM sessions WHERE id = $1", id).
		Scan(&s.ID, &s.Account, &role, &s.Method, &created, &seen)
	if errors.Is(err, pgx.ErrNoRows) {
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
	_, err := d.pool.Exec(ctx, "UPDATE sessions SET last_seen_at = $1 WHERE id = $2", toMillis(at), id)
	return err
}

// DeleteSession ends a session.
func (d *DB) DeleteSession(ctx context.Context, id string) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM sessions WHERE id = $1", id)
	return err
}

// DeleteExpiredSessions removes idle or too old sessions.
func (d *DB) DeleteExpiredSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int, error) {
	tag, err := d.pool.Exec(ctx, "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2", toMillis(idleBefore), toMillis(createdBefore))
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
