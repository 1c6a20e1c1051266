package graph

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// The Graph benchmarks of issue 10: a full sync and a bulk apply against the strict emulator (the
// documented contract: fully parallel $batch, whole-second Retry-After, quotas by tenant size) with
// 50 ms latency, for a tenant in each size tier, clean, with injected 429s and 5xx, and with those
// plus permanent refusals (400) of 1 % of the users' requests. Each reports the resource units
// (sync) or writes (bulk) charged ÷ elapsed ÷ the quota's rate, with and without the first
// window's burst, checks that no user or row was lost, that no refused request was tried again,
// and counts the requests sent.
//
// A tenant of under 50 or 500 users cannot give one sync or job big enough to outlast a window's
// burst, so the small tiers run back to back for several windows: syncs of the whole tenant, and
// bulk jobs flipping every user. The syncs run at real time, paced under the quota the directory
// learns from the tenant's size (Config.ReadQuota left to its default). The bulk apply of the small
// tiers runs at real time too, for one write window: Retry-After is in whole seconds (at least 1)
// whatever the time scale, so a time-scaled window would make every injected 429 cost several
// times what it costs at Graph's real quota. Only the large tier's bulk apply is time-scaled
// (graphemu.Quotas.TimeScale 0.1: 200 writes/s): at the real quota a 20,000-row apply takes 17
// minutes, whatever the client does; it runs on a tenant of 20,000 users, a row a user (a bulk row
// costs this process about 0.7 ms of CPU, emulator included: the 2,000 writes/s of a 0.01 scale
// measured the machine, not the client).
//
//	go test ./mfa/graph -run '^$' -bench . -benchtime 1x -timeout 90m
//
// MFAPORTAL_BENCH_USERS sets the large tenant's size for the sync (default 100,000).

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
	bulkUsers int           // the tenant's size for the bulk apply (0: users), a row a user
	bulkScale float64       // time scale of the write quota's window for the bulk apply
	syncFor   time.Duration // syncs back to back until this much time passed (0: one)
	bulkFor   time.Duration // bulk jobs back to back until this much time passed (0: one)
}

func benchTiers() []tier {
	return []tier{
		{name: "S-49", users: 49, bulkScale: 1, syncFor: 40 * time.Second, bulkFor: 150 * time.Second},
		{name: "M-500", users: 500, bulkScale: 1, syncFor: 40 * time.Second, bulkFor: 150 * time.Second},
		{name: fmt.Sprintf("L-%d", benchLarge()), users: benchLarge(), bulkUsers: 20_000, bulkScale: 0.1},
	}
}

// scaled is a quota with its window time-scaled.
func scaled(q Quota, scale float64) Quota {
	return Quota{Units: q.Units, Window: time.Duration(float64(q.Window) * scale)}
}

// benchEnv is a tenant of users with 50 ms latency and the documented quotas, the write quota's
// window time-scaled by scale. At real time the read quota is left to the directory, which learns
// the tenant's size; time-scaled, both quotas are set.
func benchEnv(b *testing.B, users int, scale float64) *env {
	return newEnv(b, graphemu.Options{Users: users, Latency: benchLatency, Quotas: graphemu.Quotas{TimeScale: scale}},
		func(c *Config) {
			if scale != 1 {
				c.ReadQuota, c.WriteQuota = scaled(ReadQuotaFor(users), scale), scaled(DefaultWriteQuota, scale)
			}
			c.Concurrency = 48
			c.RetryBase = 50 * time.Millisecond
		})
}

// faultModes are the fault injections each benchmark runs under.
var faultModes = []string{"clean", "429+5xx", "429+5xx+400"}

// benchFaults is a fault mode: the draws of 429 and 5xx limited to match, and the requests of
// method about the refused users answered 400 for good.
func benchFaults(mode string, seed uint64, match func(method, path string) bool, method string, refused map[string]bool) graphemu.Faults {
	var f graphemu.Faults
	if mode != "clean" {
		f = graphemu.Faults{Rate429: 0.01, Rate5xx: 0.01, Seed: seed, Match: match}
	}
	if strings.HasSuffix(mode, "+400") {
		f.Refuse = func(m, path string) bool {
			id, ok := strings.CutPrefix(path, "/users/")
			id, _, _ = strings.Cut(id, "/")
			return ok && m == method && refused[id]
		}
	}
	return f
}

// refusedUsers is 1 % of the tenant's users (every 100th, from the 8th), by Graph id.
func refusedUsers(e *env) map[string]bool {
	out := map[string]bool{}
	for i, id := range e.emu.UserIDs() {
		if i%100 == 7 {
			out[id] = true
		}
	}
	return out
}

// cpuTime is the CPU time (user and system) this process has used: the emulator's, the portal's
// and SQLite's, for a figure that does not depend on what else the machine runs.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// burst watches a run's pacing: the time, the count charged (by charged) and what was left a
// second after the run had spent the first window's burst — the portal's own bucket (97 % of the
// quota, starting full) under 5 % of its size. From then on the portal sends at its pace, so what
// the run is charged after it, less what was left, is the rate it sustains at the quota. (The emulator's bucket never empties: the portal aims at 97 %
// of it.) A run that never spends the burst is slower than the quota: its rate over the whole run
// is what it sustains.
type burst struct {
	stop, done chan struct{}
	at         time.Time
	charged    int64
	left       float64 // what the portal's bucket still held then
}

func watchBurst(e *env, write bool, charged func(graphemu.Stats) int64) *burst {
	w := &burst{stop: make(chan struct{}), done: make(chan struct{})}
	p := e.dir.c.pace
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
			p.mu.Lock()
			b := &p.units
			if write {
				b = &p.writes
			}
			b.refill(p.now())
			spent := b.tokens < 0.05*b.capacity
			p.mu.Unlock()
			if !spent {
				continue
			}
			// The requests sent in the burst are charged as they arrive: a second later none
			// is still on its way, and what is charged from then on was sent at the pace.
			select {
			case <-w.stop:
				return
			case <-time.After(time.Second):
			}
			p.mu.Lock()
			b.refill(p.now())
			w.at, w.charged, w.left = time.Now(), charged(e.emu.Stats()), max(b.tokens, 0)
			p.mu.Unlock()
			return
		}
	}()
	return w
}

// rates reports charged ÷ elapsed ÷ quota (rate, burst included) and the rate sustained once the
// burst was spent (the whole run's rate when it never was; spent is false then).
func (w *burst) rates(b *testing.B, charged int64, start time.Time, elapsed time.Duration, q Quota) (rate, sustained float64, spent bool) {
	close(w.stop)
	<-w.done
	perSec := float64(q.Units) / q.Window.Seconds()
	rate = float64(charged) / elapsed.Seconds() / perSec
	sustained, spent = rate, !w.at.IsZero()
	if spent {
		sustained = (float64(charged-w.charged) - w.left) / start.Add(elapsed).Sub(w.at).Seconds() / perSec
	}
	b.ReportMetric(elapsed.Seconds(), "s")
	b.ReportMetric(rate, "rate/quota")
	b.ReportMetric(sustained, "sustained/quota")
	return rate, sustained, spent
}

// burstNote says when the burst was spent, for the log.
func (w *burst) note(start time.Time) string {
	if w.at.IsZero() {
		return "the burst never spent"
	}
	return fmt.Sprintf("the burst spent after %v", w.at.Sub(start).Round(100*time.Millisecond))
}

// BenchmarkFullSync: the read quota binds (a resource unit a user for the state, the methods
// coming from the registration report in pages; one a page of 999; the directory roles, the
// Conditional Access policies and their groups). Every tier runs at real time: time-scaled, the
// large tier's sync is bound by writing the index, not by Graph.
func BenchmarkFullSync(b *testing.B) {
	for _, tr := range benchTiers() {
		for _, mode := range faultModes {
			b.Run(tr.name+"/"+mode, func(b *testing.B) {
				for range b.N {
					benchSync(b, tr, mode)
				}
			})
		}
	}
}

func benchSync(b *testing.B, tr tier, mode string) {
	e := benchEnv(b, tr.users, 1)
	ctx := context.Background()
	refused := refusedUsers(e)
	if !strings.HasSuffix(mode, "+400") {
		refused = nil
	}
	e.emu.SetFaults(benchFaults(mode, 11, nil, http.MethodGet, refused))
	start, cpu := time.Now(), cpuTime()
	w := watchBurst(e, false, func(st graphemu.Stats) int64 { return st.ReadUnits })
	syncs := 0
	for syncs == 0 || time.Since(start) < tr.syncFor {
		if err := e.dir.Sync(ctx); err != nil {
			b.Fatal(err)
		}
		syncs++
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	st := e.emu.Stats()
	// Zero lost: every user indexed, with Graph's state unless Graph refused to give it.
	if got, _ := e.db.CountUsers(ctx); got != tr.users {
		b.Fatalf("indexed %d of %d users", got, tr.users)
	}
	for i, id := range e.emu.UserIDs() {
		if g, _ := e.emu.User(id); i%97 == 0 && !refused[id] {
			if u, err := e.dir.FindUser(ctx, g.UPN); err != nil || u.State != g.State || u.StateReadAt.IsZero() {
				b.Fatalf("%s not indexed as Graph has it: %+v %v", g.UPN, u, err)
			}
		}
	}
	// A refused read is never tried again: one refusal a refused user a sync.
	if want := int64(len(refused) * syncs); st.Refused != want {
		b.Fatalf("%d refusals for %d refused users in %d syncs: a refused request was sent again", st.Refused, len(refused), syncs)
	}
	q := ReadQuotaFor(tr.users)
	if got, want := e.dir.c.pace.readRate(), float64(q.Units)*e.dir.cfg.Pace/q.Window.Seconds(); got != want {
		b.Fatalf("paced at %.1f units/s, not at the tier's %.1f", got, want)
	}
	rate, sustained, _ := w.rates(b, st.ReadUnits, start, elapsed, q)
	b.ReportMetric(float64(tr.users*syncs)/elapsed.Seconds(), "users/s")
	cpuPer := float64(cpu.Microseconds()) / 1000 / float64(tr.users*syncs)
	b.ReportMetric(cpuPer, "cpu-ms/user")
	b.Logf("sync %s ×%d: %d users in %v (%.0f users/s; %.2f ms of CPU a user): %d units, %.0f %% of the quota (%d per %v), %.0f %% sustained (%s); "+
		"%d HTTP requests, %d batches (%d steps); %d 429 over quota, %d 429, %d 5xx and %d 400 injected",
		tr.name, syncs, tr.users, elapsed.Round(time.Millisecond), float64(tr.users*syncs)/elapsed.Seconds(), cpuPer, st.ReadUnits, 100*rate, q.Units, q.Window,
		100*sustained, w.note(start), st.Requests, st.BatchRequests, st.BatchSteps, st.Throttled, st.Injected429, st.Injected5xx, st.Refused)
}

// BenchmarkBulkApply: the write quota binds (3,000 writes per 150 s in every tier). Every row
// changes the user's state: Disabled → Enforced, the others → Disabled (no read-back); the
// Enabled case reads the state back and is counted in BenchmarkBulkRequests. The faults are drawn
// on the writes ($batch requests and PATCH steps); the refused rows are refused their PATCH.
func BenchmarkBulkApply(b *testing.B) {
	onWrites := func(method, path string) bool { return method == http.MethodPatch || path == "/$batch" }
	for _, tr := range benchTiers() {
		for _, mode := range faultModes {
			if tr.bulkUsers > 0 {
				tr.users, tr.name = tr.bulkUsers, fmt.Sprintf("%s-%d", tr.name[:1], tr.bulkUsers)
			}
			b.Run(tr.name+"/"+mode, func(b *testing.B) {
				for range b.N {
					benchBulk(b, tr, mode, onWrites)
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

func benchBulk(b *testing.B, tr tier, mode string, onWrites func(method, path string) bool) {
	e := benchEnv(b, tr.users, tr.bulkScale)
	if err := e.dir.Sync(context.Background()); err != nil {
		b.Fatal(err)
	}
	rows := tr.users
	refused := refusedUsers(e)
	if !strings.HasSuffix(mode, "+400") {
		refused = map[string]bool{}
	}
	e.emu.SetFaults(benchFaults(mode, 12, onWrites, http.MethodPatch, refused))
	before := e.emu.Stats()
	start, cpu := time.Now(), cpuTime()
	w := watchBurst(e, true, func(st graphemu.Stats) int64 { return st.Writes - before.Writes })
	jobs, changed, failed := 0, 0, 0
	for jobs == 0 || time.Since(start) < tr.bulkFor {
		file, want := bulkFlip(e, rows)
		job := applyJob(b, e, file)
		// Zero lost: every row changed in Graph as asked, but the refused ones, which failed and
		// are as they were.
		lost := 0
		for id, st := range want {
			if got, _ := e.emu.UserState(id); (got != st) != refused[id] {
				lost++
			}
		}
		if job.Status != mfa.JobDone || job.Failed != len(refused) || job.Changed != rows-len(refused) || lost != 0 {
			b.Fatalf("job %+v (%d rows refused), %d users not as they should be", job, len(refused), lost)
		}
		jobs++
		changed, failed = changed+job.Changed, failed+job.Failed
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu
	after := e.emu.Stats()
	if n := after.Refused - before.Refused; n != int64(failed) {
		b.Fatalf("%d refusals for %d failed rows: a refused write was sent again", n, failed)
	}
	writes := after.Writes - before.Writes
	q := scaled(DefaultWriteQuota, tr.bulkScale)
	rate, sustained, _ := w.rates(b, writes, start, elapsed, q)
	b.ReportMetric(float64(changed)/elapsed.Seconds(), "rows/s")
	cpuPer := float64(cpu.Microseconds()) / 1000 / float64(changed+failed)
	b.ReportMetric(cpuPer, "cpu-ms/row")
	b.Logf("bulk %s: %d jobs of %d rows in %v (%.2f ms of CPU a row): %d changed, %d failed; %d writes, %.0f %% of the quota (%d per %v), %.0f %% sustained (%s); "+
		"%d HTTP requests, %d batches (%d steps); %d 429 over quota, %d 429, %d 5xx and %d 400 injected",
		tr.name, jobs, rows, elapsed.Round(time.Millisecond), cpuPer, changed, failed, writes, 100*rate, q.Units, q.Window, 100*sustained, w.note(start),
		after.Requests-before.Requests, after.BatchRequests-before.BatchRequests, after.BatchSteps-before.BatchSteps,
		after.Throttled-before.Throttled, after.Injected429-before.Injected429, after.Injected5xx-before.Injected5xx, after.Refused-before.Refused)
}

// BenchmarkBulkRequests counts what a 10,000-row job sends: to Enforced or Disabled (read, write)
// and to Enabled (read, write, read back), every row a change, on a tenant of 15,000 users with
// 50 ms latency (how full the batches are depends on how many rows are ready when one is sent) and
// without quotas on either side (the count does not depend on them).
func BenchmarkBulkRequests(b *testing.B) {
	const rows = 10_000
	for _, to := range []mfa.State{mfa.StateEnforced, mfa.StateEnabled} {
		b.Run(string(to), func(b *testing.B) {
			for range b.N {
				e := newEnv(b, graphemu.Options{Users: 15_000, Latency: benchLatency, Quotas: graphemu.Quotas{Disabled: true}}, func(c *Config) {
					c.ReadQuota, c.WriteQuota = Quota{Units: 1e6, Window: time.Second}, Quota{Units: 1e6, Window: time.Second}
				})
				if err := e.dir.Sync(context.Background()); err != nil {
					b.Fatal(err)
				}
				var file strings.Builder
				file.WriteString("Username,MFA Status\n")
				n := 0
				for _, id := range e.emu.UserIDs() {
					if g, _ := e.emu.User(id); g.State != to && n < rows {
						fmt.Fprintf(&file, "%s,%s\n", g.UPN, to.Label())
						n++
					}
				}
				if n != rows {
					b.Fatalf("%d users to change, not %d", n, rows)
				}
				before := e.emu.Stats()
				job := applyJob(b, e, file.String())
				st := e.emu.Stats()
				if job.Done != rows || job.Failed != 0 {
					b.Fatalf("job %+v", job)
				}
				reqs, batches, steps := st.Requests-before.Requests, st.BatchRequests-before.BatchRequests, st.BatchSteps-before.BatchSteps
				units, writes := st.ReadUnits-before.ReadUnits, st.Writes-before.Writes
				b.ReportMetric(float64(reqs), "requests")
				b.ReportMetric(float64(steps), "steps")
				b.ReportMetric(float64(units), "units")
				b.Logf("to %s: %d rows (%d changed): %d HTTP requests (%d $batch, %.1f steps a batch), %d steps, %d resource units, %d writes",
					to, rows, job.Changed, reqs, batches, float64(steps)/float64(batches), steps, units, writes)
			}
		})
	}
}
