package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// Benchmarks of the users page and bulk update on PostgreSQL (docs/PERFORMANCE.md):
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench . -benchtime 200x ./mfa/postgres/
//
// The demo directory is seeded once into a template database of the test server and each
// benchmark works on a copy; with MFAPORTAL_TEST_POSTGRES_URL (a server that outlives the run)
// the template is kept across runs, named by size and a hash of the migrations.

func schemaKey() string {
	h := sha256.New()
	fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			body, _ := migrations.ReadFile(path)
			h.Write(body)
		}
		return nil
	})
	for u := range mfa.DemoUsers(2000) {
		fmt.Fprintf(h, "%s\x00%s\x00%t%t%s%d\n", u.UPN, u.DisplayName, u.AccountEnabled, u.Privileged, u.State, len(u.Methods))
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// benchDB opens a copy of the demo directory of n users.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	url := pgtest.FromTemplate(b, fmt.Sprintf("bench_%d_%s", n, schemaKey()), func(url string) error {
		db, err := Open(ctx, url)
		if err != nil {
			return err
		}
		defer db.Close()
		start := time.Now()
		got, err := db.SeedUsers(ctx, mfa.DemoUsers(n), storetest.T0, nil)
		b.Logf("seeded %d users in %s", got, time.Since(start).Round(time.Millisecond))
		return err
	})
	db, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// A copied database has no statistics of its own yet.
	if _, err := db.pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		b.Fatal(err)
	}
	return db
}

// benchSearches are no search, every one-character prefix of a term in the directory, the most
// common two-character ones, and storetest.BenchSearches (as mfa/sqlite's).
func benchSearches(b *testing.B, db *DB) []string {
	rows, err := db.pool.Query(context.Background(), `SELECT prefix FROM (SELECT prefix, sum(n) AS n FROM prefix_counts
		WHERE length(prefix) <= 2 GROUP BY prefix) x WHERE length(prefix) = 1 OR n >= 10000 ORDER BY length(prefix), n DESC, prefix`)
	if err != nil {
		b.Fatal(err)
	}
	found, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	return append(append([]string{""}, found...), storetest.BenchSearches...)
}

// benchLimit is MFAPORTAL_BENCH_LIMIT, the page size (default 100, the page's).
func benchLimit(b *testing.B) int {
	if s := os.Getenv("MFAPORTAL_BENCH_LIMIT"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > mfa.MaxLimit {
			b.Fatalf("MFAPORTAL_BENCH_LIMIT=%q: expected 1 to %d", s, mfa.MaxLimit)
		}
		return n
	}
	return mfa.DefaultLimit
}

// oneConn is db on a pool of one connection, and the CPU time of this process and of that
// connection's server process (read from /proc: the server runs on this machine), for the
// combination benchmarks: the requests run one at a time, so the two are nearly all theirs.
func oneConn(b *testing.B, db *DB) (*DB, func() time.Duration) {
	ctx := context.Background()
	cfg := db.pool.Config().Copy()
	cfg.MaxConns, cfg.MinConns = 1, 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	var pid int
	if err := pool.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&pid); err != nil {
		b.Fatal(err)
	}
	// schedstat's first field is the time the process has run on a CPU, in nanoseconds.
	schedstat := fmt.Sprintf("/proc/%d/schedstat", pid)
	return &DB{pool: pool}, func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		own := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		body, err := os.ReadFile(schedstat)
		if err != nil {
			b.Fatalf("the server's CPU time: %v", err)
		}
		ns, _ := strconv.ParseInt(strings.Fields(string(body))[0], 10, 64)
		return own + time.Duration(ns)
	}
}

// BenchmarkFindUsersCombinations runs, per op, the first page of every view × status × admins ×
// methods × sort × order for every search of benchSearches (docs/PERFORMANCE.md).
func BenchmarkFindUsersCombinations(b *testing.B) {
	db, cpu := oneConn(b, benchDB(b, storetest.BenchUsers(b)))
	storetest.BenchCombinations(b, db, storetest.Combinations(benchSearches(b, db), benchLimit(b)), cpu)
}

// BenchmarkFindUsersDeepCombinations is BenchmarkFindUsersCombinations for the page 90 % of the
// way into each combination without a search or with a one-letter one, forwards and backwards.
func BenchmarkFindUsersDeepCombinations(b *testing.B) {
	db, cpu := oneConn(b, benchDB(b, storetest.BenchUsers(b)))
	storetest.BenchCombinations(b, db, storetest.DeepCombinations(b, db, []string{"", "s", "el"}, benchLimit(b)), cpu)
}

func BenchmarkFindUsers(b *testing.B) {
	storetest.BenchFindUsers(b, benchDB(b, storetest.BenchUsers(b)))
}

// BenchmarkFindUsersSweep: every 1- and 2-character prefix of the directory's terms.
func BenchmarkFindUsersSweep(b *testing.B) {
	db := benchDB(b, storetest.BenchUsers(b))
	rows, err := db.pool.Query(context.Background(), `SELECT p FROM (SELECT DISTINCT left(term, 1) AS p FROM user_terms
		UNION SELECT DISTINCT left(term, 2) FROM user_terms) x ORDER BY p`)
	if err != nil {
		b.Fatal(err)
	}
	var prefixes []string
	for rows.Next() {
		var p string
		rows.Scan(&p)
		prefixes = append(prefixes, p)
	}
	prefixes = append(prefixes, "han", "chri", "mart", "smi", "élo", "sofia.sa", "zz-none")
	storetest.BenchFindUsersSweep(b, db, prefixes)
}

// BenchmarkBulk verifies and applies a file of one row per user (run with -benchtime 1x).
func BenchmarkBulk(b *testing.B) {
	n := storetest.BenchUsers(b)
	for b.Loop() {
		b.StopTimer()
		db := benchDB(b, n)
		b.StartTimer()
		storetest.BenchBulk(b, db, n, mfa.BulkRunner{BatchSize: 30000, BatchTime: 2 * time.Second})
	}
}
