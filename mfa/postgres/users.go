package postgres

import (
	"context"
	"errors"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mfaportal/mfaportal/mfa"
)

const userColumns = `u.id, u.upn, u.display_name, u.account_enabled, u.privileged, u.state, u.methods,
	u.app_passwords, u.remembered_not_before, u.reenabled_with_methods, u.state_read_at, u.version, u.sort_key,
	u.upn_key, u.enabled_at, u.ca_status, u.ca_policies, u.security_defaults`

// row is a scanned user with its sort keys and id, for cursors and writes.
type row struct {
	user    *mfa.User
	sortKey string
	upnKey  string
	id      int64
}

func scanUser(sc pgx.Row) (row, error) {
	var (
		u                 mfa.User
		id                int64
		state, methods    string
		notBefore, readAt int64
		enabledAt         int64
		sk, k             string
		caStatus, caNames string
	)
	if err := sc.Scan(&id, &u.UPN, &u.DisplayName, &u.AccountEnabled, &u.Privileged, &state, &methods,
		&u.AppPasswords, &notBefore, &u.HadMethodsWhenReenabled, &readAt, &u.Version, &sk, &k, &enabledAt,
		&caStatus, &caNames, &u.Coverage.SecurityDefaults); err != nil {
		return row{}, err
	}
	u.Coverage.Status, u.Coverage.Policies = mfa.CAStatus(caStatus), decodePolicies(caNames)
	u.ID = strconv.FormatInt(id, 10)
	u.State = mfa.State(state)
	u.Methods, _ = mfa.ParseMethodList(methods) // written by this package from valid types
	u.RememberedDevicesNotBefore = fromMillis(notBefore)
	u.StateReadAt = fromMillis(readAt)
	u.EnabledAt = fromMillis(enabledAt)
	return row{user: &u, sortKey: sk, upnKey: k, id: id}, nil
}

// querier is what the pool and a transaction share.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

func findRow(ctx context.Context, q querier, upn string, lock bool) (row, error) {
	sql := "SELECT " + userColumns + " FROM users u WHERE u.upn_key = $1"
	if lock {
		sql += " FOR UPDATE"
	}
	r, err := scanUser(q.QueryRow(ctx, sql, mfa.NormalizeUPN(upn)))
	if errors.Is(err, pgx.ErrNoRows) {
		return row{}, mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return r, err
}

// FindUser returns the user with the given UPN, case-insensitively.
func (d *DB) FindUser(ctx context.Context, upn string) (*mfa.User, error) {
	r, err := scanUser(d.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users u WHERE u.upn_key = $1", mfa.NormalizeUPN(upn)))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return r.user, err
}

// UpdateUser runs fn on the user's current record, locked for the transaction, and stores the
// change and its audit record together.
func (d *DB) UpdateUser(ctx context.Context, upn string, fn mfa.UserUpdate) (*mfa.User, error) {
	var out *mfa.User
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		r, err := findRow(ctx, tx, upn, true)
		if err != nil {
			return err
		}
		u := r.user
		before := *u
		rec, err := fn(u)
		if err != nil {
			return err
		}
		if rec == nil {
			out = r.user
			return nil
		}
		if err := writeUsers(ctx, tx, []userWrite{{id: r.id, before: &before, after: u}}); err != nil {
			return err
		}
		if err := d.appendAudit(ctx, tx, []*mfa.AuditRecord{rec}); err != nil {
			return err
		}
		u.Version++
		out = u
		return nil
	})
	return out, err
}
