package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// BenchmarkBulk verifies and applies a file of one row per user (storetest.BenchBulk, as
// mfa/sqlite's; run with -benchtime 1x), each run on a copy of the demo directory; apply-cpu-s is
// this process's CPU time and the database server's, all its processes.
//
// With MFAPORTAL_BENCH_LONG_PREFIXES=1 every prefix of five to twelve characters matching
// mfa.LongPrefixMatches users or more is counted first (up to mfa.MaxLongPrefixes, the most common first),
// as if each had been searched for: a state change then moves its user's counts under those too.
func BenchmarkBulk(b *testing.B) {
	n := storetest.BenchUsers(b)
	var cpu func() time.Duration
	storetest.BenchBulk(b, n, func() storetest.Store {
		db := benchDB(b, n)
		if os.Getenv("MFAPORTAL_BENCH_LONG_PREFIXES") != "" {
			listCommonLongPrefixes(b, db)
		}
		cpu = serverCPU(b, db)
		return db
	}, func() time.Duration { return cpu() })
}

// listCommonLongPrefixes counts every long prefix matching mfa.LongPrefixMatches users or more.
func listCommonLongPrefixes(b *testing.B, db *DB) {
	ctx := context.Background()
	start := time.Now()
	rows, err := db.pool.Query(ctx, `SELECT left(term, k) FROM user_terms, generate_series(5, 12) k
		WHERE lcp < k AND length(term) >= k GROUP BY 1 HAVING count(*) >= $1 ORDER BY count(*) DESC, 1 LIMIT $2`,
		mfa.LongPrefixMatches, mfa.MaxLongPrefixes)
	if err != nil {
		b.Fatal(err)
	}
	prefixes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range prefixes {
		if err := db.countLongPrefix(ctx, p); err != nil {
			b.Fatalf("count %q: %v", p, err)
		}
	}
	var terms int64
	if err := db.pool.QueryRow(ctx, `SELECT count(*) FROM user_terms t JOIN long_prefixes p
		ON p.head = left(t.term, 5) AND starts_with(t.term, p.prefix) AND length(p.prefix) > t.lcp`).Scan(&terms); err != nil {
		b.Fatal(err)
	}
	b.Logf("counted %d long prefixes in %s: %d terms count under them", len(prefixes), time.Since(start).Round(time.Millisecond), terms)
}

// serverCPU is the CPU time of this process and of the whole database server db is on (read from
// /proc: the server runs on this machine): the postmaster's own, its children's that have ended
// (the kernel adds them to the postmaster's when it reaps them) and its running children's.
func serverCPU(b *testing.B, db *DB) func() time.Duration {
	var backend int
	if err := db.pool.QueryRow(context.Background(), "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		b.Fatal(err)
	}
	postmaster := procField(b, backend, 3) // stat's fourth field: the parent's pid
	ticks := func(pid int, fields ...int) time.Duration {
		var t int
		for _, f := range fields {
			t += procField(b, pid, f)
		}
		return time.Duration(t) * (time.Second / 100) // USER_HZ
	}
	return func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		total := time.Duration(ru.Utime.Nano()+ru.Stime.Nano()) + ticks(postmaster, 13, 14, 15, 16)
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, stat := range stats {
			if f, ok := statFields(stat); ok && f[3] == strconv.Itoa(postmaster) {
				u, _ := strconv.Atoi(f[13])
				s, _ := strconv.Atoi(f[14])
				total += time.Duration(u+s) * (time.Second / 100)
			}
		}
		return total
	}
}

// statFields are the fields of a /proc/PID/stat file, numbered from 0 (pid), the command's name
// (which may hold spaces) as one.
func statFields(path string) ([]string, bool) {
	body, err := os.ReadFile(path)
	if err != nil {
		return nil, false // ended meanwhile
	}
	s := string(body)
	end := strings.LastIndexByte(s, ')')
	if end < 0 {
		return nil, false
	}
	return append([]string{strings.Fields(s[:end])[0], s[:end+1]}, strings.Fields(s[end+1:])...), true
}

// procField is field i of /proc/pid/stat as a number.
func procField(b *testing.B, pid, i int) int {
	f, ok := statFields(fmt.Sprintf("/proc/%d/stat", pid))
	if !ok {
		b.Fatalf("the database server's process %d: not found in /proc", pid)
	}
	n, err := strconv.Atoi(f[i])
	if err != nil {
		b.Fatalf("/proc/%d/stat field %d: %q", pid, i, f[i])
	}
	return n
}

// BenchmarkFindUsersRepeat requests each filter of MFAPORTAL_BENCH_FILTERS MFAPORTAL_BENCH_REPEAT
// times (storetest.BenchRepeat): the slow combinations of BenchmarkFindUsersCombinations on their
// own, each with its p50, p95 and maximum.
func BenchmarkFindUsersRepeat(b *testing.B) {
	db, cpu := oneConn(b, benchDB(b, storetest.BenchUsers(b)))
	storetest.BenchRepeat(b, db, storetest.RepeatFilters(benchLimit(b)), cpu)
}
