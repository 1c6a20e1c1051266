package graph

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// graphID returns the Graph object id of an indexed user; ENOTFOUND when the index has none.
func (d *Directory) graphID(ctx context.Context, upn string) (string, error) {
	ids, err := d.db.GraphIDs(ctx, []string{upn})
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
func indexUser(id string, u *mfa.User, st *userState) sqlite.IndexUser {
	return sqlite.IndexUser{GraphID: id, UPN: u.UPN, DisplayName: u.DisplayName, AccountEnabled: u.AccountEnabled,
		StateRead: true, State: st.state, Methods: st.domainMethods(), DefaultRead: st.defaultRead, ReadAt: st.readAt}
}

// UpdateUser changes one user in Graph: it reads the user's state, methods and default method from
// Graph (the index may be behind: a change found there gives the user a new version), runs fn on a
// copy to learn the change wanted, applies it (PATCH requirements, then reads the state back — Graph
// enforces a user enabled while holding methods; or deletes the methods one by one, the default
// last, and reads them back), and stores the user as Graph has it, with fn's audit record saying
// what Graph did, in one transaction. A Graph failure leaves the index as it was and answers
// EUNAVAILABLE with Graph's message; a user deleted in Graph meanwhile is removed from the index
// (ENOTFOUND).
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
	for _, o := range d.c.readOps(ctx, id, st, true, nil) {
		r.submit(o)
	}
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
	if err := d.db.IndexUsers(ctx, []sqlite.IndexUser{indexUser(id, cur, st)}, 0); err != nil {
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
	got, err := d.apply(ctx, id, cur, &want, st)
	if err != nil {
		err = asDomain(err)
		if mfa.ErrorCode(err) == mfa.ENOTFOUND {
			return nil, d.deletedMeanwhile(ctx, upn)
		}
		d.noteError(ctx, "changing "+upn, err)
		return nil, err
	}
	return d.db.UpdateUser(ctx, upn, func(u *mfa.User) (*mfa.AuditRecord, error) {
		setFromGraph(u, &want, got, rec)
		return rec, nil
	})
}

// setFromGraph sets u to what Graph answered (got) after the change wanted, and makes the audit
// record say what Graph really did.
func setFromGraph(u, want *mfa.User, got *userState, rec *mfa.AuditRecord) {
	u.State, u.StateReadAt = got.state, got.readAt
	u.HadMethodsWhenReenabled = got.state == mfa.StateEnabled && want.HadMethodsWhenReenabled
	if got.methods != nil {
		u.Methods = sqlite.NormalizeMethods(got.domainMethods())
	}
	switch rec.Action {
	case mfa.AuditEnable, mfa.AuditEnforce, mfa.AuditDisable:
		if got.state != want.State {
			rec.After = fmt.Sprintf("%s (Microsoft Graph set %s, not %s: the user already has registered methods)", got.state.Label(), got.state.Label(), want.State.Label())
		} else {
			rec.After = got.state.Label()
		}
	case mfa.AuditResetUser:
		m := mfa.FormatMethodList(u.Methods)
		if m == "" {
			m = "none"
		}
		rec.After = "methods: " + m
	}
}

// apply makes in Graph the change from cur to want and answers Graph's state (and methods, when
// they were deleted) afterwards.
func (d *Directory) apply(ctx context.Context, id string, cur, want *mfa.User, st *userState) (*userState, error) {
	got := &userState{state: st.state, readAt: st.readAt}
	r := d.c.newRun(ctx)
	var mu sync.Mutex
	var fail *failure
	noteFail := func(f *failure) {
		mu.Lock()
		if fail == nil {
			fail = f
		}
		mu.Unlock()
	}
	if want.State != cur.State {
		r.submit(d.c.setStateOp(id, want.State, got, noteFail))
	}
	if len(want.Methods) == 0 && len(st.methods) > 0 {
		phases, err := d.c.deletePhases(ctx, id, st.methods)
		if err != nil {
			return nil, err
		}
		// The last phase reads the methods back.
		read := &step{info: d.c.methodsInfo(ctx, id), units: 1}
		phases = append(phases, &op{steps: []*step{read}})
		for i, o := range phases {
			next := i + 1
			o.then = func(o *op) {
				if o.fail != nil {
					noteFail(o.fail)
					return
				}
				if next < len(phases) {
					r.submit(phases[next])
					return
				}
				ms, err := parseMethods(read)
				if err != nil {
					noteFail(&failure{msg: "a malformed answer to GET methods: " + err.Error()})
					return
				}
				mu.Lock()
				got.methods = ms
				mu.Unlock()
			}
		}
		r.submit(phases[0])
	}
	if err := r.wait(); err != nil {
		return nil, err
	}
	if fail != nil {
		return nil, fail
	}
	return got, nil
}

// setStateOp is PATCH requirements and, in the same $batch after it (dependsOn), GET requirements:
// Graph answers the PATCH with 204 and may have enforced a user asked to be enabled.
func (c *client) setStateOp(id string, to mfa.State, got *userState, onFail func(*failure)) *op {
	patch := &step{info: c.requirementsInfo(id, to), units: 1, write: true}
	read := &step{info: c.requirementsInfo(id, ""), units: 1, after: patch}
	return &op{beta: true, steps: []*step{patch, read}, then: func(o *op) {
		if o.fail != nil {
			onFail(o.fail)
			return
		}
		var r struct {
			State string `json:"perUserMfaState"`
		}
		if err := read.decode(&r); err != nil || !mfa.State(r.State).Valid() {
			onFail(&failure{msg: fmt.Sprintf("a malformed answer to GET requirements: perUserMfaState %q", r.State)})
			return
		}
		got.state, got.readAt = mfa.State(r.State), c.cfg.Now().UTC()
	}}
}

// deletePhases plans "provide contact methods again": every method but the password is deleted
// one by one with its typed endpoint, in an order Graph accepts — the default method last, the
// alternate mobile phone before the mobile phone (which it needs); when the alternate mobile phone
// is the default while a mobile phone remains, the mobile phone is made the default first. The
// deletes go in dependsOn chains, one op per API version in a row.
func (c *client) deletePhases(ctx context.Context, userID string, ms []graphMethod) ([]*op, error) {
	var def *graphMethod
	var others []graphMethod
	hasMobile := false
	for i := range ms {
		if ms[i].typ == mfa.MethodMobilePhone {
			hasMobile = true
		}
	}
	for i := range ms {
		if ms[i].isDefault && def == nil {
			def = &ms[i]
			continue
		}
		others = append(others, ms[i])
	}
	var prefSwitch bool
	if def != nil && def.typ == mfa.MethodAlternateMobilePhone && hasMobile {
		prefSwitch = true
		others = append(others, *def)
		i := slices.IndexFunc(others, func(m graphMethod) bool { return m.typ == mfa.MethodMobilePhone })
		m := others[i]
		others = slices.Delete(others, i, i+1)
		def = &m
	}
	// The mobile phone after the alternate one.
	slices.SortStableFunc(others, func(a, b graphMethod) int {
		switch {
		case a.typ == mfa.MethodMobilePhone && b.typ != mfa.MethodMobilePhone:
			return 1
		case b.typ == mfa.MethodMobilePhone && a.typ != mfa.MethodMobilePhone:
			return -1
		}
		return 0
	})
	order := others
	if def != nil {
		order = append(order, *def)
	}
	var phases []*op
	var cur *op
	add := func(beta bool, s *step) {
		if cur == nil || cur.beta != beta || len(cur.steps) == maxBatch-1 {
			cur = &op{beta: beta}
			phases = append(phases, cur)
		} else {
			s.after = cur.steps[len(cur.steps)-1]
		}
		cur.steps = append(cur.steps, s)
	}
	if prefSwitch {
		add(true, &step{info: c.signInPreferencesInfo(userID, "voiceMobile"), units: 1, write: true})
	}
	for _, m := range order {
		info, beta, err := c.deleteInfo(ctx, userID, m)
		if err != nil {
			return nil, err
		}
		add(beta, &step{info: info, units: 1, write: true, gone: true})
	}
	return phases, nil
}

// bulkRow is one user of UpdateUsers on its way.
type bulkRow struct {
	upn   string
	id    string
	cur   *mfa.User // as indexed, then as Graph has it
	st    userState
	want  mfa.User
	rec   *mfa.AuditRecord
	got   userState
	wrote bool // the change was applied in Graph and read back
	done  bool // the row has its outcome: unchanged, changed, or err
	err   error
	gone  bool // deleted in Graph meanwhile
}

// UpdateUsers is bulk update's batch: for each user it reads the state from Graph, runs fn on a
// copy to learn the change, PATCHes it (reading the state back when asking for Enabled, the one
// state Graph may not keep), all in $batch requests of 20 with bounded concurrency under the
// pacer, then stores every user as Graph has them with fn's audit records in one transaction. A
// user whose requests keep failing gets Graph's error. If Graph cannot be reached at all, refuses
// the credentials or a permission, the error is returned: the users changed before that are stored
// (their entries set), the others have neither a user nor an error, so that the job keeps them
// pending and tries again.
//
// The refs' ids are the index's (a bulk row's, from planning); the index is read by UPN here, as it
// must be checked against Graph anyway.
func (d *Directory) UpdateUsers(ctx context.Context, refs []mfa.UserRef, fn func(i int, u *mfa.User) (*mfa.AuditRecord, error)) ([]*mfa.User, []error, error) {
	upns := make([]string, len(refs))
	for i, r := range refs {
		upns[i] = r.UPN
	}
	n := len(upns)
	users := make([]*mfa.User, n)
	errs := make([]error, n)
	indexed, err := d.db.FindUsersByUPN(ctx, upns)
	if err != nil {
		return nil, nil, err
	}
	ids, err := d.db.GraphIDs(ctx, upns)
	if err != nil {
		return nil, nil, err
	}
	rows := make([]*bulkRow, n)
	r := d.c.newRun(ctx)
	for i, upn := range upns {
		key := mfa.NormalizeUPN(upn)
		row := &bulkRow{upn: upn, id: ids[key], cur: indexed[key]}
		rows[i] = row
		if row.cur == nil || row.id == "" {
			errs[i] = mfa.Errorf(mfa.ENOTFOUND, "no user %q in the directory", upn)
			continue
		}
		i := i
		req := &step{info: d.c.requirementsInfo(row.id, ""), units: 1}
		r.submit(&op{beta: true, steps: []*step{req}, then: func(o *op) {
			if o.fail != nil {
				row.gone, row.err, row.done = isNotFound(o.fail), o.fail.asError(), true
				return
			}
			var s struct {
				State string `json:"perUserMfaState"`
			}
			if err := req.decode(&s); err != nil || !mfa.State(s.State).Valid() {
				row.err, row.done = (&failure{status: 500, msg: fmt.Sprintf("a malformed answer to GET requirements: perUserMfaState %q", s.State)}).asError(), true
				return
			}
			row.st = userState{state: mfa.State(s.State), readAt: d.cfg.Now().UTC()}
			now := *row.cur
			if now.State != row.st.state {
				now.State, now.HadMethodsWhenReenabled = row.st.state, false
			}
			row.want = now
			row.want.Methods = slices.Clone(now.Methods)
			rec, err := fn(i, &row.want)
			if err != nil || rec == nil {
				row.err, row.done = err, true
				return
			}
			row.rec = rec
			if row.want.State == row.st.state {
				row.got, row.wrote, row.done = row.st, true, true
				return
			}
			r.submit(d.c.bulkWriteOp(row))
		}})
	}
	runErr := r.wait()
	if runErr != nil {
		runErr = asDomain(runErr)
		d.noteError(ctx, "bulk update", runErr)
	}
	// Store what was read and done, whatever happened to the rest.
	store := context.WithoutCancel(ctx)
	var refresh []sqlite.IndexUser
	var changed []string
	var changedRows []*bulkRow
	for i, row := range rows {
		switch {
		case row.gone:
			errs[i] = d.deletedMeanwhile(store, row.upn)
		case row.st.state != "" && row.cur != nil && !row.wrote:
			st := row.st
			st.methods = nil
			iu := indexUser(row.id, row.cur, &st)
			iu.Methods, iu.DefaultRead = row.cur.Methods, true
			refresh = append(refresh, iu)
		}
		if row.wrote {
			changed = append(changed, row.upn)
			changedRows = append(changedRows, row)
		}
	}
	if len(refresh) > 0 {
		if err := d.db.IndexUsers(store, refresh, 0); err != nil {
			return nil, nil, err
		}
	}
	if len(changed) > 0 {
		after, rowErrs, err := d.db.UpdateUsers(store, mfa.Refs(changed), func(k int, u *mfa.User) (*mfa.AuditRecord, error) {
			row := changedRows[k]
			setFromGraph(u, &row.want, &row.got, row.rec)
			return row.rec, nil
		})
		if err != nil {
			return nil, nil, err
		}
		for k, row := range changedRows {
			row.cur, row.err = after[k], rowErrs[k]
		}
	}
	// Unchanged users as the index has them now.
	var plain []string
	for i, row := range rows {
		if errs[i] == nil && row.done && !row.wrote && row.err == nil {
			plain = append(plain, upns[i])
		}
	}
	fresh, err := d.db.FindUsersByUPN(store, plain)
	if err != nil {
		return nil, nil, err
	}
	for i, row := range rows {
		switch {
		case errs[i] != nil, !row.done:
			// an error already, or not done: left pending
		case row.err != nil:
			errs[i] = row.err
		case row.wrote:
			users[i] = row.cur
		default:
			users[i] = fresh[mfa.NormalizeUPN(row.upn)]
		}
	}
	return users, errs, runErr
}

// bulkWriteOp PATCHes a row's state; asking for Enabled, it reads the state back in the same
// $batch, since Graph enforces a user who already has methods. Other states are as asked once the
// PATCH succeeded.
func (c *client) bulkWriteOp(row *bulkRow) *op {
	patch := &step{info: c.requirementsInfo(row.id, row.want.State), units: 1, write: true}
	o := &op{beta: true, steps: []*step{patch}}
	var read *step
	if row.want.State == mfa.StateEnabled {
		read = &step{info: c.requirementsInfo(row.id, ""), units: 1, after: patch}
		o.steps = append(o.steps, read)
	}
	o.then = func(o *op) {
		if o.fail != nil {
			row.gone, row.err, row.done = isNotFound(o.fail), o.fail.asError(), true
			return
		}
		row.got = userState{state: row.want.State, readAt: c.cfg.Now().UTC()}
		if read != nil {
			var s struct {
				State string `json:"perUserMfaState"`
			}
			if err := read.decode(&s); err == nil && mfa.State(s.State).Valid() {
				row.got.state = mfa.State(s.State)
			}
		}
		row.wrote, row.done = true, true
	}
	return o
}
