package graph

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// BenchmarkSyncRegistration: a full sync of the large tier with the registration report (the
// methods of every user in pages of 1,000, one state request a user) and without the licence (a
// state and a methods request a user), clean, under the tier's quota in real time (8,000 units per
// 10 s, learnt from the tenant's size as BenchmarkFullSync's); with Conditional Access evaluated for
// every user (the seeded policies, groups and roles).
func BenchmarkSyncRegistration(b *testing.B) {
	tr := benchTiers()[2]
	for _, premium := range []bool{true, false} {
		name := "report"
		if !premium {
			name = "per-user (no P1/P2)"
		}
		b.Run(name, func(b *testing.B) {
			for range b.N {
				e := benchEnv(b, tr.users, 1)
				e.emu.SetPremiumLicense(premium)
				ctx := context.Background()
				start := time.Now()
				w := watchBurst(e, false, func(st graphemu.Stats) int64 { return st.ReadUnits })
				if err := e.dir.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				st := e.emu.Stats()
				p, err := e.svc.ListUsers(ctx, admin, mfa.UserFilter{View: mfa.ViewAll, Coverage: mfa.CoverageCA, Limit: 1})
				if err != nil || p.Total == 0 {
					b.Fatalf("coverage: %v %v", p, err)
				}
				q := ReadQuotaFor(tr.users)
				rate, sustained, _ := w.rates(b, st.ReadUnits, start, elapsed, q)
				b.ReportMetric(float64(tr.users)/elapsed.Seconds(), "users/s")
				b.ReportMetric(float64(st.ReadUnits)/float64(tr.users), "units/user")
				b.ReportMetric(float64(st.Requests)/float64(tr.users), "requests/user")
				b.Logf("%s: %d users in %v (%.0f users/s; %.0f %% of the quota, %.0f %% sustained), %d units (%.2f a user), %d HTTP requests (%.3f a user), %d batches, %d batch steps; %d covered",
					name, tr.users, elapsed.Round(time.Millisecond), float64(tr.users)/elapsed.Seconds(), 100*rate, 100*sustained, st.ReadUnits,
					float64(st.ReadUnits)/float64(tr.users), st.Requests, float64(st.Requests)/float64(tr.users), st.BatchRequests, st.BatchSteps, p.Total)
			}
		})
	}
}
