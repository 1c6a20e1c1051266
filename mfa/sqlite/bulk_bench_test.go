package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
)

// copyFile copies the cached benchmark directory so that applying a bulk file does not change it.
func copyFile(b *testing.B, from, to string) {
	b.Helper()
	src, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		b.Fatal(err)
	}
	dst.Close()
}

// BenchmarkBulk verifies and applies a bulk update file with one row per user of the directory
// (MFAPORTAL_BENCH_USERS, default 100,000), every row a change, and reports the time of each step
// and the peak RSS. Run with -benchtime 1x: each run works on a fresh copy of the directory.
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench Bulk -benchtime 1x ./mfa/sqlite/
func BenchmarkBulk(b *testing.B) {
	n := benchUsers(b)
	cached := benchDB(b, n)
	cached.Close()
	ctx := context.Background()
	// The file is read from disk, as an upload spooled by the server is: the process holds no copy.
	var file bytes.Buffer
	file.WriteString("Username,MFA Status\r\n")
	next := map[mfa.State]string{mfa.StateDisabled: "Enabled", mfa.StateEnabled: "Enforced", mfa.StateEnforced: "Disabled"}
	for u := range mfa.DemoUsers(n) {
		fmt.Fprintf(&file, "%s,%s\r\n", u.UPN, next[u.State])
	}
	b.Logf("bulk file: %d rows, %.1f MiB", n, float64(file.Len())/(1<<20))
	filePath := filepath.Join(b.TempDir(), "bulk.csv")
	if err := os.WriteFile(filePath, file.Bytes(), 0o600); err != nil {
		b.Fatal(err)
	}
	file = bytes.Buffer{}
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "bulk.db")
		copyFile(b, cached.Path, path)
		db, err := Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
		actor := mfa.Actor{Name: "bench", Role: mfa.RoleGlobalAdmin, Method: "cli"}
		debug.FreeOSMemory() // what the step before freed is given back, not counted
		resetPeakRSS()
		b.StartTimer()

		start := time.Now()
		f, err := os.Open(filePath)
		if err != nil {
			b.Fatal(err)
		}
		job, err := svc.CreateBulkJob(ctx, actor, "bench.csv", f, mfa.DefaultCSVLimits, "")
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		verify := time.Since(start)
		if job.Counts.Errors != 0 || job.Total != n {
			b.Fatalf("plan %+v", job.Counts)
		}
		// The preview at any offset: one page from the middle.
		start = time.Now()
		rows, err := svc.BulkJobRows(ctx, actor, job.ID, mfa.RowFilter{AfterSeq: int64(n / 2), Limit: 100})
		if err != nil || len(rows) != 100 {
			b.Fatalf("preview: %d %v", len(rows), err)
		}
		preview := time.Since(start)
		verifyRSS := peakRSSMB()
		debug.FreeOSMemory() // what the step before freed is given back, not counted
		resetPeakRSS()
		if _, err := svc.StartBulkJob(ctx, actor, job.ID, ""); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		cpu0 := cpuTime()
		if err := (&mfa.BulkRunner{Service: svc, BatchSize: 30000, BatchTime: 2 * time.Second, LiveProgress: true}).RunJob(ctx, job.ID); err != nil { // as serve
			b.Fatal(err)
		}
		apply, applyCPU := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		done, _ := db.FindJob(ctx, job.ID)
		if done.Status != mfa.JobDone || done.Changed != n {
			b.Fatalf("job %+v", done)
		}
		b.ReportMetric(verify.Seconds(), "verify-s")
		b.ReportMetric(float64(preview.Microseconds())/1000, "preview-ms")
		b.ReportMetric(apply.Seconds(), "apply-s")
		b.ReportMetric(applyCPU.Seconds(), "apply-cpu-s") // of the whole process: below apply-s, the rest is waiting
		b.ReportMetric(float64(n)/apply.Seconds(), "rows/s")
		b.ReportMetric(verifyRSS, "verify-peak-RSS-MB")
		b.ReportMetric(peakRSSMB(), "apply-peak-RSS-MB")
		db.Close()
		b.StartTimer()
	}
}

// BenchmarkBulkVerify is the verify step alone (planning a file with one row per user, and storing
// the plan), on a copy of the cached directory.
func BenchmarkBulkVerify(b *testing.B) {
	n := benchUsers(b)
	cached := benchDB(b, n)
	cached.Close()
	// A copy: a discarded plan leaves free pages behind, which would change the cached directory
	// that the other benchmarks measure.
	path := filepath.Join(b.TempDir(), "verify.db")
	copyFile(b, cached.Path, path)
	ctx := context.Background()
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	var file bytes.Buffer
	file.WriteString("Username,MFA Status\r\n")
	for u := range mfa.DemoUsers(n) {
		fmt.Fprintf(&file, "%s,%s\r\n", u.UPN, "Enforced")
	}
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	actor := mfa.Actor{Name: "bench", Role: mfa.RoleGlobalAdmin, Method: "cli"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		job, err := svc.CreateBulkJob(ctx, actor, "bench.csv", bytes.NewReader(file.Bytes()), mfa.DefaultCSVLimits, "")
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := svc.DiscardBulkJob(ctx, actor, job.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(peakRSSMB(), "peak-RSS-MB")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
