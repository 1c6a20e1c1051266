// Package graph is the Microsoft Graph directory: users and their per-user MFA states live in a
// Microsoft Entra tenant, and the portal reaches them through Microsoft Graph with
// github.com/microsoftgraph/msgraph-sdk-go (only its users, policies, directoryroles and models
// sub-packages: the SDK's root package would compile every Graph API) and azidentity client
// credentials. No other package imports the SDK.
//
// The portal lists, filters and pages from a local index in its own store (Store: the users table
// of mfa/sqlite or another store), filled by a full sync — GET /v1.0/users in pages of 999, then each
// user's state (GET /beta/users/{id}/authentication/requirements) and methods (GET
// /beta/users/{id}/authentication/methods: beta, for hardware OATH tokens) in $batch requests of 20,
// and who is an admin (the members of the directory roles, roles.go) — refreshed periodically and on
// demand, and updated from Graph's answer on every write. Every $batch is fully parallel; requests
// are paced under Graph's quotas (by the tenant's size) with token buckets and retried on
// throttling, 408, 5xx and network errors (also per item of a $batch), never on a permanent refusal
// (batch.go, failure.go). Graph's documented contract, which mfa/graphemu enforces, is in that
// package's documentation.
//
// Graph has no API for app passwords, remembered devices, trusted IPs, the app-password policy or
// the remember-days setting: the directory declares them unavailable (Capabilities).
package graph

import (
	"context"
	"errors"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Directory is the Microsoft Graph directory with its local index.
type Directory struct {
	db  Store
	c   *client
	cfg Config
	log *slog.Logger

	locks [64]sync.Mutex // per user (by hash of the UPN): one change of a user at a time

	syncMu   sync.Mutex    // held by the running full sync
	syncWake chan struct{} // "sync now" asked in this process: Run looks at once
	bg       context.Context
	bgCancel context.CancelFunc
	bgWG     sync.WaitGroup

	// The verification options as last read from Graph (at policyAt), and as the store kept them
	// then: a change made through another replica changes the store's, and they are read again.
	policyMu     sync.Mutex
	policy       *mfa.VerificationOptions
	policyAt     time.Time
	policyTTL    time.Duration
	policyStored mfa.VerificationOptions
}

var (
	_ mfa.Directory     = (*Directory)(nil)
	_ mfa.UserLookup    = (*Directory)(nil)
	_ mfa.PlanLookup    = (*Directory)(nil)
	_ mfa.BatchUpdater  = (*Directory)(nil)
	_ mfa.SettingsStore = (*Directory)(nil)
	_ mfa.DirectorySync = (*Directory)(nil)
)

// New connects to Graph (nothing is sent yet) with the index in db. log may be nil. Close stops
// the background syncs it started.
func New(cfg Config, db Store, log *slog.Logger) (*Directory, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	useJSON()
	c, err := newClient(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	d := &Directory{db: db, c: c, cfg: cfg, log: log, policyTTL: 30 * time.Second, syncWake: make(chan struct{}, 1)}
	d.bg, d.bgCancel = context.WithCancel(context.Background())
	if n, err := db.CountUsers(d.bg); err == nil && n > 0 {
		d.learnTenantSize(n) // the index's users: the tenant's size as last synced
	}
	return d, nil
}

// learnTenantSize sets the resource-unit quota the requests are paced under to the documented
// one for a tenant of n users (unless Config.ReadQuota fixed it), so that a small tenant is not
// driven into 429s at a large tenant's rate.
func (d *Directory) learnTenantSize(n int) {
	if d.cfg.readBySize {
		d.c.pace.setReadQuota(ReadQuotaFor(n), d.cfg.Pace)
	}
}

// Close stops a sync started in the background and waits for it.
func (d *Directory) Close() {
	d.bgCancel()
	d.bgWG.Wait()
}

func (d *Directory) lock(upn string) func() {
	h := fnv.New32a()
	h.Write([]byte(mfa.NormalizeUPN(upn)))
	m := &d.locks[h.Sum32()%uint32(len(d.locks))]
	m.Lock()
	return m.Unlock
}

// FindUsers pages the index.
func (d *Directory) FindUsers(ctx context.Context, f mfa.UserFilter) (*mfa.UserPage, error) {
	return d.db.FindUsers(ctx, f)
}

// FindUser reads a user from the index.
func (d *Directory) FindUser(ctx context.Context, upn string) (*mfa.User, error) {
	return d.db.FindUser(ctx, upn)
}

// LookupForPlan reads what bulk update planning needs of many users from the index.
func (d *Directory) LookupForPlan(ctx context.Context, keys []string) (map[string]mfa.PlanUser, error) {
	return d.db.LookupForPlan(ctx, keys)
}

// FindUsersByUPN reads many users from the index.
func (d *Directory) FindUsersByUPN(ctx context.Context, upns []string) (map[string]*mfa.User, error) {
	return d.db.FindUsersByUPN(ctx, upns)
}

// Ping answers nil when the index can be read and the sign-in service gives the portal a token
// (from the credential's cache while it is valid: no Graph quota is spent).
func (d *Directory) Ping(ctx context.Context) error {
	if err := d.db.Ping(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return d.c.token(ctx)
}

// noteError records a failure to reach Graph, for the users page and the log.
func (d *Directory) noteError(ctx context.Context, what string, err error) {
	if err == nil || errors.Is(err, context.Canceled) || isRefusal(err) || mfa.ErrorCode(err) != mfa.EUNAVAILABLE {
		return
	}
	d.log.ErrorContext(ctx, "Microsoft Graph: "+what, "err", err)
	if serr := d.db.SetDirectoryError(context.WithoutCancel(ctx), mfa.ErrorMessage(err), d.cfg.Now()); serr != nil {
		d.log.ErrorContext(ctx, "recording a Graph error", "err", serr)
	}
}

// asDomain turns a run's or a failure's error into the domain's.
func asDomain(err error) error {
	var f *failure
	if errors.As(err, &f) {
		return f.asError()
	}
	return err
}

func isNotFound(f *failure) bool { return f != nil && f.status == http.StatusNotFound }
