package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

var _ mfa.TokenStore = (*DB)(nil)

// CreateToken stores an API token (its hash only).
func (d *DB) CreateToken(ctx context.Context, t *mfa.Token) error {
	_, err := d.db.ExecContext(ctx, "INSERT INTO tokens (name, role, hash, created_at, created_by, last_used_at) VALUES (?, ?, ?, ?, ?, ?)",
		t.Name, string(t.Role), t.Hash, toMillis(t.CreatedAt), t.CreatedBy, toMillis(t.LastUsedAt))
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "a token named %q already exists", t.Name)
	}
	return err
}

const tokenColumns = "name, role, hash, created_at, created_by, last_used_at"

func scanToken(row interface{ Scan(...any) error }) (*mfa.Token, error) {
	var t mfa.Token
	var role string
	var created, used int64
	if err := row.Scan(&t.Name, &role, &t.Hash, &created, &t.CreatedBy, &used); err != nil {
		return nil, err
	}
	t.Role, t.CreatedAt, t.LastUsedAt = mfa.Role(role), fromMillis(created), fromMillis(used)
	return &t, nil
}

// FindTokenByHash returns the token with a hash.
func (d *DB) FindTokenByHash(ctx context.Context, hash string) (*mfa.Token, error) {
	t, err := scanToken(d.db.QueryRowContext(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = ?", hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no such token")
	}
	return t, err
}

// TouchToken records a token's use.
func (d *DB) TouchToken(ctx context.Context, name string, at time.Time) error {
	_, err := d.db.ExecContext(ctx, "UPDATE tokens SET last_used_at = ? WHERE name = ?", toMillis(at), name)
	return err
}

// DeleteToken revokes a token.
func (d *DB) DeleteToken(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, "DELETE FROM tokens WHERE name = ?", name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mfa.Errorf(mfa.ENOTFOUND, "no token named %q", name)
	}
	return nil
}

// ListTokens returns every token sorted by name.
func (d *DB) ListTokens(ctx context.Context) ([]*mfa.Token, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY name")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*mfa.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}
