package graph

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/mfaportal/mfaportal/mfa"
)

// What a full sync reads beside the users (sync.go): each user's Conditional Access coverage, from
// the policies, the security defaults, the groups and the directory roles the policies name; and the
// registration report, which replaces each user's methods request.

// coverage is the tenant's Conditional Access, read once per full sync; done is closed when read.
type coverage struct {
	done    chan struct{}
	eval    *mfa.ConditionalAccess
	groups  *groupMembers
	roles   *roleMembers
	summary mfa.ConditionalAccessSummary
	// problem says why coverage could not be evaluated (a permission missing): the users keep the
	// coverage last read, and the sync status warns.
	problem string
}

// readCoverage reads the tenant's Conditional Access in the background; roles waits for the
// directory roles the sync reads anyway (nil: not read, without the permission).
func (d *Directory) readCoverage(ctx context.Context, roles func() (*roleMembers, error)) *coverage {
	cv := &coverage{done: make(chan struct{})}
	go func() {
		defer close(cv.done)
		if err := d.evaluateCoverage(ctx, cv, roles); err != nil && cv.problem == "" {
			cv.problem = coverageProblem(err)
			d.log.Warn("Microsoft Graph: Conditional Access could not be read; each user's coverage is kept as last read", "err", mfa.ErrorMessage(asDomain(err)))
		}
	}()
	return cv
}

func (d *Directory) evaluateCoverage(ctx context.Context, cv *coverage, roles func() (*roleMembers, error)) error {
	// The policies and the security defaults are read at once: every page of users waits for them.
	var policies []mfa.CAPolicy
	var defaults bool
	pErr, dErr := together(func() (err error) {
		policies, err = d.c.readPolicies(ctx)
		return err
	}, func() (err error) {
		defaults, err = d.c.readSecurityDefaults(ctx)
		return err
	})
	if pErr != nil {
		return pErr
	}
	if dErr != nil {
		return dErr
	}
	var groups []string
	namesRoles := false
	for i := range policies {
		p := &policies[i]
		if ok, _ := p.RequiresMFA(); !ok || p.State == mfa.CAPolicyDisabled {
			continue
		}
		groups = append(groups, p.Groups()...)
		namesRoles = namesRoles || len(p.Users.IncludeRoles)+len(p.Users.ExcludeRoles) > 0
	}
	slices.Sort(groups)
	var err error
	if cv.groups, err = d.c.readGroups(ctx, slices.Compact(groups)); err != nil {
		return err
	}
	if cv.roles, err = roles(); err != nil {
		return err
	}
	if cv.roles == nil && namesRoles {
		cv.problem = "Conditional Access policies name directory roles, which could not be read: each user's coverage is kept as last read. " +
			"Grant the application RoleManagement.Read.Directory, with admin consent"
		return nil
	}
	if cv.roles == nil {
		cv.roles = &roleMembers{}
	}
	cv.eval = mfa.NewConditionalAccess(policies, defaults)
	cv.summary = mfa.ConditionalAccessSummary{Read: true, SecurityDefaults: defaults}
	for i := range policies {
		cv.summary.Policies = append(cv.summary.Policies, policies[i].Report(cv.name))
	}
	return nil
}

// name is the name of a group or role the policies name, by id ("" when unknown): a role nobody
// holds is not among the activated roles read, but a built-in one is known by its template id.
func (cv *coverage) name(id string) string {
	if n := cv.groups.names[id]; n != "" {
		return n
	}
	if n := cv.roles.names[id]; n != "" {
		return n
	}
	return builtInRoles[id]
}

// coverageProblem says why Conditional Access could not be read, for the sync status.
func coverageProblem(err error) string {
	if errors.Is(err, context.Canceled) {
		return "the sync was stopped while reading Conditional Access"
	}
	f := failureOf(err)
	if f.fatal() && f.status != 0 {
		return "Microsoft Graph refused to read Conditional Access (" + f.msg + "): each user's coverage is kept as last read. " +
			"Grant the application Policy.Read.All and GroupMember.Read.All, with admin consent"
	}
	return "Conditional Access could not be read (" + mfa.ErrorMessage(f.asError()) + "): each user's coverage is kept as last read"
}

// wait waits for the coverage to be read; the answer is nil when it could not be (problem says why).
func (cv *coverage) wait(ctx context.Context) (*mfa.ConditionalAccess, error) {
	select {
	case <-cv.done:
		return cv.eval, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// of is a user's coverage.
func (cv *coverage) of(u graphUser) mfa.Coverage {
	id := strings.ToLower(u.id)
	return cv.eval.Coverage(mfa.CASubject{ID: id, Guest: u.guest,
		InGroup: func(g string) bool { return cv.groups.users[g].has(id) },
		HasRole: func(t string) bool { return cv.roles.byTemplate[t][id] },
	})
}

// syncExtras is what syncPage needs besides the users: coverage and the registration report.
type syncExtras struct {
	cov *coverage
	reg *registrationReport
}

// readPage reads the per-user state of a page's users: with the registration report, their states
// only (one request each), the methods from the report; else (or for users the report lacks, or
// when it failed) states and methods.
func (d *Directory) readPage(ctx context.Context, p *usersPage, states []userState, x *syncExtras) error {
	perUser, err := x.reg.perUser(ctx)
	if err != nil {
		return err
	}
	r := d.c.newRun(ctx)
	for i, u := range p.users {
		if perUser {
			r.submit(d.c.readOp(u.id, &states[i], false, nil))
		} else {
			r.submit(d.c.stateOp(u.id, &states[i]))
		}
	}
	if err := r.wait(); err != nil || perUser {
		return err
	}
	whole, err := x.reg.complete(ctx)
	if err != nil {
		return err
	}
	r = d.c.newRun(ctx)
	again := 0
	for i, u := range p.users {
		st := &states[i]
		if st.fail != nil {
			continue
		}
		if rec, ok := x.reg.record(u.id); ok && whole {
			st.report = &rec
			continue
		}
		r.submit(d.c.readOp(u.id, st, false, nil))
		again++
	}
	if again == 0 {
		return nil
	}
	return r.wait()
}

// stateOp reads a user's per-user MFA state only (GET requirements, beta) into st; the methods come
// from the registration report.
func (c *client) stateOp(id string, st *userState) *op {
	req := &step{info: c.requirementsInfo(id, ""), units: 1}
	return &op{beta: true, steps: []*step{req}, then: func(o *op) {
		if o.fail != nil {
			st.fail = o.fail
			return
		}
		state, f := stateFromRequirements(req)
		if f != nil {
			st.fail = f
			return
		}
		st.state, st.readAt = state, c.cfg.Now().UTC()
	}}
}

// annotate completes a user's index row with what the extras say: methods from the report (as of
// its record), and the coverage when Conditional Access was read.
func (x *syncExtras) annotate(iu *mfa.ExternalUser, u graphUser, st *userState) {
	if st.fail == nil && st.report != nil {
		iu.Methods, iu.DefaultRead = st.report.domainMethods(), true
		iu.MethodsAt = st.report.at
		if iu.MethodsAt.IsZero() || iu.MethodsAt.After(st.readAt) {
			iu.MethodsAt = st.readAt
		}
	}
	if x.cov.eval != nil {
		iu.CoverageRead, iu.Coverage = true, x.cov.of(u)
	}
}

// saveCoverage keeps what the sync learnt of Conditional Access and of the registration report
// (the policies as last read when they could not be read now), and answers the warning for the
// sync status when coverage could not be evaluated.
func (d *Directory) saveCoverage(ctx context.Context, x *syncExtras) (string, error) {
	if _, err := x.cov.wait(ctx); err != nil {
		return "", err
	}
	s := x.cov.summary
	if x.cov.eval == nil {
		prev, err := d.db.ConditionalAccess(ctx)
		if err != nil {
			return "", err
		}
		s = prev
		s.Read = false
	}
	s.Problem = x.cov.problem
	s.ReadAt = d.cfg.Now().UTC()
	s.RegistrationReport, s.RegistrationNote = x.reg.used()
	if s.RegistrationNote != "" {
		d.log.Info("Microsoft Graph: " + s.RegistrationNote)
	}
	return x.cov.problem, d.db.SaveConditionalAccess(ctx, s)
}

// ConditionalAccess returns what the last sync learnt of the tenant's Conditional Access.
func (d *Directory) ConditionalAccess(ctx context.Context) (mfa.ConditionalAccessSummary, error) {
	return d.db.ConditionalAccess(ctx)
}
