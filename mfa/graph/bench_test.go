package graph

import (
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

// The Graph benchmarks of issue 10: a full sync and a bulk apply against the strict emulator (the
// documented contract: fully parallel $batch, whole-second Retry-After, quotas by tenant size) with
// 50 ms latency, for a tenant in each size tier, clean and with injected 429s and 5xx. Each reports
// the resource units (sync) or writes (bulk) charged ÷ elapsed ÷ the quota's rate, with and without
// the first window's burst, checks that no user or row was lost, and counts the requests sent.
//
// A tenant of under 50 or 500 users cannot give one sync or job big enough to outlast a window's
// burst, so the small tiers run back to back for several windows: syncs of the whole tenant, and
// bulk jobs flipping every user. The windows are time-scaled (graphemu.Quotas.TimeScale) where the
// real ones would make a run last long; the S tier's sync runs at real time, because one sync of 49
// users takes about one quota's worth of time at 50 ms latency.
//
//	go test ./mfa/graph -run '^$' -bench . -benchtime 1x -timeout 60m
//
// MFAPORTAL_BENCH_USERS sets the large tenant's size (default 100,000; its bulk job has a row a user).

const benchLatency = 50 * time.Millisecond

func benchLarge() int {
	if n, err := strconv.Atoi(os.Getenv("MFAPORTAL_BENCH_USERS")); err == nil && n > 500 {
		return n
	}
	return 100_000
}

// tier is a tenant size of throttling-limits.md and how it is measured.
type tier struct {
	name      string
	users     int
	syncScale float64       // time scale of the quota windows for the sync
	bulkScale float64       // and for the bulk apply
	runFor    time.Duration // back to back until this much time passed (0: one run)
}

func benchTiers() []tier {
	return []tier{
		{name: "S-49", users: 49, syncScale: 1, bulkScale: 0.2, runFor: 40 * time.Second},
		{name: "M-500", users: 500, syncScale: 1, bulkScale: 0.2, runFor: 40 * time.Second},
		{name: fmt.Sprintf("L-%d", benchLarge()), users: benchLarge(), syncScale: 0.25, bulkScale: 0.01},
	}
}

// scaled is a quota with its window time-scaled.
func scaled(q Quota, scale float64) Quota {
	return Quota{Units: q.Units, Window: time.Duration(float64(q.Window) * scale)}
}

func benchEnv(b *testing.B, users int, scale float64) *env {
	return newEnv(b, graphemu.Options{Users: users, Latency: benchLatency, Quotas: graphemu.Quotas{TimeScale: scale}},
		func(c *Config) {
			c.ReadQuota, c.WriteQuota = scaled(ReadQuotaFor(users), scale), scaled(DefaultWriteQuota, scale)
			c.Concurrency = 48
			c.RetryBase = 50 * time.Millisecond
		})
}

func benchFaults(seed uint64, match func(method, path string) bool) map[string]graphemu.Faults {
	return map[string]graphemu.Faults{
		"clean":   {},
		"429+5xx": {Rate429: 0.01, Rate5xx: 0.01, Seed: seed, Match: match},
	}
}

// rates reports charged ÷ elapsed ÷ quota, and the same without the first window's burst.
func rates(b *testing.B, charged int64, elapsed time.Duration, q Quota) (rate, sustained float64) {
	perSec := float64(q.Units) / q.Window.Seconds()
	rate = float64(charged) / elapsed.Seconds() / perSec
	sustained = (float64(charged) - float64(q.Units)) / elapsed.Seconds() / perSec
	b.ReportMetric(elapsed.Seconds(), "s")
	b.ReportMetric(rate, "rate/quota")
	b.ReportMetric(sustained, "sustained/quota")
	return rate, sustained
}

// BenchmarkFullSync: the read quota binds (two resource units a user: requirements and methods in
// one op; one a page of 999; the directory roles).
func BenchmarkFullSync(b *testing.B) {
	for _, tr := range benchTiers() {
		for _, name := range []string{"clean", "429+5xx"} {
			b.Run(tr.name+"/"+name, func(b *testing.B) {
				for range b.N {
					benchSync(b, tr, benchFaults(11, nil)[name])
				}
			})
		}
	}
}

func benchSync(b *testing.B, tr tier, f graphemu.Faults) {
	e := benchEnv(b, tr.users, tr.syncScale)
	ctx := context.Background()
	e.emu.SetFaults(f)
	start := time.Now()
	syncs := 0
	for syncs == 0 || time.Since(start) < tr.runFor {
		if err := e.dir.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		syncs++
	}
	elapsed := time.Since(start)
	st := e.emu.Stats()
	// Zero lost: every user indexed with Graph's state.
	if got, _ := e.db.CountUsers(ctx); got != tr.users {
		b.Fatalf("indexed %d of %d users", got, tr.users)
	}
	for i, id := range e.emu.UserIDs() {
		if g, _ := e.emu.User(id); i%97 == 0 {
			if u, err := e.dir.FindUser(ctx, g.UPN); err != nil || u.State != g.State || u.StateReadAt.IsZero() {
				b.Fatalf("%s not indexed as Graph has it: %+v %v", g.UPN, u, err)
			}
		}
	}
	q := scaled(ReadQuotaFor(tr.users), tr.syncScale)
	rate, sustained := rates(b, st.ReadUnits, elapsed, q)
	b.Logf("sync %s ×%d: %d users in %v: %d units, %.0f %% of the quota (%d per %v), %.0f %% without the first window's burst; "+
		"%d HTTP requests, %d batches (%d steps); %d 429 over quota, %d 429 and %d 5xx injected",
		tr.name, syncs, tr.users, elapsed.Round(time.Millisecond), st.ReadUnits, 100*rate, q.Units, q.Window, 100*sustained,
		st.Requests, st.BatchRequests, st.BatchSteps, st.Throttled, st.Injected429, st.Injected5xx)
}

// BenchmarkBulkApply: the write quota binds (3,000 writes per 150 s in every tier). Every row
// changes the user's state: Disabled → Enforced, the others → Disabled (no read-back); the
// Enabled case reads the state back and is counted in BenchmarkBulkRequests.
func BenchmarkBulkApply(b *testing.B) {
	onWrites := func(method, path string) bool { return method == http.MethodPatch || path == "/$batch" }
	for _, tr := range benchTiers() {
		for _, name := range []string{"clean", "429+5xx"} {
			b.Run(tr.name+"/"+name, func(b *testing.B) {
				for range b.N {
					benchBulk(b, tr, benchFaults(12, onWrites)[name])
				}
			})
		}
	}
}

// bulkFlip is a bulk file moving every user to another state, and the states asked.
func bulkFlip(e *env, rows int) (string, map[string]mfa.State) {
	var file strings.Builder
	file.WriteString("Username,MFA Status\n")
	want := map[string]mfa.State{}
	for _, id := range e.emu.UserIDs()[:rows] {
		g, _ := e.emu.User(id)
		to := mfa.StateDisabled
		if g.State == mfa.StateDisabled {
			to = mfa.StateEnforced
		}
		want[id] = to
		fmt.Fprintf(&file, "%s,%s\n", g.UPN, to.Label())
	}
	return file.String(), want
}

// applyJob plans, confirms and runs a bulk job to its end.
func applyJob(b *testing.B, e *env, file string) *mfa.Job {
	ctx := context.Background()
	job, err := e.svc.CreateBulkJob(ctx, admin, "bench.csv", strings.NewReader(file), mfa.DefaultCSVLimits, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, job.ID, ""); err != nil {
		b.Fatal(err)
	}
	runner := &mfa.BulkRunner{Service: e.svc, BatchSize: 2000}
	for attempt := 0; ; attempt++ {
		err := runner.RunJob(ctx, job.ID)
		if err == nil {
			break
		}
		if attempt > 10 {
			b.Fatal(err)
		}
	}
	job, _ = e.svc.GetBulkJob(ctx, admin, job.ID)
	return job
}

func benchBulk(b *testing.B, tr tier, f graphemu.Faults) {
	e := benchEnv(b, tr.users, tr.bulkScale)
	if err := e.dir.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	rows := tr.users
	e.emu.SetFaults(f)
	before := e.emu.Stats()
	start := time.Now()
	jobs, changed := 0, 0
	for jobs == 0 || time.Since(start) < tr.runFor {
		file, want := bulkFlip(e, rows)
		job := applyJob(b, e, file)
		lost := 0
		for id, st := range want {
			if got, _ := e.emu.UserState(id); got != st {
				lost++
			}
		}
		if job.Status != mfa.JobDone || job.Failed != 0 || job.Changed != rows || lost != 0 {
			b.Fatalf("job %+v, %d users not in the state asked", job, lost)
		}
		jobs++
		changed += job.Changed
	}
	elapsed := time.Since(start)
	after := e.emu.Stats()
	writes := after.Writes - before.Writes
	q := scaled(DefaultWriteQuota, tr.bulkScale)
	rate, sustained := rates(b, writes, elapsed, q)
	b.ReportMetric(float64(changed)/elapsed.Seconds(), "rows/s")
	b.Logf("bulk %s: %d jobs of %d rows in %v: %d writes, %.0f %% of the quota (%d per %v), %.0f %% without the first window's burst; "+
		"%d HTTP requests, %d batches (%d steps); %d 429 over quota, %d 429 and %d 5xx injected",
		tr.name, jobs, rows, elapsed.Round(time.Millisecond), writes, 100*rate, q.Units, q.Window, 100*sustained,
		after.Requests-before.Requests, after.BatchRequests-before.BatchRequests, after.BatchSteps-before.BatchSteps,
		after.Throttled-before.Throttled, after.Injected429-before.Injected429, after.Injected5xx-before.Injected5xx)
}

// BenchmarkBulkRequests counts what a 10,000-row job sends: to Enforced or Disabled (read, write)
// and to Enabled (read, write, read back), on a large tenant without quotas on either side (the
// count does not depend on them) and without latency.
func BenchmarkBulkRequests(b *testing.B) {
	for _, to := range []mfa.State{mfa.StateEnforced, mfa.StateEnabled} {
		b.Run(string(to), func(b *testing.B) {
			for range b.N {
				e := newEnv(b, graphemu.Options{Users: 10_000, Quotas: graphemu.Quotas{Disabled: true}}, func(c *Config) {
					c.ReadQuota, c.WriteQuota = Quota{Units: 1e6, Window: time.Second}, Quota{Units: 1e6, Window: time.Second}
				})
				if err := e.dir.Sync(context.Background()); err != nil {
					b.Fatal(err)
				}
				var file strings.Builder
				file.WriteString("Username,MFA Status\n")
				rows := 0
				for _, id := range e.emu.UserIDs() {
					if g, _ := e.emu.User(id); g.State != to {
						fmt.Fprintf(&file, "%s,%s\n", g.UPN, to.Label())
						rows++
					}
				}
				before := e.emu.Stats()
				job := applyJob(b, e, file.String())
				st := e.emu.Stats()
				if job.Done != rows || job.Failed != 0 {
					b.Fatalf("job %+v", job)
				}
				reqs, batches, steps := st.Requests-before.Requests, st.BatchRequests-before.BatchRequests, st.BatchSteps-before.BatchSteps
				per := 10_000 / float64(rows)
				b.ReportMetric(float64(reqs)*per, "requests/10k-rows")
				b.ReportMetric(float64(steps)*per, "steps/10k-rows")
				b.Logf("to %s: %d rows (%d changed): %d HTTP requests (%d $batch, %d steps, %d writes): per 10,000 rows %.0f requests, %.0f steps",
					to, rows, job.Changed, reqs, batches, steps, st.Writes-before.Writes, float64(reqs)*per, float64(steps)*per)
			}
		})
	}
}
