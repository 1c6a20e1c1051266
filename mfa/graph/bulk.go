package graph

import (
	"context"
	"slices"
	"sync"

	"github.com/mfaportal/mfaportal/mfa"
)

// bulkRow is one user of UpdateUsers on its way. Its outcome comes only from Graph's answers about
// this user: read (the state it has: unchanged, or the change to make), written (204: changed), or
// failed with Graph's message. A row with none of these stays pending.
type bulkRow struct {
	upn  string
	id   string
	cur  *mfa.User // as indexed, then as Graph has it
	st   userState // as read from Graph
	want mfa.User
	rec  *mfa.AuditRecord
	got  userState

	mu     sync.Mutex
	marked bool // the store notes a write of this row sent without an answer (unsureKey)
	read   bool // Graph's state was read
	wrote  bool // Graph answered the write with success
	done   bool // the row has its outcome: unchanged, changed, or err
	fail   *failure
	err    error // fn's refusal, or the domain error of fail
}

func (row *bulkRow) finish(f func()) {
	row.mu.Lock()
	defer row.mu.Unlock()
	f()
	row.done = true
}

// UpdateUsers is bulk update's batch. For each user it reads the state from Graph (GET requirements,
// in fully parallel $batch requests of 20), runs fn on a copy to learn the change, PATCHes the rows to
// change (fully parallel batches again: writes go first, reads fill the rest), reads back the state
// of those asked to be Enabled (the one state Graph may not keep: it enforces a user who has methods),
// and stores every user as Graph has them, with fn's audit records, in one transaction.
//
// A row is counted from Graph's answer about it: unchanged only when Graph's state was read and is
// what fn asks; changed only when Graph accepted the write; failed with Graph's message when Graph
// refused a request (never retried) or a request kept failing. A refused change keeps fn's record,
// with outcome "failed". If Graph cannot be reached at all or refuses the credentials or a
// permission, the error is returned: the rows with an answer have their outcome, the others have
// neither a user nor an error, and the job keeps them pending and tries again.
//
// The refs' ids are the index's (a bulk row's, from planning); the index is read by UPN here, as it
// must be checked against Graph anyway.
func (d *Directory) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(i int, u *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	upns := make([]string, len(refs))
	for i, r := range refs {
		upns[i] = r.UPN
	}
	indexed, err := d.db.FindUsersByUPN(ctx, upns)
	if err != nil {
		return nil, nil, err
	}
	ids, err := d.db.ExternalIDs(ctx, upns)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]*bulkRow, len(upns))
	errs := make([]error, len(upns))
	r := d.c.newRun(ctx)
	for i, upn := range upns {
		key := mfa.NormalizeUPN(upn)
		row := &bulkRow{upn: upn, id: ids[key], cur: indexed[key]}
		rows[i] = row
		if row.cur == nil || row.id == "" {
			errs[i] = mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
			continue
		}
		sentFrom, err := d.db.Meta(ctx, unsureKey(upn))
		if err != nil {
			return nil, nil, err
		}
		row.marked = sentFrom != ""
		d.readRow(r, row, mfa.State(sentFrom), func(u *mfa.User) (*mfa.AuditRecord, error) { return fn(i, u) })
	}
	runErr := r.wait()
	if runErr != nil {
		runErr = asDomain(runErr)
		d.noteError(ctx, "bulk update", runErr)
	}
	users, err := d.storeRows(context.WithoutCancel(ctx), rows, errs)
	if err != nil {
		return nil, nil, err
	}
	return users, errs, runErr
}

// unsureKey is the meta key noting that a bulk write of the user was sent and its answer has not
// come; its value is the user's state before it. Kept in the store, not in memory, so that the
// process or replica that resumes a job stopped meanwhile (killed, restarted) reads it too.
func unsureKey(upn string) string { return "graph.unsure-write:" + mfa.NormalizeUPN(upn) }

// readRow reads a row's state and, when fn wants a change, writes it. sentFrom is the state
// before a write of this row that was sent and never answered ("" if none).
func (d *Directory) readRow(r *run, row *bulkRow, sentFrom mfa.State, fn mfa.UserUpdate) {
	req := &step{info: d.c.requirementsInfo(row.id, ""), units: 1}
	r.submit(&op{beta: true, steps: []*step{req}, then: func(o *op) {
		if o.fail != nil {
			row.finish(func() { row.fail, row.err = o.fail, o.fail.asError() })
			return
		}
		state, f := stateFromRequirements(req)
		if f != nil {
			row.finish(func() { row.fail, row.err = f, f.asError() })
			return
		}
		row.mu.Lock()
		row.st, row.read = userState{state: state, readAt: d.cfg.Now().UTC()}, true
		now := *row.cur
		if now.State != state {
			now.State, now.HadMethodsWhenReenabled = state, false
		}
		if sentFrom != "" && sentFrom != state {
			// A write of this row was sent before and its answer never came (the run stopped):
			// Graph's state shows it was applied. fn sees the state before it, so that the change
			// is counted and recorded once.
			now.State = sentFrom
		}
		row.want = now
		row.want.Methods = slices.Clone(now.Methods)
		row.mu.Unlock()
		rec, err := fn(&row.want)
		switch {
		case err != nil || rec == nil:
			row.finish(func() { row.err = err }) // fn's refusal, or unchanged: Graph has what is asked
			return
		case row.want.State == state:
			row.finish(func() { row.rec, row.got, row.wrote = rec, row.st, true })
			return
		}
		// Noted before the write is sent, removed once the row's outcome is stored (storeRows).
		if err := d.db.SetMeta(context.WithoutCancel(r.ctx), unsureKey(row.upn), string(state)); err != nil {
			r.stop(err) // the row stays pending: the job pauses and tries again
			return
		}
		row.mu.Lock()
		row.rec, row.marked = rec, true
		row.mu.Unlock()
		d.c.writeState(r, row.id, row.want.State, func(got mfa.State, f *failure) {
			row.finish(func() {
				if f != nil {
					row.fail, row.err = f, f.asError()
					return
				}
				row.got, row.wrote = userState{state: got, readAt: d.cfg.Now().UTC()}, true
			})
		})
	}})
}

// storeRows stores what the rows learnt: the users Graph changed with their records, the state
// read of the others, the failed records of refused changes; and answers each row's user or error
// (neither for a row without an outcome).
func (d *Directory) storeRows(ctx context.Context, rows []*bulkRow, errs []error) ([]*mfa.User, error) {
	users := make([]*mfa.User, len(rows))
	var refresh []mfa.ExternalUser
	var changed []string
	var changedRows []*bulkRow
	var plain []string
	for _, row := range rows {
		row.mu.Lock() // a then of a stopped run may still be running
	}
	defer func() {
		for _, row := range rows {
			row.mu.Unlock()
		}
	}()
	for i, row := range rows {
		switch {
		case errs[i] != nil:
			continue
		case isNotFound(row.fail):
			errs[i] = d.deletedMeanwhile(ctx, row.upn)
			continue
		case row.wrote:
			changed, changedRows = append(changed, row.upn), append(changedRows, row)
			continue
		case row.read:
			st := row.st
			iu := indexUser(row.id, row.cur, &st)
			iu.Methods, iu.DefaultRead = row.cur.Methods, true
			refresh = append(refresh, iu)
		}
		if row.done && row.err == nil {
			plain = append(plain, row.upn)
		}
		if row.rec != nil && row.fail != nil {
			// Graph refused the change (or kept failing): the attempt is recorded, as failed.
			rec := *row.rec
			setFromGraph(&row.want, &row.want, &row.st, &rec, row.fail)
			if err := d.db.AppendAudit(ctx, &rec); err != nil {
				return nil, err
			}
		}
		if row.done {
			errs[i] = row.err
		}
	}
	if len(refresh) > 0 {
		if err := d.db.IndexUsers(ctx, refresh, 0); err != nil {
			return nil, err
		}
	}
	if len(changed) > 0 {
		after, rowErrs, err := d.db.UpdateUsers(ctx, mfa.Refs(changed), func(k int, u *mfa.User) (*mfa.AuditRecord, error) {
			row := changedRows[k]
			setFromGraph(u, &row.want, &row.got, row.rec, nil)
			return row.rec, nil
		})
		if err != nil {
			return nil, err
		}
		for k, row := range changedRows {
			row.cur, row.err = after[k], rowErrs[k]
		}
	}
	// Unchanged users as the index has them now.
	fresh, err := d.db.FindUsersByUPN(ctx, plain)
	if err != nil {
		return nil, err
	}
	for i, row := range rows {
		switch {
		case errs[i] != nil:
		case row.wrote:
			users[i], errs[i] = row.cur, row.err
		case row.done && row.err == nil:
			users[i] = fresh[mfa.NormalizeUPN(row.upn)]
		}
	}
	// The outcomes are stored: the notes of writes sent are answered. A row without an outcome
	// keeps its note for the next read.
	var answered []string
	for _, row := range rows {
		if row.marked && row.done {
			answered = append(answered, unsureKey(row.upn))
		}
	}
	if err := d.db.DeleteMeta(ctx, answered...); err != nil {
		return nil, err
	}
	return users, nil
}
