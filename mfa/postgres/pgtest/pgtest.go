// Package pgtest gives tests a real PostgreSQL: one throw-away cluster per test binary, started at
// the first test that asks for a database, and a fresh database per test.
//
// A test package calls Main from its TestMain, and each test calls URL:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.URL(t) // an empty database of its own, dropped when t ends
//		...
//	}
//
// The cluster lives in a temporary folder (its unix socket too) and listens on a free loopback
// port; it is stopped and removed when the tests end, failed or not. The server runs as the
// postgres user when the tests run as root (CI does: PostgreSQL refuses to run as root), and it is
// killed with the test binary should that die first (a panic, go test's timeout). It is found in
// /usr/lib/postgresql/*/bin (Debian's package), on PATH, or in MFAPORTAL_POSTGRES_BIN.
// MFAPORTAL_TEST_POSTGRES_URL names an existing server to use instead (a URL whose user may
// create databases).
//
// Without PostgreSQL the tests that need it are skipped with the reason, unless
// MFAPORTAL_REQUIRE_POSTGRES is set (scripts/test sets it): then they fail, so that CI never
// passes by skipping them.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

var (
	once    sync.Once
	shared  *cluster
	admin   *pgxpool.Pool
	problem error // why there is no cluster: notFound or a failure to start
	dbSeq   atomic.Int64
)

// Main runs the tests of the binary (call it from TestMain), stops the cluster if one was started,
// and exits with the tests' code.
func Main(m *testing.M) {
	code := m.Run()
	if admin != nil {
		admin.Close()
	}
	if shared != nil {
		if err := shared.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "pgtest:", err)
		}
	}
	os.Exit(code)
}

// Required reports whether MFAPORTAL_REQUIRE_POSTGRES is set: a missing PostgreSQL is then a
// failure, not a reason to skip.
func Required() bool { return os.Getenv("MFAPORTAL_REQUIRE_POSTGRES") != "" }

// setup starts the cluster (or connects to MFAPORTAL_TEST_POSTGRES_URL) once per binary.
func setup() {
	url := os.Getenv("MFAPORTAL_TEST_POSTGRES_URL")
	if url == "" {
		shared, problem = startCluster()
		if problem != nil {
			return
		}
		url = shared.url("postgres")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, problem = pgxpool.New(ctx, url)
	if problem == nil {
		problem = admin.Ping(ctx)
	}
	if problem != nil {
		problem = fmt.Errorf("PostgreSQL at %s: %w", redact(url), problem)
	}
}

// URL returns the URL of a new, empty database, dropped when tb ends. Without PostgreSQL it skips
// tb (or fails it, when MFAPORTAL_REQUIRE_POSTGRES is set, or when PostgreSQL is installed but
// would not start).
func URL(tb testing.TB) string {
	tb.Helper()
	once.Do(setup)
	if problem != nil {
		if _, missing := problem.(notFound); missing && !Required() {
			tb.Skipf("skipped: %v (set MFAPORTAL_REQUIRE_POSTGRES=1 to make this a failure)", problem)
		}
		tb.Fatalf("pgtest: %v", problem)
	}
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	ctx := context.Background()
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: create database: %v", err)
	}
	tb.Cleanup(func() {
		// FORCE ends the connections a failed test may have left open.
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return databaseURL(admin.Config().ConnConfig, name)
}

// databaseURL is the URL of database name on the server cfg connects to.
func databaseURL(cfg *pgx.ConnConfig, name string) string {
	u := url.URL{Scheme: "postgres", Host: net.JoinHostPort(cfg.Host, strconv.Itoa(int(cfg.Port))), Path: "/" + name,
		User: url.UserPassword(cfg.User, cfg.Password), RawQuery: "sslmode=disable"}
	if cfg.Password == "" {
		u.User = url.User(cfg.User)
	}
	return u.String()
}

// redact hides a password in a URL for messages.
func redact(url string) string {
	if at := strings.LastIndexByte(url, '@'); at > 0 {
		if scheme := strings.Index(url, "://"); scheme > 0 && scheme < at {
			return url[:scheme+3] + "…" + url[at:]
		}
	}
	return url
}

// FromTemplate returns the URL of a new database copied from the template database name, which
// fill fills (given its URL) the first time it is asked for: a benchmark seeds a million users
// once, and each run works on a copy of them. The template is kept in the server: with
// MFAPORTAL_TEST_POSTGRES_URL (a server that outlives the tests) across runs, so name should
// change whenever what fill writes does. The copy is dropped when tb ends.
func FromTemplate(tb testing.TB, name string, fill func(url string) error) string {
	tb.Helper()
	URL(tb) // starts the server, or skips
	ctx := context.Background()
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)", name).Scan(&exists); err != nil {
		tb.Fatal(err)
	}
	if !exists {
		filling := name + "_filling"
		ident := pgx.Identifier{filling}.Sanitize()
		admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
			tb.Fatal(err)
		}
		if err := fill(databaseURL(admin.Config().ConnConfig, filling)); err != nil {
			tb.Fatalf("pgtest: filling template %s: %v", name, err)
		}
		// Connections to it end before it is renamed and marked a template.
		if _, err := admin.Exec(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", filling); err != nil {
			tb.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+ident+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
			tb.Fatal(err)
		}
		if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" IS_TEMPLATE true"); err != nil {
			tb.Fatal(err)
		}
	}
	copyName := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{copyName}.Sanitize()+" TEMPLATE "+pgx.Identifier{name}.Sanitize()); err != nil {
		tb.Fatalf("pgtest: copy of template %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if _, err := admin.Exec(ctx, "DROP DATABASE "+pgx.Identifier{copyName}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop database %s: %v", copyName, err)
		}
	})
	return databaseURL(admin.Config().ConnConfig, copyName)
}
