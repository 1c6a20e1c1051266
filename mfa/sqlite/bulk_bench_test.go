package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// copyFile copies the cached benchmark directory so that applying a bulk file does not change it.
func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	dst.Close()
}

// BenchmarkBulk verifies and applies a bulk update file with one row per user of the directory
// (MFAPORTAL_BENCH_USERS, default 100,000), every row a change, and reports the time of each step
// and the peak RSS (storetest.BenchBulk, as mfa/postgres's). Run with -benchtime 1x: each run works
// on a fresh copy of the directory.
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench 'Bulk$' -benchtime 1x -timeout 30m ./mfa/sqlite/
//
// With MFAPORTAL_BENCH_LONG_PREFIXES=1 every prefix of five to twelve characters matching
// mfa.LongPrefixMatches users or more is counted first (up to mfa.MaxLongPrefixes, the most common
// first), as if each had been searched for; without it, none is (the copy's are dropped).
func BenchmarkBulk(b *testing.B) {
	n := benchUsers(b)
	cached := benchDB(b, n)
	cached.Close()
	storetest.BenchBulk(b, n, func() storetest.Store {
		path := filepath.Join(b.TempDir(), "bulk.db")
		copyFile(b, cached.Path, path)
		db, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		listCommonLongPrefixes(b, db, os.Getenv("MFAPORTAL_BENCH_LONG_PREFIXES") != "")
		return db
	}, cpuTime)
}

// listCommonLongPrefixes drops the long prefixes the copy counts (the benchmarks of the users
// page list some in the cached directory) and, if common, counts every one matching
// mfa.LongPrefixMatches users or more.
func listCommonLongPrefixes(b *testing.B, db *DB, common bool) {
	ctx := context.Background()
	for _, q := range []string{"DELETE FROM prefix_counts WHERE length(prefix) > 4", "DELETE FROM long_prefixes"} {
		if _, err := db.db.ExecContext(ctx, q); err != nil {
			b.Fatal(err)
		}
	}
	if !common {
		return
	}
	start := time.Now()
	rows, err := db.db.QueryContext(ctx, `SELECT substr(term, 1, k.k) AS p FROM user_terms,
			(SELECT 5 AS k UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9 UNION ALL SELECT 10 UNION ALL SELECT 11 UNION ALL SELECT 12) k
		WHERE lcp < k.k AND length(term) >= k.k GROUP BY p HAVING COUNT(*) >= ? ORDER BY COUNT(*) DESC, p LIMIT ?`,
		mfa.LongPrefixMatches, mfa.MaxLongPrefixes)
	if err != nil {
		b.Fatal(err)
	}
	var prefixes []string
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			b.Fatal(err)
		}
		prefixes = append(prefixes, p)
	}
	rows.Close()
	for _, p := range prefixes {
		if err := db.countLongPrefix(ctx, p); err != nil {
			b.Fatalf("count %q: %v", p, err)
		}
	}
	b.Logf("counted %d long prefixes in %s", len(prefixes), time.Since(start).Round(time.Millisecond))
}

// BenchmarkBulkVerify is the verify step alone (planning a file with one row per user, and storing
// the plan), on a copy of the cached directory.
func BenchmarkBulkVerify(b *testing.B) {
	n := benchUsers(b)
	cached := benchDB(b, n)
	cached.Close()
	// A copy: a discarded plan leaves free pages behind, which would change the cached directory
	// that the other benchmarks measure.
	path := filepath.Join(b.TempDir(), "verify.db")
	copyFile(b, cached.Path, path)
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var file bytes.Buffer
	file.WriteString("Username,MFA Status\r\n")
	for u := range mfa.DemoUsers(n) {
		fmt.Fprintf(&file, "%s,%s\r\n", u.UPN, "Enforced")
	}
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	actor := mfa.Actor{Name: "bench", Role: mfa.RoleGlobalAdmin, Method: "cli"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		job, err := svc.CreateBulkJob(ctx, actor, "bench.csv", bytes.NewReader(file.Bytes()), mfa.DefaultCSVLimits, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := svc.DiscardBulkJob(ctx, actor, job.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(storetest.PeakRSSMB(), "peak-RSS-MB")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
