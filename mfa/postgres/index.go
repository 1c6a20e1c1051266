package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mfaportal/mfaportal/mfa"
)

// This file is the store's local index of users sourced from a remote directory (mfa.ExternalIndex,
// which the Microsoft Graph directory needs): the users table filled from there, each row linked to
// its external id (graph_users), and the sync's state (directory_sync, sync.go). The index is
// written a page of the remote directory at a time, in one transaction each.

var _ mfa.ExternalIndex = (*DB)(nil)

// IndexUsers writes users read from the remote directory in one transaction, as mfa/sqlite does
// one by one: a user is found by its external id (or, the first time, by its user name; another
// row holding that name gives way) and updated, or inserted. A user whose name, filters, state or
// methods changed gets a new version; one read unchanged only a new read time. gen, when not 0,
// marks them as seen by that full sync. A page is read and written in a few statements; one where
// users take each other's names (or one is listed twice) is written user by user, in its order.
func (d *DB) IndexUsers(ctx context.Context, users []mfa.ExternalUser, gen int64) error {
	return d.inTx(ctx, func(tx pgx.Tx) error {
		found, err := findIndexed(ctx, tx, users)
		if err != nil {
			return err
		}
		if !found.inOrder(users) {
			for i := range users {
				if err := indexPage(ctx, tx, users[i:i+1], gen); err != nil {
					return err
				}
			}
			return nil
		}
		return indexPage(ctx, tx, users, gen)
	})
}

// indexed are the rows a page of users touches, locked: by external id (with when their methods
// were read), and by user-name key.
type indexed struct {
	byExternal    map[string]row
	methodsReadAt map[int64]time.Time
	byKey         map[string]row
}

func findIndexed(ctx context.Context, tx pgx.Tx, users []mfa.ExternalUser) (indexed, error) {
	ext, upns := make([]string, len(users)), make([]string, len(users))
	for i, u := range users {
		ext[i], upns[i] = u.ExternalID, u.UPN
	}
	ix := indexed{byExternal: map[string]row{}, methodsReadAt: map[int64]time.Time{}}
	rows, err := tx.Query(ctx, "SELECT g.graph_id, u.methods_read_at, "+userColumns+` FROM graph_users g JOIN users u ON u.id = g.user_id
		WHERE g.graph_id = ANY($1::text[]) ORDER BY u.id FOR UPDATE OF u`, ext)
	if err != nil {
		return ix, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var methodsAt int64
		r, err := scanUser(prefixed{rows, []any{&id, &methodsAt}})
		if err != nil {
			return ix, err
		}
		ix.byExternal[id], ix.methodsReadAt[r.id] = r, fromMillis(methodsAt)
	}
	if err := rows.Err(); err != nil {
		return ix, err
	}
	ix.byKey, err = findRowsByUPN(ctx, tx, upns, true)
	return ix, err
}

// prefixed scans the first columns into first, then the rest as r would.
type prefixed struct {
	r     pgx.Rows
	first []any
}

func (p prefixed) Scan(dest ...any) error { return p.r.Scan(append(p.first, dest...)...) }

// inOrder says whether the page can be written at once: no user or name twice, and no user's name
// held by the row of another user of the page (whom giving way would drop first or last, by order).
func (ix indexed) inOrder(users []mfa.ExternalUser) bool {
	own := map[int64]bool{}
	for _, u := range users {
		if r, ok := ix.byExternal[u.ExternalID]; ok {
			own[r.id] = true
		}
	}
	seen := map[string]bool{}
	for _, u := range users {
		k := mfa.NormalizeUPN(u.UPN)
		if seen[k] || seen["\x00"+u.ExternalID] {
			return false
		}
		seen[k], seen["\x00"+u.ExternalID] = true, true
		holder, held := ix.byKey[k]
		mine, found := ix.byExternal[u.ExternalID]
		if held && (!found || holder.id != mine.id) && own[holder.id] {
			return false
		}
	}
	return true
}

// indexPage writes a page of users whose names no other user of the page holds.
func indexPage(ctx context.Context, tx pgx.Tx, users []mfa.ExternalUser, gen int64) error {
	ix, err := findIndexed(ctx, tx, users)
	if err != nil {
		return err
	}
	// Rows holding a user's name that are not its own give way: the user they belong to, if still
	// there, comes back with its own name.
	var gone []int64
	for _, u := range users {
		holder, held := ix.byKey[mfa.NormalizeUPN(u.UPN)]
		if mine, found := ix.byExternal[u.ExternalID]; held && (!found || holder.id != mine.id) {
			gone = append(gone, holder.id)
		}
	}
	if len(gone) > 0 {
		if _, err := tx.Exec(ctx, "DELETE FROM users WHERE id = ANY($1::bigint[])", gone); err != nil {
			return err
		}
	}
	var fresh []*mfa.User
	var freshIDs, unread []string
	var freshMethodsAt []time.Time
	var writes []userWrite
	var read readTimes
	var seen []int64
	for i := range users {
		iu := &users[i]
		r, found := ix.byExternal[iu.ExternalID]
		if !found || slices.Contains(gone, r.id) {
			fresh, freshIDs = append(fresh, newIndexed(iu)), append(freshIDs, iu.ExternalID)
			freshMethodsAt = append(freshMethodsAt, iu.MethodsAt)
			if !iu.StateRead {
				unread = append(unread, mfa.NormalizeUPN(iu.UPN))
			}
			continue
		}
		before, after := *r.user, *r.user
		ch := indexChange(iu, &before, &after, ix.methodsReadAt[r.id])
		if ch.changed {
			writes = append(writes, userWrite{id: r.id, before: &before, after: &after})
		}
		switch {
		case ch.methodsNews:
			read.add(r.id, after.StateReadAt, ch.methodsAt)
		case ch.stateNews && !ch.changed:
			read.add(r.id, iu.ReadAt, time.Time{})
		}
		seen = append(seen, r.id)
	}
	if err := writeUsers(ctx, tx, writes); err != nil {
		return err
	}
	if err := read.store(ctx, tx); err != nil {
		return err
	}
	ids, err := insertUsers(ctx, tx, fresh, time.Now())
	if err != nil {
		return err
	}
	// Never read: the page shows no read time rather than a wrong one. Methods read from the
	// registration report are as of its record.
	if _, err := tx.Exec(ctx, "UPDATE users SET state_read_at = 0, methods_read_at = 0 WHERE upn_key = ANY($1::text[])", unread); err != nil {
		return err
	}
	var reported readTimes
	for i, u := range fresh {
		if at := freshMethodsAt[i]; !at.IsZero() && !slices.Contains(unread, mfa.NormalizeUPN(u.UPN)) {
			reported.add(ids[i], u.StateReadAt, at)
		}
	}
	if err := reported.store(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO graph_users (user_id, graph_id, sync_gen) SELECT id, ext, $3
		FROM unnest($1::bigint[], $2::text[]) AS v (id, ext)`, ids, freshIDs, gen); err != nil {
		return err
	}
	if gen != 0 {
		_, err = tx.Exec(ctx, "UPDATE graph_users SET sync_gen = $1 WHERE user_id = ANY($2::bigint[])", gen, seen)
	}
	return err
}

// RemoveUsersNotSynced deletes the users that the complete full sync gen did not see: users deleted
// remotely meanwhile, and users never linked to the remote directory (left from the embedded
// directory). It returns how many were removed.
func (d *DB) RemoveUsersNotSynced(ctx context.Context, gen int64) (int64, error) {
	tag, err := d.pool.Exec(ctx, `DELETE FROM users u WHERE NOT EXISTS (SELECT 1 FROM graph_users g WHERE g.user_id = u.id AND g.sync_gen >= $1)`, gen)
	if err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}

// RemoveIndexedUser deletes one user from the index (deleted remotely meanwhile).
func (d *DB) RemoveIndexedUser(ctx context.Context, upn string) error {
	_, err := d.pool.Exec(ctx, "DELETE FROM users WHERE upn_key = $1", mfa.NormalizeUPN(upn))
	return err
}

// ExternalIDs returns the external ids of indexed users, keyed by mfa.NormalizeUPN. Users not
// linked to the remote directory are absent.
func (d *DB) ExternalIDs(ctx context.Context, upns []string) (map[string]string, error) {
	keys := make([]string, len(upns))
	for i, u := range upns {
		keys[i] = mfa.NormalizeUPN(u)
	}
	rows, err := d.pool.Query(ctx, `SELECT u.upn_key, g.graph_id FROM users u JOIN graph_users g ON g.user_id = u.id
		WHERE u.upn_key = ANY($1::text[])`, keys)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(upns))
	var k, id string
	_, err = pgx.ForEachRow(rows, []any{&k, &id}, func() error {
		out[k] = id
		return nil
	})
	return out, err
}
