package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// FindUsersByUPN looks many users up at once (one query for any number: an array parameter).
func (d *DB) FindUsersByUPN(ctx context.Context, upns []string) (map[string]*mfa.User, error) {
	found, err := findRowsByUPN(ctx, d.pool, upns, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*mfa.User, len(found))
	for k, r := range found {
		out[k] = r.user
	}
	return out, nil
}

// LookupForPlan reads what planning a bulk row needs of each user: five columns, by the user-name
// index, all keys in one query.
func (d *DB) LookupForPlan(ctx context.Context, keys []string) (map[string]mfa.PlanUser, error) {
	out := make(map[string]mfa.PlanUser, len(keys))
	rows, err := d.pool.Query(ctx, "SELECT upn_key, id, state, privileged, methods <> '' FROM users WHERE upn_key = ANY($1::text[])", keys)
	if err != nil {
		return nil, err
	}
	var key, state string
	var id int64
	var u mfa.PlanUser
	_, err = pgx.ForEachRow(rows, []any{&key, &id, &state, &u.Privileged, &u.HasMethods}, func() error {
		u.ID, u.State = strconv.FormatInt(id, 10), stateOf(state)
		out[key] = u
		return nil
	})
	return out, err
}

// stateOf is the State spelled s, sharing the constants' strings.
func stateOf(s string) mfa.State {
	for _, st := range []mfa.State{mfa.StateDisabled, mfa.StateEnabled, mfa.StateEnforced} {
		if s == string(st) {
			return st
		}
	}
	return mfa.State(s)
}

// findRowsByUPN reads users by UPN, keyed by mfa.NormalizeUPN; lock takes them for update.
func findRowsByUPN(ctx context.Context, q querier, upns []string, lock bool) (map[string]row, error) {
	keys := make([]string, len(upns))
	for i, u := range upns {
		keys[i] = mfa.NormalizeUPN(u)
	}
	sql := "SELECT " + userColumns + " FROM users u WHERE u.upn_key = ANY($1::text[])"
	if lock {
		sql += " ORDER BY u.id FOR UPDATE"
	}
	rows, err := q.Query(ctx, sql, keys)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string]row, len(upns))
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out[mfa.NormalizeUPN(r.user.UPN)] = r
	}
	return out, rows.Err()
}

// findRowsByID reads users by id, locked for update (in id order, so that two batches never wait
// for each other in a circle).
func findRowsByID(ctx context.Context, q querier, ids []int64) (map[int64]row, error) {
	rows, err := q.Query(ctx, "SELECT "+userColumns+" FROM users u WHERE u.id = ANY($1::bigint[]) ORDER BY u.id FOR UPDATE", ids)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]row, len(ids))
	for rows.Next() {
		r, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out[r.id] = r
	}
	return out, rows.Err()
}

// findRefs reads (and locks) the users of refs: by id where the ref has one and the user still has
// the ref's UPN, by UPN otherwise. A user named twice is one row (one *mfa.User) for both.
func findRefs(ctx context.Context, q querier, refs []mfa.UserRef) ([]*row, error) {
	var ids []int64
	for _, ref := range refs {
		if id, err := strconv.ParseInt(ref.ID, 10, 64); err == nil && id > 0 {
			ids = append(ids, id)
		}
	}
	byID, err := findRowsByID(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*row, len(refs))
	var byName []string
	for i, ref := range refs {
		id, _ := strconv.ParseInt(ref.ID, 10, 64)
		if r, ok := byID[id]; ok && mfa.NormalizeUPN(r.user.UPN) == mfa.NormalizeUPN(ref.UPN) {
			out[i] = &r
		} else {
			byName = append(byName, ref.UPN)
		}
	}
	if len(byName) > 0 {
		byUPN, err := findRowsByUPN(ctx, q, byName, true)
		if err != nil {
			return nil, err
		}
		for i, ref := range refs {
			if r, ok := byUPN[mfa.NormalizeUPN(ref.UPN)]; out[i] == nil && ok {
				out[i] = &r
			}
		}
	}
	seen := map[int64]*row{}
	for i, r := range out {
		if r == nil {
			continue
		}
		if first, ok := seen[r.id]; ok {
			out[i] = first
		} else {
			seen[r.id] = r
		}
	}
	return out, nil
}

// UpdateUsers changes many users in one transaction; each user's fn error is its own. The users
// are read (and locked) by one query, their changes stored by one statement and their audit
// records appended by one COPY: bulk update's hot path.
func (d *DB) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(i int, u *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	users := make([]*mfa.User, len(refs))
	errs := make([]error, len(refs))
	err := d.inTx(ctx, func(tx pgx.Tx) error {
		if err := checkFence(ctx, tx); err != nil {
			return err
		}
		found, err := findRefs(ctx, tx, refs)
		if err != nil {
			return err
		}
		var writes []userWrite
		var records []*mfa.AuditRecord
		for i, ref := range refs {
			r := found[i]
			if r == nil {
				errs[i] = mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", ref.UPN)
				continue
			}
			// r.user is shared by repeated UPNs, so that a later one sees the earlier change.
			before := *r.user
			rec, err := fn(i, r.user)
			if err != nil {
				errs[i] = err
				*r.user = before
				users[i] = &before
				continue
			}
			if rec != nil {
				stampEnabled(&before, r.user)
				writes = append(writes, userWrite{id: r.id, before: &before, after: r.user})
				records = append(records, rec)
				after := *r.user
				writes[len(writes)-1].after = &after
				r.user.Version++
			}
			u := *r.user
			users[i] = &u
		}
		if err := writeUsers(ctx, tx, writes); err != nil {
			return err
		}
		return d.appendAudit(ctx, tx, records)
	})
	if err != nil {
		return nil, nil, err
	}
	return users, errs, nil
}
