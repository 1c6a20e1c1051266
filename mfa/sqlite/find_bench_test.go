package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// Benchmarks of the list's filters, sorts and page sizes (SPEC §10, docs/PERFORMANCE.md), over the
// cached demo directory of benchDB:
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench FindUsersCombinations -benchtime 1x -timeout 60m ./mfa/sqlite/
//
// MFAPORTAL_BENCH_LIMIT sets the page size (default 100, the page's; 250 is the largest it offers).

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

// benchSearches are no search, every one-character prefix of a term in the directory, the most
// common two-character ones, and storetest.BenchSearches.
func benchSearches(b *testing.B, db *DB) []string {
	out := []string{""}
	rows, err := db.db.Query(`SELECT prefix FROM (SELECT prefix, SUM(n) AS n FROM prefix_counts
		WHERE length(prefix) = 1 OR length(prefix) = 2 GROUP BY prefix)
		WHERE length(prefix) = 1 OR n >= 10000 ORDER BY length(prefix), n DESC`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			b.Fatal(err)
		}
		out = append(out, p)
	}
	return append(out, storetest.BenchSearches...)
}

// BenchmarkFindUsersCombinations runs, per op, the first page of every view × status × admins ×
// methods × sort × order for every search of benchSearches, and reports the percentiles over all
// those requests (wall and CPU time), the slowest combination, and how many combinations took
// 50 ms or more in any op.
func BenchmarkFindUsersCombinations(b *testing.B) {
	db := benchDB(b, benchUsers(b))
	storetest.BenchCombinations(b, db, storetest.Combinations(benchSearches(b, db), benchLimit(b)), cpuTime)
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}

// BenchmarkFindUsersDeepCombinations is BenchmarkFindUsersCombinations for the page 90 % of the
// way into each combination without a search or with a one-letter one, forwards and backwards.
func BenchmarkFindUsersDeepCombinations(b *testing.B) {
	db := benchDB(b, benchUsers(b))
	storetest.BenchCombinations(b, db, storetest.DeepCombinations(b, db, []string{"", "s", "el"}, benchLimit(b)), cpuTime)
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}

// BenchmarkFindUsersRepeat requests each filter of MFAPORTAL_BENCH_FILTERS MFAPORTAL_BENCH_REPEAT
// times (storetest.BenchRepeat): the slow combinations of BenchmarkFindUsersCombinations on their
// own, each with its p50, p95 and maximum.
func BenchmarkFindUsersRepeat(b *testing.B) {
	db := benchDB(b, benchUsers(b))
	storetest.BenchRepeat(b, db, storetest.RepeatFilters(benchLimit(b)), cpuTime)
}

// BenchmarkMigrate opens a copy of MFAPORTAL_BENCH_MIGRATE_FROM (a data folder's mfaportal.db
// written by an earlier version) and reports how long its pending migrations take, each logged.
// MFAPORTAL_BENCH_MIGRATE_KEEP names where to keep the migrated file.
func BenchmarkMigrate(b *testing.B) {
	from := os.Getenv("MFAPORTAL_BENCH_MIGRATE_FROM")
	if from == "" {
		b.Skip("MFAPORTAL_BENCH_MIGRATE_FROM is not set")
	}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "mfaportal.db")
		copyFile(b, from, path)
		storetest.ResetPeakRSS()
		migrationTimed = func(name string, d time.Duration) { b.Logf("%s: %s", name, d.Round(time.Millisecond)) }
		b.StartTimer()
		start := time.Now()
		db, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s")
		b.StopTimer()
		migrationTimed = nil
		b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
		db.Close()
		if st, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(st.Size())/1e6, "db-MB")
		}
		if keep := os.Getenv("MFAPORTAL_BENCH_MIGRATE_KEEP"); keep != "" {
			os.Rename(path, keep) // e.g. as the cached directory of benchDB, instead of seeding it
		}
	}
}
