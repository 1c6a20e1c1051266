package graph

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
)

// Test credentials the emulator is told to accept.
const (
	testTenant = "contoso.onmicrosoft.com"
	testClient = "11111111-2222-3333-4444-555555555555"
	testSecret = "s3cret-value"
)

// The SQLite store is a Store (cmd/mfaportal wires it; mfa/sqlite asserts mfa.ExternalIndex).
var _ Store = (*sqlite.DB)(nil)

// testStore is the portal's store as the tests use it: the Graph directory's, and the service's.
type testStore interface {
	Store
	mfa.AccountStore
	mfa.AuditLog
	mfa.JobStore
}

// env is an emulator over TLS, a store (SQLite in a temp folder unless said), and a Graph
// directory between them.
type env struct {
	t   testing.TB
	emu *graphemu.Server
	db  testStore
	dir *Directory
	svc *mfa.Service
	cfg Config
}

func testLog(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// newEnv starts an emulator with opts (the test credentials unless opts sets some) and a directory
// configured by tweak.
func newEnv(t testing.TB, opts graphemu.Options, tweak func(*Config)) *env {
	t.Helper()
	return newEnvOn(t, openSQLite(t), opts, tweak)
}

// openSQLite opens a store in a temp folder, closed when t ends.
func openSQLite(t testing.TB) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "mfaportal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// newEnvOn is newEnv over the store db.
func newEnvOn(t testing.TB, db testStore, opts graphemu.Options, tweak func(*Config)) *env {
	t.Helper()
	if opts.Credentials == (graphemu.Credentials{}) {
		opts.Credentials = graphemu.Credentials{TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret}
	}
	emu := graphemu.New(opts)
	base, stop, err := emu.StartTLS("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	t.Cleanup(emu.Client().CloseIdleConnections) // before stop: it waits for open connections
	cfg := Config{
		TenantID: testTenant, ClientID: testClient, ClientSecret: testSecret,
		BaseURL: base, AuthorityURL: base, HTTPClient: emu.Client(),
		RetryBase: 20 * time.Millisecond, SyncInterval: -1,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	dir, err := New(cfg, db, testLog(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dir.Close)
	svc := mfa.MustNewService(mfa.Deps{Directory: dir, Accounts: db, Audit: db, Settings: dir, Jobs: db, Now: time.Now})
	return &env{t: t, emu: emu, db: db, dir: dir, svc: svc, cfg: cfg}
}

func (e *env) sync() {
	e.t.Helper()
	if err := e.dir.Sync(context.Background()); err != nil {
		e.t.Fatalf("sync: %v", err)
	}
}

// admin is a global admin acting on the page.
var admin = mfa.Actor{Name: "admin", Role: mfa.RoleGlobalAdmin, Method: "local"}

// findUser finds a user of the emulator matching ok.
func (e *env) findUser(ok func(graphemu.User) bool) graphemu.User {
	e.t.Helper()
	for _, id := range e.emu.UserIDs() {
		u, _ := e.emu.User(id)
		if ok(u) {
			return u
		}
	}
	e.t.Fatal("no emulator user matches")
	return graphemu.User{}
}
