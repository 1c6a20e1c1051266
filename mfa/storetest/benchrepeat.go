package storetest

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// RepeatFilters are the filters of MFAPORTAL_BENCH_FILTERS, one a line as BenchCombinations logs
// its slowest ("view=all status=enabled privileged= methods= sort=upn order=desc q=\"han\""; the
// cursors are left out), each with the page size limit.
func RepeatFilters(limit int) []mfa.UserFilter {
	var out []mfa.UserFilter
	for _, line := range strings.Split(os.Getenv("MFAPORTAL_BENCH_FILTERS"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := mfa.UserFilter{Limit: limit}
		if i := strings.Index(line, `q="`); i >= 0 {
			rest := line[i+3:]
			f.Query = rest[:strings.Index(rest, `"`)]
			line = line[:i]
		}
		for _, kv := range strings.Fields(line) {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "view":
				f.View = mfa.View(v)
			case "status":
				f.Status = mfa.StatusFilter(v)
			case "privileged":
				f.Privileged = mfa.PrivilegedFilter(v)
			case "methods":
				f.Methods = mfa.MethodsFilter(v)
			case "coverage":
				f.Coverage = mfa.CoverageFilter(v)
			case "sort":
				f.Sort = mfa.SortField(v)
			case "order":
				f.Order = mfa.SortOrder(v)
			}
		}
		out = append(out, f)
	}
	return out
}

// RepeatCount is MFAPORTAL_BENCH_REPEAT, how many times BenchRepeat asks each filter (default 15;
// at least 20, so that the 95th percentile is not simply the maximum).
func RepeatCount(b *testing.B) int {
	s := os.Getenv("MFAPORTAL_BENCH_REPEAT")
	if s == "" {
		return 15
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 20 || n > 10000 {
		b.Fatalf("MFAPORTAL_BENCH_REPEAT=%q: expected 20 to 10000 requests a filter", s)
	}
	return n
}

// BenchRepeat requests each filter's first page RepeatCount times and logs the median, the 95th
// percentile and the maximum of its CPU time (as BenchCombinations measures it) and wall time: the
// combinations that one pass of BenchCombinations found slow, measured again on their own. The
// filters take turns (one request each, then the next round), so that a burst of load from others
// on the machine lands on one request of many filters rather than on every request of one.
// It reports how many filters had a wall or CPU p95 of 50 ms or more.
func BenchRepeat(b *testing.B, db mfa.Directory, filters []mfa.UserFilter, cpu func() time.Duration) {
	ctx := context.Background()
	// Validate fills in what the stores expect (the logs' "status=any" is StatusAny): in place.
	for i := range filters {
		if err := filters[i].Validate(); err != nil {
			b.Fatal(err)
		}
	}
	n := RepeatCount(b)
	for b.Loop() {
		cs, ws := make([][]time.Duration, len(filters)), make([][]time.Duration, len(filters))
		totals := make([]int, len(filters))
		for range n {
			for i, f := range filters {
				c0, t0 := cpu(), time.Now()
				p, err := db.FindUsers(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				totals[i] = p.Total
				ws[i], cs[i] = append(ws[i], time.Since(t0)), append(cs[i], cpu()-c0)
			}
		}
		overWall, overCPU := 0, 0
		for i, f := range filters {
			c, w := pcts(cs[i]), pcts(ws[i])
			if w[1] >= 50 {
				overWall++
			}
			if c[1] >= 50 {
				overCPU++
			}
			b.Logf("cpu p50 %6.2f p95 %6.2f max %6.2f ms, wall p50 %6.2f p95 %6.2f max %6.2f ms, %7d matches: view=%s status=%s privileged=%s methods=%s coverage=%s sort=%s order=%s q=%q",
				c[0], c[1], c[2], w[0], w[1], w[2], totals[i], f.View, f.Status, f.Privileged, f.Methods, f.Coverage, f.Sort, f.Order, f.Query)
		}
		b.ReportMetric(float64(n), "requests/filter")
		b.ReportMetric(float64(overWall), "filters-p95>=50ms")
		b.ReportMetric(float64(overCPU), "filters-cpu-p95>=50ms")
	}
}

// pcts is the median, the 95th percentile (nearest rank) and the maximum of durs, in ms.
func pcts(durs []time.Duration) [3]float64 {
	slices.Sort(durs)
	at := func(p float64) float64 { return ms(durs[int(math.Ceil(p*float64(len(durs))))-1]) }
	return [3]float64{at(0.5), at(0.95), ms(durs[len(durs)-1])}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
