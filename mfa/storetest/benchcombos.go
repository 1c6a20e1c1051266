package storetest

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// BenchCombinations requests the first page (or the page after the cursor) of each filter per op,
// one at a time, and reports the percentiles of the wall time over all those requests (p50-ms,
// p95-ms, p99-ms, max-ms, mean-ms), and of the CPU time cpu measures (the store's: its process's,
// or the database server's too), whose percentiles do not grow with the load others put on the
// machine; then how many combinations took 50 ms or more in any op (wall and CPU time), and the
// slowest ones.
func BenchCombinations(b *testing.B, db mfa.Directory, filters []mfa.UserFilter, cpu func() time.Duration) {
	ctx := context.Background()
	for i := range filters {
		if err := filters[i].Validate(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d combinations a pass", len(filters))
	worst, worstCPU := make([]time.Duration, len(filters)), make([]time.Duration, len(filters))
	var durs, cpus []time.Duration
	for b.Loop() {
		for i, f := range filters {
			cpu0, start := cpu(), time.Now()
			if _, err := db.FindUsers(ctx, f); err != nil {
				b.Fatal(err)
			}
			d, c := time.Since(start), cpu()-cpu0
			cpus, durs = append(cpus, c), append(durs, d)
			worst[i], worstCPU[i] = max(worst[i], d), max(worstCPU[i], c)
		}
	}
	b.Log("slowest by CPU time:")
	logSlowest(b, filters, worstCPU)
	reportPcts(b, "cpu-", cpus)
	var sum time.Duration
	for _, d := range durs {
		sum += d
	}
	b.ReportMetric(float64(sum)/float64(len(durs))/1e6, "mean-ms")
	reportPcts(b, "", durs)
	over := 0
	for _, d := range worst {
		if d >= 50*time.Millisecond {
			over++
		}
	}
	b.ReportMetric(float64(over), "combos>=50ms")
	over = 0
	for _, c := range worstCPU {
		if c >= 50*time.Millisecond {
			over++
		}
	}
	b.ReportMetric(float64(over), "combos-cpu>=50ms")
	b.ReportMetric(float64(len(filters)), "combos")
	b.Log("slowest by wall time:")
	logSlowest(b, filters, worst)
}

// reportPcts reports the 50th, 95th and 99th percentiles and the maximum of durs, in ms.
func reportPcts(b *testing.B, prefix string, durs []time.Duration) {
	slices.Sort(durs)
	pct := func(p float64) float64 { return float64(durs[int(math.Ceil(p*float64(len(durs))))-1]) / 1e6 }
	b.ReportMetric(pct(0.5), prefix+"p50-ms")
	b.ReportMetric(pct(0.95), prefix+"p95-ms")
	b.ReportMetric(pct(0.99), prefix+"p99-ms")
	b.ReportMetric(float64(durs[len(durs)-1])/1e6, prefix+"max-ms")
}

// logSlowest logs the fifteen combinations with the longest times (the ones to ask again with
// BenchRepeat: its MFAPORTAL_BENCH_FILTERS takes these lines as they are).
func logSlowest(b *testing.B, filters []mfa.UserFilter, worst []time.Duration) {
	idx := make([]int, len(filters))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int { return int(worst[y] - worst[x]) })
	for _, i := range idx[:min(15, len(idx))] {
		f := filters[i]
		b.Logf("%7.2f ms  view=%s status=%s privileged=%s methods=%s sort=%s order=%s q=%q after=%t before=%t", float64(worst[i])/1e6,
			f.View, f.Status, f.Privileged, f.Methods, f.Sort, f.Order, f.Query, f.After != "", f.Before != "")
	}
}

// BenchSearches are the searches of the combination benchmarks besides every one-character prefix
// and the most common two-character ones (which each store reads from its counts): the largest 3-
// and 4-character prefixes, surnames, user names, full names, and no match.
var BenchSearches = []string{"han", "mar", "chri", "mart", "hans", "smi", "élo", "nakamura", "sofia.sa", "élodie lefèvre", "zz-none"}

// DeepCombinations are the filters of the combination benchmark for the page 90 % of the way into
// each combination without a search or with the searches given (the cursor found by paging there
// with the largest pages), forwards and backwards.
func DeepCombinations(b *testing.B, db mfa.Directory, searches []string, limit int) []mfa.UserFilter {
	var out []mfa.UserFilter
	for _, f := range Combinations(searches, limit) {
		if err := f.Validate(); err != nil {
			b.Fatal(err)
		}
		c := pageCursor(b, db, f, 0.9)
		if c == "" {
			continue // a single page
		}
		f.After = c
		out = append(out, f)
		f.After, f.Before = "", c
		out = append(out, f)
	}
	return out
}
