package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// This file is the store's local index of users sourced from a remote directory (mfa.ExternalIndex,
// which the Microsoft Graph directory needs): the users table filled from there, each row linked to
// its external id (table graph_users, named before the index was neutral), and the state of the sync
// (directory_sync). The index is only ever written a page at a time, in one transaction each, so a
// failed sync leaves it as it was before that page.

var _ mfa.ExternalIndex = (*DB)(nil)

// IndexUsers writes users read from the remote directory into the index in one transaction: a user
// is found by its external id (or, the first time, by its user name) and updated, or inserted. A
// user whose name, filters, state or methods changed gets a new version; one read unchanged only a
// new read time. gen, when not 0, marks them as seen by that full sync.
func (d *DB) IndexUsers(ctx context.Context, users []mfa.ExternalUser, gen int64) error {
	return d.inTx(ctx, func(tx *sql.Tx) error {
		ins, err := newInserter(ctx, tx)
		if err != nil {
			return err
		}
		defer ins.close()
		byExternal, err := tx.PrepareContext(ctx, "SELECT "+userColumns+" FROM graph_users g CROSS JOIN users u ON u.id = g.user_id WHERE g.graph_id = ?")
		if err != nil {
			return err
		}
		defer byExternal.Close()
		for i := range users {
			if err := indexUser(ctx, tx, ins, byExternal, &users[i], gen); err != nil {
				return err
			}
		}
		return nil
	})
}

func indexUser(ctx context.Context, tx *sql.Tx, ins *inserter, byExternal *sql.Stmt, iu *mfa.ExternalUser, gen int64) error {
	key := mfa.NormalizeUPN(iu.UPN)
	r, err := scanUser(byExternal.QueryRowContext(ctx, iu.ExternalID))
	found := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	// Another row holding this user name (a user renamed remotely, or one left from the embedded
	// directory) gives way: the user it belongs to, if still there, comes back with its own name.
	var other int64
	err = tx.QueryRowContext(ctx, "SELECT id FROM users WHERE upn_key = ?", key).Scan(&other)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if other != 0 && (!found || other != r.id) {
		if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = ?", other); err != nil {
			return err
		}
	}
	if !found {
		u := mfa.User{UPN: iu.UPN, DisplayName: iu.DisplayName, AccountEnabled: iu.AccountEnabled, State: mfa.StateDisabled,
			Privileged: iu.PrivilegedRead && iu.Privileged}
		if iu.CoverageRead {
			u.Coverage = iu.Coverage
		}
		if iu.StateRead {
			u.State, u.Methods = iu.State, normalizeMethods(iu.Methods)
		}
		if err := ins.insert(ctx, &u, iu.ReadAt); err != nil {
			return err
		}
		switch {
		case !iu.StateRead:
			// Never read: the page shows no read time rather than a wrong one.
			if _, err := tx.ExecContext(ctx, "UPDATE users SET state_read_at = 0, methods_read_at = 0 WHERE upn_key = ?", key); err != nil {
				return err
			}
		case !iu.MethodsAt.IsZero():
			if _, err := tx.ExecContext(ctx, "UPDATE users SET methods_read_at = ? WHERE upn_key = ?", toMillis(iu.MethodsAt), key); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO graph_users (user_id, graph_id, sync_gen)
			SELECT id, ?, ? FROM users WHERE upn_key = ?`, iu.ExternalID, gen, key)
		return err
	}
	before := *r.user
	after := *r.user
	after.UPN, after.DisplayName, after.AccountEnabled = iu.UPN, iu.DisplayName, iu.AccountEnabled
	if iu.PrivilegedRead {
		after.Privileged = iu.Privileged
	}
	if iu.CoverageRead {
		after.Coverage = iu.Coverage
	}
	// A state read before the one indexed (a sync's page read while the user was changed through
	// the portal) is older news: keep the newer. Methods from the registration report (MethodsAt)
	// are kept out likewise when the index read the user's methods after the report's record.
	stateNews := iu.StateRead && !before.StateReadAt.After(iu.ReadAt)
	methodsAt := iu.ReadAt
	if !iu.MethodsAt.IsZero() {
		methodsAt = iu.MethodsAt
	}
	methodsNews := stateNews
	if stateNews && !iu.MethodsAt.IsZero() {
		var readAt int64
		if err := tx.QueryRowContext(ctx, "SELECT methods_read_at FROM users WHERE id = ?", r.id).Scan(&readAt); err != nil {
			return err
		}
		methodsNews = !fromMillis(readAt).After(iu.MethodsAt)
	}
	if methodsNews {
		methods := iu.Methods
		if !iu.DefaultRead {
			methods = keepDefault(before.Methods, methods)
		}
		after.Methods = normalizeMethods(methods)
	}
	if stateNews {
		if after.State != iu.State {
			after.State = iu.State
			after.HadMethodsWhenReenabled = false
		}
		after.StateReadAt = iu.ReadAt
	}
	// A change of Privileged goes through writeUser like one of a name or filter (a new version; the
	// whole row and its search terms rewritten).
	changed := before.UPN != after.UPN || before.DisplayName != after.DisplayName || before.AccountEnabled != after.AccountEnabled ||
		before.Privileged != after.Privileged || before.State != after.State || mfa.FormatMethodList(before.Methods) != mfa.FormatMethodList(after.Methods) ||
		!sameCoverage(before.Coverage, after.Coverage)
	if changed {
		if err := writeUser(ctx, tx, r.id, &before, &after); err != nil {
			return err
		}
	}
	switch {
	case methodsNews:
		if _, err := tx.ExecContext(ctx, "UPDATE users SET state_read_at = ?, methods_read_at = ? WHERE id = ?",
			toMillis(after.StateReadAt), toMillis(methodsAt), r.id); err != nil {
			return err
		}
	case stateNews && !changed:
		if _, err := tx.ExecContext(ctx, "UPDATE users SET state_read_at = ? WHERE id = ?", toMillis(iu.ReadAt), r.id); err != nil {
			return err
		}
	}
	if gen != 0 {
		if _, err := tx.ExecContext(ctx, "UPDATE graph_users SET sync_gen = ? WHERE user_id = ?", gen, r.id); err != nil {
			return err
		}
	}
	return nil
}

// keepDefault marks as default the method of next whose type was the default in prev.
func keepDefault(prev, next []mfa.Method) []mfa.Method {
	def := ""
	for _, m := range prev {
		if m.IsDefault {
			def = string(m.Type)
		}
	}
	out := slices.Clone(next)
	for i := range out {
		out[i].IsDefault = def != "" && string(out[i].Type) == def
	}
	return out
}

// normalizeMethods is methods as the users table keeps them (its first method is the default).
func normalizeMethods(ms []mfa.Method) []mfa.Method { return mfa.NormalizeMethods(ms) }

// RemoveUsersNotSynced deletes the users that the complete full sync gen did not see: users deleted
// remotely meanwhile, and users that were never linked to the remote directory (left from the
// embedded directory). It returns how many were removed.
func (d *DB) RemoveUsersNotSynced(ctx context.Context, gen int64) (int64, error) {
	var n int64
	err := d.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id NOT IN (SELECT user_id FROM graph_users WHERE sync_gen >= ?)`, gen)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// RemoveIndexedUser deletes one user from the index (deleted remotely meanwhile).
func (d *DB) RemoveIndexedUser(ctx context.Context, upn string) error {
	_, err := d.db.ExecContext(ctx, "DELETE FROM users WHERE upn_key = ?", mfa.NormalizeUPN(upn))
	return err
}

// ExternalIDs returns the external ids of indexed users, keyed by mfa.NormalizeUPN. Users not
// linked to the remote directory are absent.
func (d *DB) ExternalIDs(ctx context.Context, upns []string) (map[string]string, error) {
	out := make(map[string]string, len(upns))
	keys := make([]string, len(upns))
	for i, u := range upns {
		keys[i] = mfa.NormalizeUPN(u)
	}
	err := queryIn(ctx, d.db, `SELECT u.upn_key, g.graph_id FROM users u CROSS JOIN graph_users g ON g.user_id = u.id
		WHERE u.upn_key IN (?)`, keys, func(rows *sql.Rows) error {
		var k, id string
		if err := rows.Scan(&k, &id); err != nil {
			return err
		}
		out[k] = id
		return nil
	})
	return out, err
}

// SyncState returns the state of the sync and the generation of the running or last full sync.
func (d *DB) SyncState(ctx context.Context) (mfa.SyncStatus, int64, error) {
	var st mfa.SyncStatus
	var running int
	var gen, started, last, errAt int64
	err := d.db.QueryRowContext(ctx, `SELECT running, generation, started_at, last_sync, done, total, last_error, last_error_at
		FROM directory_sync WHERE id = 1`).Scan(&running, &gen, &started, &last, &st.Done, &st.Total, &st.LastError, &errAt)
	if errors.Is(err, sql.ErrNoRows) {
		return st, 0, nil
	}
	st.Running, st.StartedAt, st.LastSync, st.LastErrorAt = running == 1, fromMillis(started), fromMillis(last), fromMillis(errAt)
	return st, gen, err
}

// BeginSync records that the full sync gen started at at.
func (d *DB) BeginSync(ctx context.Context, gen int64, at time.Time) error {
	_, err := d.db.ExecContext(ctx, `UPDATE directory_sync SET running = 1, generation = ?, started_at = ?, done = 0, total = 0 WHERE id = 1`,
		gen, toMillis(at))
	return err
}

// SetSyncProgress records how many users the running sync has read, of how many.
func (d *DB) SetSyncProgress(ctx context.Context, done, total int) error {
	_, err := d.db.ExecContext(ctx, "UPDATE directory_sync SET done = ?, total = ? WHERE id = 1", done, total)
	return err
}

// FinishSync records the end of the running sync at at: complete when errMsg is "", failed with
// errMsg otherwise (the time of the last complete sync is then kept).
func (d *DB) FinishSync(ctx context.Context, at time.Time, errMsg string) error {
	var err error
	if errMsg == "" {
		_, err = d.db.ExecContext(ctx, "UPDATE directory_sync SET running = 0, last_sync = ?, last_error = '', last_error_at = 0 WHERE id = 1", toMillis(at))
	} else {
		_, err = d.db.ExecContext(ctx, "UPDATE directory_sync SET running = 0, last_error = ?, last_error_at = ? WHERE id = 1", errMsg, toMillis(at))
	}
	return err
}

// FinishSyncWithWarning records the end of the running sync at at as complete (the time of the
// last complete sync is at), with a warning shown like an error: a part of the directory could not
// be read and is kept as last read (e.g. the admin roles, without the permission to read them).
func (d *DB) FinishSyncWithWarning(ctx context.Context, at time.Time, warning string) error {
	_, err := d.db.ExecContext(ctx, "UPDATE directory_sync SET running = 0, last_sync = ?, last_error = ?, last_error_at = ? WHERE id = 1",
		toMillis(at), warning, toMillis(at))
	return err
}

// SetDirectoryError records a failure to reach the directory outside a sync ("" clears it).
func (d *DB) SetDirectoryError(ctx context.Context, msg string, at time.Time) error {
	if msg == "" {
		_, err := d.db.ExecContext(ctx, "UPDATE directory_sync SET last_error = '', last_error_at = 0 WHERE id = 1 AND last_error <> ''")
		return err
	}
	_, err := d.db.ExecContext(ctx, "UPDATE directory_sync SET last_error = ?, last_error_at = ? WHERE id = 1", msg, toMillis(at))
	return err
}
