package sqlite

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
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

// comboFilters yields every view × status × admins × methods × sort × order for each search.
func comboFilters(searches []string, limit int) []mfa.UserFilter {
	var out []mfa.UserFilter
	for _, q := range searches {
		for _, view := range mfa.Views {
			for _, status := range benchStatuses {
				for _, priv := range []mfa.PrivilegedFilter{mfa.PrivilegedAny, mfa.PrivilegedYes, mfa.PrivilegedNo} {
					for _, methods := range []mfa.MethodsFilter{mfa.MethodsAny, mfa.MethodsNone, mfa.MethodsPhoneOnly} {
						for _, sort := range mfa.SortFields {
							for _, order := range []mfa.SortOrder{mfa.OrderAsc, mfa.OrderDesc} {
								out = append(out, mfa.UserFilter{View: view, Status: status, Privileged: priv, Methods: methods,
									Sort: sort, Order: order, Query: q, Limit: limit})
							}
						}
					}
				}
			}
		}
	}
	return out
}

// benchSearches are no search, every one-character prefix of a term in the directory, the most
// common two-character ones, and longer ones (the largest 3- and 4-character prefixes among them).
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
	return append(out, "han", "mar", "chri", "mart", "hans", "smi", "élo", "nakamura", "sofia.sa", "élodie lefèvre", "zz-none")
}

// BenchmarkFindUsersCombinations runs, per op, the first page of every view × status × admins ×
// methods × sort × order for every search of benchSearches, and reports the percentiles over all
// those requests, the slowest combination, and how many combinations took 50 ms or more in any op.
func BenchmarkFindUsersCombinations(b *testing.B) {
	db := benchDB(b, benchUsers(b))
	filters := comboFilters(benchSearches(b, db), benchLimit(b))
	for i := range filters {
		if err := filters[i].Validate(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d combinations a pass", len(filters))
	runCombinations(b, db, filters)
}

// runCombinations requests the first page of each filter per op and reports the wall time, and the
// process's CPU time (the requests run one at a time: nearly all of it is the request's), whose
// percentiles do not grow with the load that others put on the machine.
func runCombinations(b *testing.B, db *DB, filters []mfa.UserFilter) {
	ctx := context.Background()
	worst, worstCPU := make([]time.Duration, len(filters)), make([]time.Duration, len(filters))
	var durs, cpus []time.Duration
	for b.Loop() {
		for i, f := range filters {
			cpu0, start := cpuTime(), time.Now()
			if _, err := db.FindUsers(ctx, f); err != nil {
				b.Fatal(err)
			}
			d, cpu := time.Since(start), cpuTime()-cpu0
			cpus, durs = append(cpus, cpu), append(durs, d)
			worst[i], worstCPU[i] = max(worst[i], d), max(worstCPU[i], cpu)
		}
	}
	b.Log("slowest by CPU time:")
	logSlowest(b, filters, worstCPU)
	slices.Sort(cpus)
	pct := func(p float64) float64 { return float64(cpus[int(math.Ceil(p*float64(len(cpus))))-1]) / 1e6 }
	b.ReportMetric(pct(0.5), "cpu-p50-ms")
	b.ReportMetric(pct(0.95), "cpu-p95-ms")
	b.ReportMetric(pct(0.99), "cpu-p99-ms")
	b.ReportMetric(float64(cpus[len(cpus)-1])/1e6, "cpu-max-ms")
	reportCombinations(b, filters, worst, durs)
}

func reportCombinations(b *testing.B, filters []mfa.UserFilter, worst, durs []time.Duration) {
	var sum time.Duration
	for _, d := range durs {
		sum += d
	}
	b.ReportMetric(float64(sum)/float64(len(durs))/1e6, "mean-ms")
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2])/1e6, "p50-ms")
	reportPercentiles(b, durs)
	over := 0
	slowest := 0
	for i, d := range worst {
		if d >= 50*time.Millisecond {
			over++
		}
		if d > worst[slowest] {
			slowest = i
		}
	}
	b.ReportMetric(float64(over), "combos>=50ms")
	b.ReportMetric(float64(len(filters)), "combos")
	b.ReportMetric(peakRSSMB(), "peak-rss-MB")
	b.Log("slowest by wall time:")
	logSlowest(b, filters, worst)
}

// logSlowest logs the ten combinations with the longest times.
func logSlowest(b *testing.B, filters []mfa.UserFilter, worst []time.Duration) {
	idx := make([]int, len(filters))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return int(worst[y] - worst[x]) })
	for _, i := range idx[:min(10, len(idx))] {
		f := filters[i]
		b.Logf("%7.2f ms  view=%s status=%s privileged=%s methods=%s sort=%s order=%s q=%q", float64(worst[i])/1e6,
			f.View, f.Status, f.Privileged, f.Methods, f.Sort, f.Order, f.Query)
	}
}

// BenchmarkFindUsersDeepCombinations is BenchmarkFindUsersCombinations for the page 90 % of the
// way into each combination without a search or with a one-letter one (the cursor found by paging
// there with the largest pages), forwards and backwards.
func BenchmarkFindUsersDeepCombinations(b *testing.B) {
	db := benchDB(b, benchUsers(b))
	var filters []mfa.UserFilter
	for _, f := range comboFilters([]string{"", "s", "el"}, benchLimit(b)) {
		if err := f.Validate(); err != nil {
			b.Fatal(err)
		}
		c := searchCursor(b, db, f, 0.9)
		if c == "" {
			continue // a single page
		}
		f.After = c
		filters = append(filters, f)
		f.After, f.Before = "", c
		filters = append(filters, f)
	}
	b.Logf("%d deep pages a pass", len(filters))
	runCombinations(b, db, filters)
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
		resetPeakRSS()
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
		b.ReportMetric(peakRSSMB(), "peak-rss-MB")
		db.Close()
		if st, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(st.Size())/1e6, "db-MB")
		}
		if keep := os.Getenv("MFAPORTAL_BENCH_MIGRATE_KEEP"); keep != "" {
			os.Rename(path, keep) // e.g. as the cached directory of benchDB, instead of seeding it
		}
	}
}
