package graph

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
)

// bulkFile asks for every indexed user to get the state the function gives.
func bulkFile(e *env, to func(i int) mfa.State) (string, map[string]mfa.State) {
	var b strings.Builder
	b.WriteString("Username,MFA Status\n")
	want := map[string]mfa.State{}
	for i, id := range e.emu.UserIDs() {
		u, _ := e.emu.User(id)
		st := to(i)
		fmt.Fprintf(&b, "%s,%s\n", u.UPN, st.Label())
		want[u.ID] = st
	}
	return b.String(), want
}

// runJob plans, confirms and runs a bulk job to the end (RunJob again after an error, as the
// runner does after 5 s).
func runJob(t *testing.T, e *env, file string, between func(attempt int, err error)) *mfa.Job {
	t.Helper()
	ctx := context.Background()
	job, err := e.svc.CreateBulkJob(ctx, admin, "bulk.csv", strings.NewReader(file), mfa.DefaultCSVLimits, "test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartBulkJob(ctx, admin, job.ID, "test"); err != nil {
		t.Fatal(err)
	}
	runner := &mfa.BulkRunner{Service: e.svc, BatchSize: 500}
	for attempt := 1; ; attempt++ {
		err := runner.RunJob(ctx, job.ID)
		if err == nil {
			break
		}
		if attempt > 20 {
			t.Fatalf("the job keeps failing: %v", err)
		}
		between(attempt, err)
	}
	job, err = e.svc.GetBulkJob(ctx, admin, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	return job
}

// A bulk job through Graph: every row applied, Graph's enabled→enforced shown, 429s inside the
// batches retried, nothing lost.
func TestBulkUpdate(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 1000, Faults: graphemu.Faults{Rate429: 0.1, Rate5xx: 0.02, Codes5xx: []int{500, 502},
		RetryAfter: 20 * time.Millisecond, Seed: 3, Match: func(method, path string) bool { return path != "/$batch" && method == "PATCH" }}}, nil)
	e.sync()
	states := []mfa.State{mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled}
	file, want := bulkFile(e, func(i int) mfa.State { return states[i%3] })
	job := runJob(t, e, file, func(int, error) {})
	if job.Status != mfa.JobDone || job.Failed != 0 || job.Done != job.Total {
		t.Fatalf("job: %+v", job)
	}
	ctx := context.Background()
	mismatch := 0
	for id, st := range want {
		u, _ := e.emu.User(id)
		got := u.State
		if st == mfa.StateEnabled && got == mfa.StateEnforced {
			continue // Graph enforces a user who has methods
		}
		if got != st {
			mismatch++
		}
		idx, err := e.dir.FindUser(ctx, u.UPN)
		if err != nil || idx.State != got {
			t.Fatalf("%s: index %+v (%v), Graph %s", u.UPN, idx, err, got)
		}
	}
	if mismatch != 0 {
		t.Errorf("%d users not in the state asked", mismatch)
	}
	st := e.emu.Stats()
	if st.Injected429 == 0 {
		t.Errorf("no 429 was injected inside the batches: %+v", st)
	}
	t.Logf("job: %d rows, %d changed, %d unchanged; Graph: %d batches, %d 429 and %d 5xx injected", job.Total, job.Changed, job.Unchanged, st.BatchRequests, st.Injected429, st.Injected5xx)
}

// Graph down in the middle of a job: the rows not applied stay pending (not failed), the job
// resumes when Graph is back and ends with every row applied.
func TestBulkPausesWhileGraphIsDown(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 600}, func(c *Config) { c.MaxAttempts = 2 })
	e.sync()
	file, want := bulkFile(e, func(int) mfa.State { return mfa.StateEnforced })
	down := 0
	e.emu.SetFaults(graphemu.Faults{Rate5xx: 1, Codes5xx: []int{503}, RetryAfter: 5 * time.Millisecond,
		Match: func(method, path string) bool { return path == "/$batch" }})
	job := runJob(t, e, file, func(attempt int, err error) {
		if mfa.ErrorCode(err) != mfa.EUNAVAILABLE {
			t.Fatalf("attempt %d: %v", attempt, err)
		}
		// The page says what Graph said, never "An internal error occurred".
		jobs, _ := e.svc.ListBulkJobs(context.Background(), admin, 1)
		if len(jobs) != 1 || !strings.Contains(jobs[0].PausedReason, "injected fault") || strings.Contains(jobs[0].PausedReason, "internal error") {
			t.Errorf("paused: %+v", jobs)
		}
		down++
		if down == 2 {
			e.emu.SetFaults(graphemu.Faults{})
		}
	})
	if down != 2 || job.Status != mfa.JobDone || job.Failed != 0 || job.Done != job.Total {
		t.Fatalf("after %d failures: %+v", down, job)
	}
	for id := range want {
		if st, _ := e.emu.UserState(id); st != mfa.StateEnforced {
			t.Fatalf("%s is %s", id, st)
		}
	}
	st, _ := e.dir.SyncStatus(context.Background())
	if !strings.Contains(st.LastError, "unavailable") {
		t.Errorf("the outage is not on the page: %+v", st)
	}
}

// A row whose request keeps failing is reported with Graph's error; the others are applied.
func TestBulkRowKeepsFailing(t *testing.T) {
	e := newEnv(t, graphemu.Options{Users: 50}, func(c *Config) { c.MaxAttempts = 3 })
	e.sync()
	victim, _ := e.emu.User(e.emu.UserIDs()[7])
	e.emu.SetFaults(graphemu.Faults{Rate5xx: 1, Codes5xx: []int{500}, Match: func(method, path string) bool {
		return method == "PATCH" && strings.Contains(path, victim.ID)
	}})
	file, _ := bulkFile(e, func(int) mfa.State { return mfa.StateEnforced })
	job := runJob(t, e, file, func(_ int, err error) { t.Fatalf("job error: %v", err) })
	if job.Failed != 1 || job.Done != job.Total {
		t.Fatalf("job: %+v", job)
	}
	rows, err := e.svc.BulkJobRows(context.Background(), admin, job.ID, mfa.RowFilter{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if strings.EqualFold(r.Username, victim.UPN) {
			if r.Outcome != mfa.OutcomeError || !strings.Contains(r.Message, "injected fault") {
				t.Errorf("failing row: %s %q", r.Outcome, r.Message)
			}
		} else if r.Applies() && r.Outcome != mfa.OutcomeChanged {
			t.Errorf("row %s: %s %q", r.Username, r.Outcome, r.Message)
		}
	}
}

// The pacer keeps a workload under the quotas: with quotas time-scaled 100 times, a job of 4,000
// writes (well over one window's 3,000) gets no 429 for being over quota and runs near the quota.
func TestPacingKeepsUnderTheQuota(t *testing.T) {
	const scale = 0.01
	q := graphemu.Quotas{TimeScale: scale}
	e := newEnv(t, graphemu.Options{Users: 4000, Quotas: q}, func(c *Config) {
		c.ReadQuota = Quota{Units: 8000, Window: time.Duration(float64(10*time.Second) * scale)}
		c.WriteQuota = Quota{Units: 3000, Window: time.Duration(float64(150*time.Second) * scale)}
	})
	e.sync()
	file, _ := bulkFile(e, func(int) mfa.State { return mfa.StateEnforced })
	before := e.emu.Stats()
	start := time.Now()
	job := runJob(t, e, file, func(_ int, err error) { t.Fatalf("job error: %v", err) })
	elapsed := time.Since(start)
	after := e.emu.Stats()
	if job.Failed != 0 {
		t.Fatalf("job: %+v", job)
	}
	writes := after.Writes - before.Writes
	if after.Throttled != 0 {
		t.Errorf("%d requests throttled for being over quota", after.Throttled)
	}
	// The write quota, scaled: 3,000 per 1.5 s; the bucket starts full (one window).
	allowed := 3000 + float64(writes-3000)
	rate := float64(writes) / elapsed.Seconds()
	t.Logf("%d writes in %v: %.0f/s; quota %.0f/s (sustained after the first window's burst)", writes, elapsed.Round(time.Millisecond), rate, 3000/(150*scale))
	if writes < int64(job.Changed) || allowed <= 0 {
		t.Errorf("%d writes for %d changes", writes, job.Changed)
	}
	// At most the burst plus the quota's rate: the pacer never runs ahead of Graph's meter.
	if max := 3000 + 2000*elapsed.Seconds(); float64(writes) > max*1.02 {
		t.Errorf("%d writes in %v is over the quota (%.0f)", writes, elapsed, max)
	}
}
