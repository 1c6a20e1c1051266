package storetest

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// Benchmarks shared by the stores (docs/PERFORMANCE.md): the users page and bulk update, on a
// directory of MFAPORTAL_BENCH_USERS demo users (default 100,000).

// BenchUsers is the size of the benchmarks' directory.
func BenchUsers(b *testing.B) int {
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

// Timed runs fn b.N times and reports the 95th and 99th percentiles and the maximum.
func Timed(b *testing.B, fn func() (*mfa.UserPage, error)) {
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
	ReportPercentiles(b, durs)
	b.ReportMetric(float64(last.Total), "matches")
}

// ReportPercentiles reports p95-ms, p99-ms and max-ms of durs.
func ReportPercentiles(b *testing.B, durs []time.Duration) {
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

// pageCursor is the cursor after the match at fraction frac of f, found by paging with the
// largest page.
func pageCursor(b *testing.B, db mfa.Directory, f mfa.UserFilter, frac float64) string {
	b.Helper()
	if err := f.Validate(); err != nil {
		b.Fatal(err)
	}
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

// BenchFindUsers times one users page (100 rows) per op, for every view × status (first page and
// 90 % of the way in) and the searches of docs/PERFORMANCE.md.
func BenchFindUsers(b *testing.B, db Store) {
	ctx := context.Background()
	run := func(name string, f mfa.UserFilter) {
		b.Run(name, func(b *testing.B) {
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			Timed(b, func() (*mfa.UserPage, error) { return db.FindUsers(ctx, f) })
		})
	}
	for _, view := range mfa.Views {
		for _, status := range benchStatuses {
			run(fmt.Sprintf("first/view=%s/status=%s", view, status), mfa.UserFilter{View: view, Status: status})
		}
	}
	for _, view := range mfa.Views {
		for _, status := range benchStatuses {
			f := mfa.UserFilter{View: view, Status: status}
			f.After = pageCursor(b, db, f, 0.9)
			run(fmt.Sprintf("deep90/view=%s/status=%s", view, status), f)
		}
	}
	back := mfa.UserFilter{View: mfa.ViewAllowed}
	back.Before = pageCursor(b, db, back, 0.9)
	run("deep90-back/view=allowed/status=any", back)
	run("limit1000/view=allowed/status=any", mfa.UserFilter{View: mfa.ViewAllowed, Limit: mfa.MaxLimit})
	for _, q := range []string{"a", "z", "ma", "el", "han", "chri", "mart", "smi", "nakamura", "sofia.sa",
		"grady.walsh@contoso.com", "élo", "élodie lefèvre", "zz-none"} {
		run("search/q="+q, mfa.UserFilter{View: mfa.ViewAllowed, Query: q})
	}
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
	for _, q := range []string{"a", "el", "smi"} {
		f := mfa.UserFilter{View: mfa.ViewAllowed, Query: q}
		f.After = pageCursor(b, db, f, 0.9)
		run("search-deep90/q="+q, f)
	}
}

// BenchFindUsersSweep runs, per op, the first page of every view × status for every prefix given
// (every 1- and 2-character prefix of the directory, say), and reports the percentiles over all
// those queries and the slowest.
func BenchFindUsersSweep(b *testing.B, db Store, prefixes []string) {
	ctx := context.Background()
	b.Logf("%d prefixes × %d views × %d statuses", len(prefixes), len(mfa.Views), len(benchStatuses))
	var durs []time.Duration
	var worst time.Duration
	var worstF mfa.UserFilter
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
					if d > worst {
						worst, worstF = d, f
					}
				}
			}
		}
	}
	ReportPercentiles(b, durs)
	b.ReportMetric(float64(len(durs))/float64(b.N), "queries/op")
	b.Logf("slowest: %s for view=%s status=%s q=%q", worst.Round(time.Microsecond), worstF.View, worstF.Status, worstF.Query)
}
