package storetest

import (
	"context"
	"os"
	"slices"
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

// BenchRepeat requests each filter's first page 15 times in a row and logs the median and the
// maximum of its CPU time (as BenchCombinations measures it) and wall time: the combinations that
// one pass of BenchCombinations found slow, measured again on their own.
func BenchRepeat(b *testing.B, db mfa.Directory, filters []mfa.UserFilter, cpu func() time.Duration) {
	ctx := context.Background()
	for b.Loop() {
		for _, f := range filters {
			if err := f.Validate(); err != nil {
				b.Fatal(err)
			}
			var cs, ws []time.Duration
			total := 0
			for range 15 {
				c0, t0 := cpu(), time.Now()
				p, err := db.FindUsers(ctx, f)
				if err != nil {
					b.Fatal(err)
				}
				total = p.Total
				ws, cs = append(ws, time.Since(t0)), append(cs, cpu()-c0)
			}
			slices.Sort(cs)
			slices.Sort(ws)
			b.Logf("cpu median %6.2f max %6.2f ms, wall median %6.2f max %6.2f ms, %7d matches: view=%s status=%s privileged=%s methods=%s coverage=%s sort=%s order=%s q=%q",
				ms(cs[7]), ms(cs[14]), ms(ws[7]), ms(ws[14]), total, f.View, f.Status, f.Privileged, f.Methods, f.Coverage, f.Sort, f.Order, f.Query)
		}
	}
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }
