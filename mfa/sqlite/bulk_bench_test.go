package sqlite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
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
// and the peak RSS (storetest.BenchBulk, as mfa/postgres's). Run with -benchtime 1x: each run works
// on a fresh copy of the directory.
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench 'Bulk$' -benchtime 1x -timeout 30m ./mfa/sqlite/
func BenchmarkBulk(b *testing.B) {
	n := benchUsers(b)
	cached := benchDB(b, n)
	cached.Close()
	storetest.BenchBulk(b, n, func() storetest.Store {
		path := filepath.Join(b.TempDir(), "bulk.db")
		copyFile(b, cached.Path, path)
		db, err := Open(context.Background(), path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		return db
	}, cpuTime)
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
	b.ReportMetric(storetest.PeakRSSMB(), "peak-RSS-MB")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
