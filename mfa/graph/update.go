package graph

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mfaportal/mfaportal/mfa"
)

// graphID returns the Graph object id of an indexed user; ENOTFOUND when the index has none.
func (d *Directory) graphID(ctx context.Context, upn string) (string, error) {
	ids, err := d.db.ExternalIDs(ctx, []string{upn})
	if err != nil {
		return "", err
	}
	id := ids[mfa.NormalizeUPN(upn)]
	if id == "" {
		return "", mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
	}
	return id, nil
}

func (d *Directory) deletedMeanwhile(ctx context.Context, upn string) error {
	if err := d.db.RemoveIndexedUser(context.WithoutCancel(ctx), upn); err != nil {
		return err
	}
	return mfa.Errorf(mfa.ENOTFOUND, "%s was deleted in Microsoft Graph meanwhile: removed from the list", upn)
}

// indexUser is st (what Graph said of the user id) as a row for the index.
func indexUser(id string, u *mfa.User, st *userState) mfa.ExternalUser {
	return mfa.ExternalUser{ExternalID: id, UPN: u.UPN, DisplayName: u.DisplayName, AccountEnabled: u.AccountEnabled,
		StateRead: true, State: st.state, Methods: st.domainMethods(), DefaultRead: st.defaultRead, ReadAt: st.readAt}
}

// UpdateUser changes one user in Graph: it reads the user's state, methods and default method from
// Graph (the index may be behind: a change found there gives the user a new version), runs fn on a
// copy to learn the change wanted, applies it (PATCH requirements, reading the state back when asking
// for Enabled — Graph enforces a user enabled while holding methods; or deletes the methods, the
// default last, and reads them back), and stores the user as Graph has it, with fn's audit record
// saying what Graph did, in one transaction.
//
// When Graph refuses the change (or a request of it keeps failing), the user is stored as Graph has
// it, fn's record is kept with the outcome "failed" and Graph's message, and the error (EUNAVAILABLE)
// carries that message. When Graph cannot be reached at all, the index is left as it was
// (EUNAVAILABLE). A user deleted in Graph meanwhile is removed from the index (ENOTFOUND).
func (d *Directory) UpdateUser(ctx context.Context, upn string, fn mfa.UserUpdate) (*mfa.User, error) {
	defer d.lock(upn)()
	if _, err := d.db.FindUser(ctx, upn); err != nil {
		return nil, err
	}
	id, err := d.graphID(ctx, upn)
	if err != nil {
		return nil, err
	}
	// What Graph has now.
	st := &userState{}
	r := d.c.newRun(ctx)
	r.submit(d.c.readOp(id, st, true, nil))
	if err := r.wait(); err != nil {
		err = asDomain(err)
		d.noteError(ctx, "reading "+upn, err)
		return nil, err
	}
	if isNotFound(st.fail) {
		return nil, d.deletedMeanwhile(ctx, upn)
	}
	if st.fail != nil {
		return nil, st.fail.asError()
	}
	cur, err := d.db.FindUser(ctx, upn)
	if err != nil {
		return nil, err
	}
	if err := d.db.IndexUsers(ctx, []mfa.ExternalUser{indexUser(id, cur, st)}, 0); err != nil {
		return nil, err
	}
	if cur, err = d.db.FindUser(ctx, upn); err != nil {
		return nil, err
	}
	// The change wanted.
	want := *cur
	want.Methods = slices.Clone(cur.Methods)
	rec, err := fn(&want)
	if err != nil || rec == nil {
		return cur, err
	}
	if want.AppPasswords != cur.AppPasswords || !want.RememberedDevicesNotBefore.Equal(cur.RememberedDevicesNotBefore) {
		return nil, mfa.Errorf(mfa.EUNAVAILABLE, "app passwords and remembered devices cannot be changed through Microsoft Graph")
	}
	// Apply it, and read back what Graph did.
	got, fail, err := d.apply(ctx, id, cur, &want, st)
	if err != nil {
		err = asDomain(err)
		d.noteError(ctx, "changing "+upn, err)
		return nil, err
	}
	if isNotFound(fail) {
		return nil, d.deletedMeanwhile(ctx, upn)
	}
	after, err := d.db.UpdateUser(context.WithoutCancel(ctx), upn, func(u *mfa.User) (*mfa.AuditRecord, error) {
		setFromGraph(u, &want, got, rec, fail)
		return rec, nil
	})
	if err != nil {
		return nil, err
	}
	if fail != nil {
		return nil, fail.asError()
	}
	return after, nil
}

// setFromGraph sets u to what Graph answered (got) after the change wanted, and makes the audit
// record say what Graph really did; fail is why the change was not (entirely) made.
func setFromGraph(u, want *mfa.User, got *userState, rec *mfa.AuditRecord, fail *failure) {
	u.State, u.StateReadAt = got.state, got.readAt
	u.HadMethodsWhenReenabled = got.state == mfa.StateEnabled && want.HadMethodsWhenReenabled
	if got.methods != nil {
		u.Methods = mfa.NormalizeMethods(got.domainMethods())
	}
	switch rec.Action {
	case mfa.AuditEnable, mfa.AuditEnforce, mfa.AuditDisable:
		switch {
		case fail != nil:
			rec.After = fmt.Sprintf("%s (not changed: %s)", got.state.Label(), mfa.ErrorMessage(fail.asError()))
		case got.state != want.State:
			rec.After = fmt.Sprintf("%s (Microsoft Graph set %s, not %s: the user already has registered methods)", got.state.Label(), got.state.Label(), want.State.Label())
		default:
			rec.After = got.state.Label()
		}
	case mfa.AuditResetUser:
		m := mfa.FormatMethodList(u.Methods)
		if m == "" {
			m = "none"
		}
		rec.After = "methods: " + m
		if fail != nil {
			rec.After += " (" + mfa.ErrorMessage(fail.asError()) + ")"
		}
	}
	if fail != nil {
		rec.Outcome = mfa.OutcomeFailed
	}
}

// apply makes in Graph the change from cur to want and answers Graph's state (and methods, when
// they were deleted) afterwards, and fail when a request of the change was refused or kept
// failing. err is set when the run stopped (Graph unreachable, credentials refused).
func (d *Directory) apply(ctx context.Context, id string, cur, want *mfa.User, st *userState) (got *userState, fail *failure, err error) {
	got = &userState{state: st.state, readAt: st.readAt}
	r := d.c.newRun(ctx)
	var mu sync.Mutex
	note := func(f *failure) {
		if f != nil && fail == nil {
			fail = f
		}
	}
	if want.State != cur.State {
		d.c.writeState(r, id, want.State, func(state mfa.State, f *failure) {
			mu.Lock()
			defer mu.Unlock()
			note(f)
			if f == nil {
				got.state, got.readAt = state, d.cfg.Now().UTC()
			}
		})
	}
	if len(want.Methods) == 0 && len(st.methods) > 0 {
		d.c.resetMethods(r, id, st.methods, func(left []graphMethod, f *failure) {
			mu.Lock()
			defer mu.Unlock()
			note(f)
			got.methods = left
		})
	}
	if err := r.wait(); err != nil {
		return nil, nil, err
	}
	return got, fail, nil
}

// writeState PATCHes a user's per-user MFA state and calls done with the state Graph has then:
// asking for Enabled, the state is read back in a later op (Graph enforces a user who already has
// methods); other states are as asked once the PATCH got its 204. When the read-back fails, the
// change was made all the same (Graph answered the PATCH): done gets the state asked.
func (c *client) writeState(r *run, id string, to mfa.State, done func(mfa.State, *failure)) {
	patch := &step{info: c.requirementsInfo(id, to), units: 1, write: true}
	r.submit(&op{beta: true, steps: []*step{patch}, then: func(o *op) {
		if o.fail != nil || to != mfa.StateEnabled {
			done(to, o.fail)
			return
		}
		read := &step{info: c.requirementsInfo(id, ""), units: 1}
		r.submit(&op{beta: true, steps: []*step{read}, then: func(o *op) {
			state := to
			if o.fail == nil {
				if s, f := stateFromRequirements(read); f == nil {
					state = s
				}
			}
			done(state, nil)
		}})
	}})
}
