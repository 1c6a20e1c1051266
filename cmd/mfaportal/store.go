package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"iter"
	"os"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// store is where the portal keeps all its state: SQLite in the data folder (the default), or
// PostgreSQL (MFAPORTAL_DATABASE_URL), which any number of replicas share.
type store interface {
	mfa.Directory
	mfa.UserImporter
	mfa.AccountStore
	mfa.SessionStore
	mfa.TokenStore
	mfa.AuditLog
	mfa.SettingsStore
	mfa.JobStore
	mfa.ThrottleStore
	mfa.StepResultStore
	mfa.LeaseStore
	mfa.AuditPositions
	mfa.SecurityStore
	// OnAudited sets a function called after each commit that appended audit records.
	OnAudited(fn func())
	SeedUsers(ctx context.Context, users iter.Seq[mfa.User], now time.Time, progress func(done int)) (int, error)
	CountUsers(ctx context.Context) (int, error)
	Meta(ctx context.Context, key string) (string, error)
	SetMeta(ctx context.Context, key, value string) error
	// InitMeta stores value under key unless a value is there already, and returns the stored one.
	InitMeta(ctx context.Context, key, value string) (string, error)
	Close() error
}

var (
	_ store = (*sqlite.DB)(nil)
	_ store = (*postgres.DB)(nil)
)

// databaseURL is MFAPORTAL_DATABASE_URL: an environment variable only, never a flag, as it may
// hold a password (flags show in ps).
func (c *cli) databaseURL() string { return c.getenv("MFAPORTAL_DATABASE_URL") }

// openStore opens the PostgreSQL database of MFAPORTAL_DATABASE_URL when it is set, and the data
// folder's SQLite file otherwise (creating the folder, 0700), with the audit key:
// MFAPORTAL_AUDIT_KEY, or the data folder's own.
func (c *cli) openStore(ctx context.Context, data string) (store, error) {
	if url := c.databaseURL(); url != "" {
		return openDatabase(ctx, url, c.getenv("MFAPORTAL_AUDIT_KEY"))
	}
	return openKeyedStore(ctx, data, c.getenv("MFAPORTAL_AUDIT_KEY"))
}

// openDatabase opens the PostgreSQL database with the audit key, which must be given: it is kept
// outside the database (whoever holds it can recompute the chain), and every replica seals with
// it, so each must be given the same.
func openDatabase(ctx context.Context, url, envKey string) (*postgres.DB, error) {
	if envKey == "" {
		return nil, mfa.Errorf(mfa.EINVALID, "MFAPORTAL_DATABASE_URL needs MFAPORTAL_AUDIT_KEY, the key of the audit log's chain (at least %d bytes in hex or base64, e.g. `openssl rand -hex 32`), the same on every replica: it is kept outside the database", mfa.MinAuditKeyLen)
	}
	key, err := decodeAuditKey(envKey)
	if err != nil {
		return nil, fmt.Errorf("MFAPORTAL_AUDIT_KEY: %v", err)
	}
	db, err := postgres.Open(ctx, url)
	if err != nil {
		return nil, err
	}
	if _, err := db.UseAuditKey(ctx, key, time.Now()); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// storeDeps are the service's dependencies, all served by the store.
func storeDeps(db store) mfa.Deps {
	deps := mfa.Deps{Directory: db, Importer: db, Accounts: db, Tokens: db, Audit: db, Settings: db, Jobs: db, Now: time.Now}
	deps.Registrations, _ = db.(mfa.RegistrationStore)
	return deps
}

// newService is the service over the store (which serves every dependency), verifying the audit
// chain with the key the store seals with.
func newService(db store) *mfa.Service { return newServiceWith(db, storeDeps(db)) }

// newServiceWith is the service over deps (the store's, some replaced: the Graph directory), the
// audit chain verified with the store's key.
func newServiceWith(db store, deps mfa.Deps) *mfa.Service {
	svc := mfa.MustNewService(deps)
	// What both stores keep beside the required dependencies: local accounts' MFA, exemptions,
	// the overview's snapshots.
	svc.AccountMFA, _ = db.(mfa.AccountMFAStore)
	svc.Exemptions, _ = db.(mfa.ExemptionStore)
	svc.Overview, _ = db.(mfa.OverviewStore)
	if k, ok := db.(interface{ AuditKey() []byte }); ok {
		svc.AuditKey = k.AuditKey()
	}
	return svc
}

// refuseGraphFolder refuses a command that would change users directly in the local index of a
// store that belongs to the Microsoft Graph directory: the change would never reach Graph.
func refuseGraphFolder(ctx context.Context, db store, what string) error {
	if dir, err := db.Meta(ctx, "directory"); err != nil {
		return err
	} else if dir == "graph" {
		return mfa.Errorf(mfa.EINVALID, "this data folder belongs to the Microsoft Graph directory: %s would change only the portal's local copy, never Graph. Use the portal's page or API (mfaportal serve with MFAPORTAL_DIRECTORY=graph) instead", what)
	}
	return nil
}

// replicaName names this process among the replicas sharing a store: host, process id and a
// random part (a restarted process is another holder).
func replicaName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}
