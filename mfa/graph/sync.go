package graph

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// SyncWork names the lease under which one replica keeps the index fresh (Run), and the work
// request by which "sync now" on any replica reaches it.
const SyncWork = "graph-sync"

// requestPoll is how often the replica that syncs looks for a "sync now" asked on another one.
const requestPoll = 2 * time.Second

// SyncStatus returns the state of the index. A sync asked for ("sync now") and not yet started by
// the replica that syncs counts as running, so that the page follows it from the click on.
func (d *Directory) SyncStatus(ctx context.Context) (mfa.SyncStatus, error) {
	st, _, err := d.db.SyncState(ctx)
	if err != nil {
		return st, err
	}
	ca, err := d.db.ConditionalAccess(ctx)
	st.Notice = ca.RegistrationNote
	if err != nil || st.Running {
		return st, err
	}
	at, err := d.db.WorkRequested(ctx, SyncWork)
	if !at.IsZero() {
		st.Running = true
		st.Done, st.Total = 0, 0
	}
	return st, err
}

// StartSync asks for a full sync ("sync now") and returns at once; ECONFLICT if one runs or was
// asked for already. The replica that keeps the index fresh (Run, under the lease SyncWork)
// starts it at once when it is this one, within requestPoll when it is another.
func (d *Directory) StartSync(ctx context.Context) error {
	st, err := d.SyncStatus(ctx)
	if err != nil {
		return err
	}
	if st.Running {
		return mfa.Errorf(mfa.ECONFLICT, "a sync is already running")
	}
	if err := d.db.RequestWork(ctx, SyncWork, d.cfg.Now()); err != nil {
		return err
	}
	select {
	case d.syncWake <- struct{}{}:
	default:
	}
	return nil
}

// Sync runs a full sync and returns when it is done: ECONFLICT if one runs already in this
// process.
func (d *Directory) Sync(ctx context.Context) error { return d.sync(ctx, nil) }

// sync is Sync, calling began once the sync is recorded as running.
func (d *Directory) sync(ctx context.Context, began func()) error {
	if !d.syncMu.TryLock() {
		return mfa.Errorf(mfa.ECONFLICT, "a sync is already running")
	}
	defer d.syncMu.Unlock()
	return d.fullSync(ctx, began)
}

// Run keeps the index fresh until ctx ends: a full sync at start when the last complete one is
// older than the sync interval (or there was none), then every interval, and whenever one is
// asked for (StartSync, on any replica). Run it on one replica at a time, under the lease
// SyncWork: a sync that was running at start was stopped in the middle (the process, or the
// replica that held the lease, died): it is marked failed and started again.
func (d *Directory) Run(ctx context.Context) {
	d.bgWG.Add(1)
	defer d.bgWG.Done()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(d.bg, cancel) // Close stops it too
	defer stop()
	st, _, err := d.db.SyncState(ctx)
	if err != nil {
		d.log.Error("reading the sync state", "err", err)
	} else if st.Running {
		_ = d.db.FinishSync(ctx, d.cfg.Now(), "the portal stopped during the sync; it starts again")
	}
	interval := d.cfg.SyncInterval
	due := d.cfg.Now() // the next periodic sync; zero: none
	// A sync stopped in the middle (by a restart, or with the replica that ran it) starts again
	// now; otherwise the next is due an interval after the last complete one.
	if err == nil && !st.LastSync.IsZero() && !st.Running {
		due = st.LastSync.Add(interval)
		if interval < 0 {
			due = time.Time{}
		}
	}
	poll := time.NewTicker(requestPoll)
	defer poll.Stop()
	for {
		timer := time.NewTimer(time.Hour)
		timer.Stop()
		if !due.IsZero() {
			timer.Reset(max(0, due.Sub(d.cfg.Now())))
		}
		requested := false
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-d.syncWake:
			requested = true
		case <-poll.C:
			requested = true
		}
		timer.Stop()
		if requested {
			if at, err := d.db.WorkRequested(ctx, SyncWork); err != nil || at.IsZero() {
				continue
			}
		}
		d.runSync(ctx, requested)
		due = time.Time{}
		if interval >= 0 {
			due = d.cfg.Now().Add(interval)
		}
	}
}

// runSync runs a sync for Run, taking the request it answers once the sync is recorded as running
// (so that the page sees it running throughout).
func (d *Directory) runSync(ctx context.Context, requested bool) {
	var began func()
	if requested {
		began = func() {
			if _, err := d.db.TakeWorkRequest(context.WithoutCancel(ctx), SyncWork); err != nil {
				d.log.Error("taking the sync request", "err", err)
			}
		}
	}
	if err := d.sync(ctx, began); err != nil && ctx.Err() == nil && mfa.ErrorCode(err) != mfa.ECONFLICT {
		d.log.Error("Microsoft Graph sync failed", "err", err)
	}
}

// pageWorkers is how many pages of users have their states read at once: the next pages' reads
// go on while the last ones of a page finish, so the quota is used throughout. A page whose last
// steps were throttled waits at least a second (Graph's Retry-After is in whole seconds), about
// as long as reading a page takes at the large tier's quota: with two pages at once the quota was
// idle a third of the time under 1 % of 429s (68 % of it sustained), hence four.
const pageWorkers = 4

// fullSync reads every user, state and methods from Graph into the index: users in pages of 999
// (following @odata.nextLink) and, beside the first pages, the members of the directory roles (who
// is an admin); each page's states and methods in $batch requests, then the page is written in one
// transaction, admin flags included. Only after every page was read and written are the users Graph no
// longer has removed. On failure the index keeps what it had (plus the pages already written) and
// the error is recorded for the page. began, if not nil, is called once the sync is recorded as
// running.
func (d *Directory) fullSync(ctx context.Context, began func()) (err error) {
	start := d.cfg.Now()
	gen := start.UnixMilli()
	store := context.WithoutCancel(ctx)
	if err := d.db.BeginSync(store, gen, start); err != nil {
		return err
	}
	if began != nil {
		began()
	}
	d.log.Info("Microsoft Graph sync started")
	warning := "" // a part of the directory that could not be read, kept as last read
	defer func() {
		msg := ""
		if err != nil {
			err = asDomain(err)
			msg = mfa.ErrorMessage(err)
			if errors.Is(err, context.Canceled) {
				msg = "the sync was stopped (the portal is shutting down)"
			}
		}
		var ferr error
		if err == nil && warning != "" {
			ferr = d.db.FinishSyncWithWarning(store, d.cfg.Now(), warning)
		} else {
			ferr = d.db.FinishSync(store, d.cfg.Now(), msg)
		}
		if ferr != nil && err == nil {
			err = ferr
		}
	}()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// Who is an admin, read beside the first pages of users (each page is written with it). Without
	// the permission to read the roles (403) the sync goes on and the index keeps the flags it had.
	rolesRead := make(chan struct{})
	var roles *roleMembers
	var rolesErr error
	go func() {
		defer close(rolesRead)
		roles, rolesErr = d.c.readRoleMembers(ctx)
	}()
	admins := sync.OnceValues(func() (map[string]bool, error) {
		<-rolesRead
		switch {
		case rolesForbidden(rolesErr):
			warning = "Microsoft Graph refused to read the directory roles (" + failureOf(rolesErr).msg + "): who is an admin is kept as last read. " +
				"Grant the application the permission RoleManagement.Read.Directory, with admin consent"
			d.log.Warn("Microsoft Graph: the directory roles could not be read; the admin flags of the index are kept as they were, "+
				"and new users are indexed as not admins (grant RoleManagement.Read.Directory)", "err", failureOf(rolesErr).msg)
			return nil, nil
		case rolesErr != nil:
			return nil, rolesErr
		}
		return roles.privileged(), nil
	})
	// Conditional Access and the registration report, read beside the users too (casync.go).
	x := &syncExtras{reg: d.c.readRegistration(ctx)}
	x.cov = d.readCoverage(ctx, func() (*roleMembers, error) {
		if _, err := admins(); err != nil {
			return nil, err
		}
		return roles, nil // nil without the permission
	})

	pages := make(chan *usersPage, pageWorkers)
	var fetchErr error
	go func() {
		defer close(pages)
		next := ""
		for {
			p, err := d.c.listUsers(ctx, next)
			if err != nil {
				fetchErr = err
				return
			}
			select {
			case pages <- p:
			case <-ctx.Done():
				return
			}
			if p.next == "" {
				return
			}
			next = p.next
		}
	}()
	var (
		mu       sync.Mutex
		done     int
		total    int
		firstErr error
		wg       sync.WaitGroup
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for w := 0; w < pageWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range pages {
				mu.Lock()
				if p.count > 0 && total == 0 {
					total = p.count
					d.learnTenantSize(p.count) // $count on the first page: the tenant's size
				}
				mu.Unlock()
				n, err := d.syncPage(ctx, p, gen, admins, x)
				if err != nil {
					fail(err)
					continue
				}
				mu.Lock()
				done += n
				err = d.db.SetSyncProgress(store, done, max(total, done)) // in order: under mu
				mu.Unlock()
				if err != nil {
					fail(err)
				}
			}
		}()
	}
	wg.Wait()
	privileged, rolesErr := admins() // also for a tenant without users
	if firstErr != nil {
		return firstErr
	}
	if rolesErr != nil {
		return rolesErr
	}
	if fetchErr != nil {
		return fetchErr
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	removed, err := d.db.RemoveUsersNotSynced(store, gen)
	if err != nil {
		return err
	}
	if w, err := d.saveCoverage(store, x); err != nil {
		return err
	} else if w != "" {
		warning = strings.TrimSpace(warning + " " + w)
	}
	d.learnTenantSize(done)
	d.log.Info("Microsoft Graph sync done", "users", done, "removed", removed, "admins", len(privileged), "rolesRead", privileged != nil,
		"seconds", d.cfg.Now().Sub(start).Seconds())
	return nil
}

// syncPage reads a page's states and methods and writes the page into the index, in one
// transaction, with each user's admin flag from admins (the Graph ids of the members of a directory
// role, waited for; nil: not read, the indexed flags are kept). Users deleted meanwhile (404) are
// left out; it answers how many were written.
func (d *Directory) syncPage(ctx context.Context, p *usersPage, gen int64, admins func() (map[string]bool, error), x *syncExtras) (int, error) {
	states := make([]userState, len(p.users))
	if err := d.readPage(ctx, p, states, x); err != nil {
		return 0, err
	}
	privileged, err := admins()
	if err != nil {
		return 0, err
	}
	if _, err := x.cov.wait(ctx); err != nil {
		return 0, err
	}
	rows := make([]mfa.ExternalUser, 0, len(p.users))
	for i, u := range p.users {
		st := &states[i]
		if isNotFound(st.fail) {
			continue
		}
		iu := mfa.ExternalUser{ExternalID: u.id, UPN: u.upn, DisplayName: u.displayName, AccountEnabled: u.accountEnabled,
			PrivilegedRead: privileged != nil, Privileged: privileged[strings.ToLower(u.id)]}
		if st.fail == nil {
			iu.StateRead, iu.State, iu.Methods, iu.ReadAt = true, st.state, st.domainMethods(), st.readAt
		} else {
			d.log.Warn("Microsoft Graph: the state of a user could not be read; the index keeps the last one", "user", u.upn, "err", st.fail.msg)
		}
		x.annotate(&iu, u, st)
		rows = append(rows, iu)
	}
	if err := d.db.IndexUsers(context.WithoutCancel(ctx), rows, gen); err != nil {
		return 0, err
	}
	return len(rows), nil
}
