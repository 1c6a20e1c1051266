package graph

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// The Scale benchmarks of issue 7: a full sync of 100,000 users and a 100,000-row bulk apply
// against the emulator with 50 ms latency and Graph's documented quotas, time-scaled (the windows
// shrink, the counts stay: see graphemu.Quotas.TimeScale), with and without injected 429s and 5xx.
// Each reports the achieved rate ÷ the quota's rate, checks that no row was lost, and compares
// with a one-request-at-a-time loop (Get-MsolUser -All | ForEach { Set-MsolUser ... }) measured on
// a sample of users against the same emulator. MFAPORTAL_BENCH_USERS changes the size.
//
//	go test ./mfa/graph -run '^$' -bench . -benchtime 1x -timeout 60m

const benchLatency = 50 * time.Millisecond

func benchUsers() int {
	if n, err := strconv.Atoi(os.Getenv("MFAPORTAL_BENCH_USERS")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// scaled is a quota with its window time-scaled.
func scaled(q Quota, scale float64) Quota {
	return Quota{Units: q.Units, Window: time.Duration(float64(q.Window) * scale)}
}

func benchEnv(b *testing.B, users int, scale float64, faults graphemu.Faults) *env {
	e := newEnv(b, graphemu.Options{Users: users, Latency: benchLatency, Quotas: graphemu.Quotas{TimeScale: scale}, Faults: faults},
		func(c *Config) {
			c.ReadQuota, c.WriteQuota = scaled(DefaultReadQuota, scale), scaled(DefaultWriteQuota, scale)
			c.Concurrency = 48
			c.RetryBase = 50 * time.Millisecond
		})
	return e
}

// loopRate measures a one-request-at-a-time loop over n users: for each, the requests one after
// the other (GET state and GET methods for a sync; PATCH state for a bulk apply), as a script
// calling Get-MsolUser/Set-MsolUser per user does. It answers users a second.
func loopRate(b *testing.B, e *env, n int, write bool) float64 {
	ids := e.emu.UserIDs()[:n]
	tok := e.emu.IssueToken(testTenant, testClient)
	hc := e.emu.Client()
	base := e.cfg.BaseURL
	do := func(method, url string, body []byte) {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 300 && resp.StatusCode != http.StatusTooManyRequests {
			b.Fatalf("%s %s: %d", method, url, resp.StatusCode)
		}
	}
	start := time.Now()
	for _, id := range ids {
		if write {
			do(http.MethodPatch, base+"/beta/users/"+id+"/authentication/requirements", []byte(`{"perUserMfaState":"enforced"}`))
		} else {
			do(http.MethodGet, base+"/beta/users/"+id+"/authentication/requirements", nil)
			do(http.MethodGet, base+"/v1.0/users/"+id+"/authentication/methods", nil)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkFullSync: the read quota binds (8,000 units per 10 s; two units a user). Scale 0.25:
// 8,000 units per 2.5 s.
func BenchmarkFullSync(b *testing.B) {
	for _, faults := range []bool{false, true} {
		name := "clean"
		var f graphemu.Faults
		if faults {
			name = "429+5xx"
			f = graphemu.Faults{Rate429: 0.01, Rate5xx: 0.01, Seed: 11, RetryAfter: 250 * time.Millisecond}
		}
		b.Run(name, func(b *testing.B) {
			const scale = 0.25
			n := benchUsers()
			for range b.N {
				e := benchEnv(b, n, scale, f)
				ctx := context.Background()
				start := time.Now()
				if err := e.dir.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				elapsed := time.Since(start)
				st := e.emu.Stats()
				// Zero lost: every user indexed with Graph's state.
				if got, _ := e.db.CountUsers(ctx); got != n {
					b.Fatalf("indexed %d of %d users", got, n)
				}
				lost := 0
				for i, id := range e.emu.UserIDs() {
					if i%97 != 0 {
						continue
					}
					g, _ := e.emu.User(id)
					if u, err := e.dir.FindUser(ctx, g.UPN); err != nil || u.State != g.State || u.StateReadAt.IsZero() {
						lost++
					}
				}
				if lost > 0 {
					b.Fatalf("%d sampled users not indexed as Graph has them", lost)
				}
				quota := float64(DefaultReadQuota.Units) / (DefaultReadQuota.Window.Seconds() * scale)
				burst := float64(DefaultReadQuota.Units)
				rate := float64(st.ReadUnits) / elapsed.Seconds()
				sustained := (float64(st.ReadUnits) - burst) / elapsed.Seconds()
				e.emu.SetFaults(graphemu.Faults{})
				loop := loopRate(b, e, 100, false)
				usersPerSec := float64(n) / elapsed.Seconds()
				b.ReportMetric(elapsed.Seconds(), "s")
				b.ReportMetric(rate/quota, "rate/quota")
				b.ReportMetric(sustained/quota, "sustained/quota")
				b.ReportMetric(usersPerSec, "users/s")
				b.ReportMetric(usersPerSec/loop, "x-loop")
				b.Logf("sync %s: %d users in %v: %.0f units/s (quota %.0f/s, %.0f %%; %.0f %% after the first window's %.0f-unit burst); %d batches, %d 429 (%d over quota, %d injected), %d 5xx injected; loop %.1f users/s → %.0f×",
					name, n, elapsed.Round(time.Millisecond), rate, quota, 100*rate/quota, 100*sustained/quota, burst, st.BatchRequests,
					st.Throttled+st.Injected429, st.Throttled, st.Injected429, st.Injected5xx, loop, usersPerSec/loop)
			}
		})
	}
}

// BenchmarkBulkApply: the write quota binds (3,000 writes per 150 s). Scale 0.01: 3,000 writes per
// 1.5 s. Every row changes the user's state, so every row is a write.
func BenchmarkBulkApply(b *testing.B) {
	for _, faults := range []bool{false, true} {
		name := "clean"
		var f graphemu.Faults
		if faults {
			name = "429+5xx"
			f = graphemu.Faults{Rate429: 0.01, Rate5xx: 0.01, Seed: 12, RetryAfter: 20 * time.Millisecond,
				Match: func(method, path string) bool { return method == http.MethodPatch || path == "/$batch" }}
		}
		b.Run(name, func(b *testing.B) {
			const scale = 0.01
			n := benchUsers()
			for range b.N {
				e := benchEnv(b, n, scale, graphemu.Faults{})
				ctx := context.Background()
				if err := e.dir.Sync(ctx); err != nil {
					b.Fatal(err)
				}
				// Every user to another state: Disabled → Enforced, the others → Disabled.
				var file strings.Builder
				file.WriteString("Username,MFA Status\n")
				want := make(map[string]mfa.State, n)
				for _, id := range e.emu.UserIDs() {
					g, _ := e.emu.User(id)
					to := mfa.StateDisabled
					if g.State == mfa.StateDisabled {
						to = mfa.StateEnforced
					}
					want[id] = to
					fmt.Fprintf(&file, "%s,%s\n", g.UPN, to.Label())
				}
				job, err := e.svc.CreateBulkJob(ctx, admin, "bench.csv", strings.NewReader(file.String()), mfa.DefaultCSVLimits, "")
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
					b.Fatal(err)
				}
				e.emu.SetFaults(f)
				before := e.emu.Stats()
				runner := &mfa.BulkRunner{Service: e.svc, BatchSize: 2000}
				start := time.Now()
				for attempt := 0; ; attempt++ {
					err := runner.RunJob(ctx, job.ID)
					if err == nil {
						break
					}
					if attempt > 10 {
						b.Fatal(err)
					}
				}
				elapsed := time.Since(start)
				after := e.emu.Stats()
				job, _ = e.svc.GetBulkJob(ctx, admin, job.ID)
				lost := 0
				for id, st := range want {
					if got, _ := e.emu.UserState(id); got != st {
						lost++
					}
				}
				if job.Status != mfa.JobDone || job.Failed != 0 || job.Changed != n || lost != 0 {
					b.Fatalf("job %+v, %d users not in the state asked", job, lost)
				}
				writes := after.Writes - before.Writes
				quota := float64(DefaultWriteQuota.Units) / (DefaultWriteQuota.Window.Seconds() * scale)
				burst := float64(DefaultWriteQuota.Units)
				rate := float64(n) / elapsed.Seconds()
				sustained := (float64(writes) - burst) / elapsed.Seconds()
				e.emu.SetFaults(graphemu.Faults{})
				loop := loopRate(b, e, 100, true)
				b.ReportMetric(elapsed.Seconds(), "s")
				b.ReportMetric(rate/quota, "rate/quota")
				b.ReportMetric(sustained/quota, "sustained/quota")
				b.ReportMetric(rate, "rows/s")
				b.ReportMetric(rate/loop, "x-loop")
				b.Logf("bulk %s: %d rows in %v: %.0f rows/s, %d writes (quota %.0f writes/s: %.0f %%; %.0f %% after the first window's %.0f-write burst); %d batches, %d 429 (%d over quota, %d injected), %d 5xx injected; loop %.1f rows/s → %.0f×",
					name, n, elapsed.Round(time.Millisecond), rate, writes, quota, 100*rate/quota, 100*sustained/quota, burst,
					after.BatchRequests-before.BatchRequests, after.Throttled-before.Throttled+after.Injected429-before.Injected429,
					after.Throttled-before.Throttled, after.Injected429-before.Injected429, after.Injected5xx-before.Injected5xx, loop, rate/loop)
			}
		})
	}
}
