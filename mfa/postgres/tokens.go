package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// CreateToken stores an API token (its hash only).
func (d *DB) CreateToken(ctx context.Context, t *mfa.Token) error {
	_, err := d.pool.Exec(ctx, "INSERT INTO tokens (name, role, hash, created_at, created_by, last_used_at) VALUES ($1, $2, $3, $4, $5, $6)",
		t.Name, string(t.Role), t.Hash, toMillis(t.CreatedAt), t.CreatedBy, toMillis(t.LastUsedAt))
	if isUniqueViolation(err) {
		return mfa.Errorf(mfa.ECONFLICT, "a token named %q already exists", t.Name)
	}
	return err
}

const tokenColumns = "name, role, hash, created_at, created_by, last_used_at"

func scanToken(row pgx.Row) (*mfa.Token, error) {
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
	t, err := scanToken(d.pool.QueryRow(ctx, "SELECT "+tokenColumns+" FROM tokens WHERE hash = $1", hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no such token")
	}
	return t, err
}

// TouchToken records a token's use.
func (d *DB) TouchToken(ctx context.Context, name string, at time.Time) error {
	_, err := d.pool.Exec(ctx, "UPDATE tokens SET last_used_at = $1 WHERE lower(name) = lower($2)", toMillis(at), name)
	return err
}

// DeleteToken revokes a token.
func (d *DB) DeleteToken(ctx context.Context, name string) error {
	tag, err := d.pool.Exec(ctx, "DELETE FROM tokens WHERE lower(name) = lower($1)", name)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return mfa.Errorf(mfa.ENOTFOUND, "no token named %q", name)
	}
	return nil
}

// ListTokens returns every token sorted by name.
func (d *DB) ListTokens(ctx context.Context) ([]*mfa.Token, error) {
	rows, err := d.pool.Query(ctx, "SELECT "+tokenColumns+" FROM tokens ORDER BY lower(name), name")
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (*mfa.Token, error) { return scanToken(r) })
}
