package sqlite

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// Benchmarks of the users page over the embedded directory (docs/PERFORMANCE.md).
//
// The directory size comes from MFAPORTAL_BENCH_USERS (default 100,000, so that `go test -bench .`
// stays quick). The seeded file is kept in os.TempDir(), keyed by size and by a hash of the
// migrations, of benchSeedVersion and of the demo tenant, so reruns do not seed again:
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench FindUsers -benchtime 200x ./mfa/sqlite/
//
// Each FindUsers benchmark reports, besides ns/op (the mean), the 95th and 99th percentiles and the
// maximum (p95-ms, p99-ms, max-ms), the total of the last page (matches) and the process's peak
// resident set (peak-rss-MB).

// benchSeedVersion changes when SeedUsers writes different rows for the same users, so that a
// cached file from an older build is not reused.
const benchSeedVersion = "1"

func benchUsers(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("MFAPORTAL_BENCH_USERS"); s != "" {
		v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil || v < 1000 {
			b.Fatalf("MFAPORTAL_BENCH_USERS=%q: expected a number of users, at least 1000", s)
		}
		n = v
	}
	return n
}

// schemaKey hashes the embedded migrations and a sample of the demo tenant, so that a cached file
// follows changes of the schema and of mfa.DemoUsers.
func schemaKey() string {
	h := sha256.New()
	fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			body, _ := migrations.ReadFile(path)
			fmt.Fprintf(h, "%s\x00%d\x00", path, len(body))
			h.Write(body)
		}
		return nil
	})
	h.Write([]byte(benchSeedVersion))
	// The demo tenant's generator, by a sample of what it yields.
	for u := range mfa.DemoUsers(20_000) {
		fmt.Fprintf(h, "%s\x00%s\x00%t%t%s%d%d\n", u.UPN, u.DisplayName, u.AccountEnabled, u.Privileged, u.State, len(u.Methods), u.AppPasswords)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// benchDB opens the cached demo directory of n users, seeding it first if it is not there yet.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("mfaportal-bench-%d-%s.db", n, schemaKey()))
	if _, err := os.Stat(path); err != nil {
		tmp := fmt.Sprintf("%s.seeding-%d", path, os.Getpid())
		db, err := Open(ctx, tmp)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		got, err := db.SeedUsers(ctx, mfa.DemoUsers(n), t0, nil)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		for _, suffix := range []string{"-wal", "-shm"} {
			os.Remove(tmp + suffix)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
		b.Logf("seeded %d users in %s (%.0f users/s) into %s", got, took.Round(time.Millisecond), float64(got)/took.Seconds(), path)
	}
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkSeed seeds a fresh directory of MFAPORTAL_BENCH_SEED_USERS users (default 20,000) per
// op and reports the rate.
func BenchmarkSeed(b *testing.B) {
	n := 20_000
	if s := os.Getenv("MFAPORTAL_BENCH_SEED_USERS"); s != "" {
		v, err := strconv.Atoi(strings.ReplaceAll(s, "_", ""))
		if err != nil || v < 1 {
			b.Fatalf("MFAPORTAL_BENCH_SEED_USERS=%q: expected a number of users", s)
		}
		n = v
	}
	ctx := context.Background()
	var total time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		db, err := Open(ctx, filepath.Join(b.TempDir(), fmt.Sprintf("seed-%d.db", i)))
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := db.SeedUsers(ctx, mfa.DemoUsers(n), t0, nil); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		db.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "users/s")
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}

// benchFilter is the SQL condition of a view and status over users, for setting up deep cursors.
func benchFilter(view mfa.View, status mfa.StatusFilter) (string, []any) {
	var where []string
	var args []any
	if view != mfa.ViewAll {
		where = append(where, "account_enabled = ?")
		args = append(args, boolInt(view == mfa.ViewAllowed))
	}
	if status != mfa.StatusAny {
		where = append(where, "state = ?")
		args = append(args, string(status))
	}
	if len(where) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(where, " AND "), args
}

// deepCursor returns the cursor of the user at fraction frac of the view (no search), taken
// directly from the table: the page after it is one an admin reaches by paging that far.
func deepCursor(b *testing.B, db *DB, view mfa.View, status mfa.StatusFilter, frac float64) string {
	b.Helper()
	where, args := benchFilter(view, status)
	var n int
	if err := db.db.QueryRow("SELECT COUNT(*) FROM users"+where, args...).Scan(&n); err != nil {
		b.Fatal(err)
	}
	c := cursor{Sort: mfa.SortName, Order: mfa.OrderAsc}
	err := db.db.QueryRow("SELECT sort_key, id FROM users"+where+" ORDER BY sort_key, id LIMIT 1 OFFSET ?",
		append(args, int(float64(n)*frac))...).Scan(&c.Key, &c.ID)
	if err != nil {
		b.Fatal(err)
	}
	return encodeCursor(c)
}

// searchCursor returns the cursor of the match at fraction frac of a search, by paging through
// it with the largest page.
func searchCursor(b *testing.B, db *DB, f mfa.UserFilter, frac float64) string {
	b.Helper()
	f.Limit = mfa.MaxLimit
	p, err := db.FindUsers(context.Background(), f)
	if err != nil {
		b.Fatal(err)
	}
	want := int(float64(p.Total) * frac)
	for seen := len(p.Users); seen < want && p.NextCursor != ""; seen += len(p.Users) {
		f.After = p.NextCursor
		if p, err = db.FindUsers(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
	return f.After
}

// timed runs fn b.N times and reports the 95th percentile of its durations.
func timed(b *testing.B, fn func() (*mfa.UserPage, error)) {
	b.Helper()
	var durs []time.Duration
	var last *mfa.UserPage
	for b.Loop() {
		start := time.Now()
		p, err := fn()
		durs = append(durs, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		last = p
	}
	reportPercentiles(b, durs)
	b.ReportMetric(float64(last.Total), "matches")
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(durs[int(math.Ceil(p*float64(len(durs))))-1]) / 1e6 }
	b.ReportMetric(pct(0.95), "p95-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(durs[len(durs)-1])/1e6, "max-ms")
}

var benchStatuses = []mfa.StatusFilter{mfa.StatusAny, "enabled", "enforced", "disabled"}

// BenchmarkFindUsers times one users page (100 rows, the page's default) per op.
func BenchmarkFindUsers(b *testing.B) {
	n := benchUsers(b)
	db := benchDB(b, n)
	ctx := context.Background()
	run := func(name string, f mfa.UserFilter) {
		b.Run(name, func(b *testing.B) {
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			timed(b, func() (*mfa.UserPage, error) { return db.FindUsers(ctx, f) })
		})
	}

	// Every view × status, first page and a page 90 % of the way in (forwards and backwards).
	for _, view := range mfa.Views {
		for _, status := range benchStatuses {
			run(fmt.Sprintf("first/view=%s/status=%s", view, status), mfa.UserFilter{View: view, Status: status})
		}
	}
	for _, view := range mfa.Views {
		for _, status := range benchStatuses {
			c := deepCursor(b, db, view, status, 0.9)
			run(fmt.Sprintf("deep90/view=%s/status=%s", view, status), mfa.UserFilter{View: view, Status: status, After: c})
		}
	}
	run("deep90-back/view=allowed/status=any", mfa.UserFilter{View: mfa.ViewAllowed, Before: deepCursor(b, db, mfa.ViewAllowed, mfa.StatusAny, 0.9)})
	run("deep99/view=all/status=any", mfa.UserFilter{View: mfa.ViewAll, After: deepCursor(b, db, mfa.ViewAll, mfa.StatusAny, 0.99)})
	run("limit1000/view=allowed/status=any", mfa.UserFilter{View: mfa.ViewAllowed, Limit: mfa.MaxLimit})

	// Searches on the default view (allowed, any status).
	searches := []struct{ name, q string }{
		{"1-letter", "a"},
		{"1-letter-z", "z"},
		{"2-letter", "ma"},
		{"2-letter-el", "el"},
		{"3-letter-most", "han"},
		{"4-letter", "chri"},
		{"4-letter-mart", "mart"},
		{"surname", "smi"},
		{"surname-full", "nakamura"},
		{"upn", "sofia.sa"},
		{"upn-full", "grady.walsh@contoso.com"},
		{"accented", "élo"},
		{"full-name", "élodie lefèvre"},
		{"no-match", "zz-none"},
	}
	for _, s := range searches {
		run("search/"+s.name+"/q="+s.q, mfa.UserFilter{View: mfa.ViewAllowed, Query: s.q})
	}
	// Searches combined with the other filters.
	for _, c := range []struct {
		view   mfa.View
		status mfa.StatusFilter
		q      string
	}{
		{mfa.ViewAll, mfa.StatusAny, "a"},
		{mfa.ViewAllowed, "enforced", "a"},
		{mfa.ViewBlocked, mfa.StatusAny, "a"},
		{mfa.ViewBlocked, "enforced", "a"},
		{mfa.ViewBlocked, "enforced", "el"},
		{mfa.ViewAllowed, "disabled", "smi"},
		{mfa.ViewBlocked, "enabled", "élo"},
		{mfa.ViewAll, "disabled", "sofia.sa"},
		{mfa.ViewBlocked, "enforced", "zz-none"},
	} {
		run(fmt.Sprintf("search-filtered/view=%s/status=%s/q=%s", c.view, c.status, c.q),
			mfa.UserFilter{View: c.view, Status: c.status, Query: c.q})
	}
	// Searches paged 90 % of the way in.
	for _, q := range []string{"a", "el", "smi"} {
		f := mfa.UserFilter{View: mfa.ViewAllowed, Query: q}
		if err := f.Validate(); err != nil {
			b.Fatal(err)
		}
		f.After = searchCursor(b, db, f, 0.9)
		run("search-deep90/q="+q, f)
	}
}

// BenchmarkFindUsersSweep runs, per op, the first page of every view × status for every 1- and
// 2-letter search prefix that occurs in the directory (and a few longer ones), and reports the
// 95th percentile and the maximum over all those queries: the page "for any filter and search
// prefix", not only the cases chosen above.
func BenchmarkFindUsersSweep(b *testing.B) {
	n := benchUsers(b)
	db := benchDB(b, n)
	ctx := context.Background()
	seen := map[string]bool{}
	var prefixes []string
	add := func(p string) {
		if p != "" && !seen[p] {
			seen[p] = true
			prefixes = append(prefixes, p)
		}
	}
	rows, err := db.db.Query("SELECT DISTINCT substr(term, 1, 2) FROM user_terms")
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			b.Fatal(err)
		}
		add(string([]rune(p)[:1]))
		add(p)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	for _, p := range []string{"han", "chri", "mart", "smi", "élo", "sofia.sa", "zz-none", "x", "q"} {
		add(p)
	}
	slices.Sort(prefixes)
	b.Logf("%d prefixes × %d views × %d statuses", len(prefixes), len(mfa.Views), len(benchStatuses))
	type slow struct {
		d time.Duration
		f mfa.UserFilter
	}
	var durs []time.Duration
	var worst slow
	for b.Loop() {
		for _, q := range prefixes {
			for _, view := range mfa.Views {
				for _, status := range benchStatuses {
					f := mfa.UserFilter{View: view, Status: status, Query: q}
					if err := f.Validate(); err != nil {
						b.Fatal(err)
					}
					start := time.Now()
					if _, err := db.FindUsers(ctx, f); err != nil {
						b.Fatal(err)
					}
					d := time.Since(start)
					durs = append(durs, d)
					if d > worst.d {
						worst = slow{d, f}
					}
				}
			}
		}
	}
	var sum time.Duration
	for _, d := range durs {
		sum += d
	}
	b.ReportMetric(float64(sum)/float64(len(durs))/1e6, "mean-ms")
	reportPercentiles(b, durs)
	b.ReportMetric(float64(len(durs))/float64(b.N), "queries/op")
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
	b.Logf("slowest: %s for view=%s status=%s q=%q", worst.d.Round(time.Microsecond), worst.f.View, worst.f.Status, worst.f.Query)
}

// BenchmarkFindUsersParallel runs the first page of every view × status for the searches of
// BenchmarkFindUsers and no search, from 4 goroutines per CPU at once, so that every pooled
// connection is busy: its peak-rss-MB is the directory's memory under concurrent load.
func BenchmarkFindUsersParallel(b *testing.B) {
	n := benchUsers(b)
	db := benchDB(b, n)
	ctx := context.Background()
	var filters []mfa.UserFilter
	for _, q := range []string{"", "a", "z", "ma", "el", "s", "chri", "mart", "smi", "sofia.sa", "élo", "zz-none"} {
		for _, view := range mfa.Views {
			for _, status := range benchStatuses {
				f := mfa.UserFilter{View: view, Status: status, Query: q}
				if err := f.Validate(); err != nil {
					b.Fatal(err)
				}
				filters = append(filters, f)
			}
		}
	}
	var next atomic.Int64
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f := filters[int(next.Add(1))%len(filters)]
			if _, err := db.FindUsers(ctx, f); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}
