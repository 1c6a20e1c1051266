package storetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// BulkFile is a bulk update file with one row per user of a demo directory of n, every row a
// change (Disabled → Enabled → Enforced → Disabled).
func BulkFile(n int) []byte {
	var file bytes.Buffer
	file.WriteString("Username,MFA Status\r\n")
	next := map[mfa.State]string{mfa.StateDisabled: "Enabled", mfa.StateEnabled: "Enforced", mfa.StateEnforced: "Disabled"}
	for u := range mfa.DemoUsers(n) {
		fmt.Fprintf(&file, "%s,%s\r\n", u.UPN, next[u.State])
	}
	return file.Bytes()
}

// BenchBulk verifies and applies a bulk file of one row per user of a demo directory of n, once
// per op, each op on the store fresh returns (a copy of that directory, closed by the caller), and
// reports verify-s, verify-cpu-s, preview-ms (a page of the plan from its middle), apply-s,
// apply-cpu-s (what cpu measures: the process's, and the database server's where it has one), rows/s
// and the process's
// peak resident set during each step. The file is read from disk, as the server reads a spooled
// upload, and the runner is set as serve sets it.
func BenchBulk(b *testing.B, n int, fresh func() Store, cpu func() time.Duration) {
	ctx := context.Background()
	filePath := filepath.Join(b.TempDir(), "bulk.csv")
	if err := os.WriteFile(filePath, BulkFile(n), 0o600); err != nil {
		b.Fatal(err)
	}
	actor := mfa.Actor{Name: "bench", Role: mfa.RoleGlobalAdmin, Method: "cli"}
	for b.Loop() {
		b.StopTimer()
		db := fresh()
		svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
		debug.FreeOSMemory() // what the step before freed is given back, not counted
		ResetPeakRSS()
		b.StartTimer()

		start, cpu0 := time.Now(), cpu()
		f, err := os.Open(filePath)
		if err != nil {
			b.Fatal(err)
		}
		job, err := svc.CreateBulkJob(ctx, actor, "bench.csv", f, mfa.DefaultCSVLimits, "")
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		verify, verifyCPU := time.Since(start), cpu()-cpu0
		if job.Counts.Errors != 0 || job.Total != n {
			b.Fatalf("plan %+v", job.Counts)
		}
		start = time.Now()
		rows, err := svc.BulkJobRows(ctx, actor, job.ID, mfa.RowFilter{AfterSeq: int64(n / 2), Limit: 100})
		if err != nil || len(rows) != 100 {
			b.Fatalf("preview: %d %v", len(rows), err)
		}
		preview := time.Since(start)
		verifyRSS := PeakRSSMB()
		debug.FreeOSMemory()
		ResetPeakRSS()
		if _, err := svc.StartBulkJob(ctx, actor, job.ID, ""); err != nil {
			b.Fatal(err)
		}
		start, cpu0 = time.Now(), cpu()
		// As serve runs it (cmd/mfaportal/leased.go).
		runner := &mfa.BulkRunner{Service: svc, BatchSize: 30000, BatchTime: 2 * time.Second, LiveProgress: true}
		runner.SizeBatchesFor(db)
		if err := runner.RunJob(ctx, job.ID); err != nil {
			b.Fatal(err)
		}
		apply, applyCPU := time.Since(start), cpu()-cpu0
		b.StopTimer()
		done, _ := db.FindJob(ctx, job.ID)
		if done.Status != mfa.JobDone || done.Changed != n {
			b.Fatalf("job %+v", done)
		}
		b.ReportMetric(verify.Seconds(), "verify-s")
		b.ReportMetric(verifyCPU.Seconds(), "verify-cpu-s")
		b.ReportMetric(float64(preview.Microseconds())/1000, "preview-ms")
		b.ReportMetric(apply.Seconds(), "apply-s")
		b.ReportMetric(applyCPU.Seconds(), "apply-cpu-s") // below apply-s, the rest is waiting
		b.ReportMetric(float64(n)/apply.Seconds(), "rows/s")
		b.ReportMetric(verifyRSS, "verify-peak-RSS-MB")
		b.ReportMetric(PeakRSSMB(), "apply-peak-RSS-MB")
		b.StartTimer()
	}
}

// ResetPeakRSS starts a new peak resident set (Linux's clear_refs "5"), so that a step is measured
// on its own.
func ResetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMB is the process's peak resident set (VmHWM), in MB; 0 where /proc is missing.
func PeakRSSMB() float64 {
	body, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(body), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
}
