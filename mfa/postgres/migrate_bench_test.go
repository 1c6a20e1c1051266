package postgres

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
	"github.com/mfaportal/mfaportal/mfa/sqlite"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// BenchmarkMigrateFromDataFolder copies a data folder of MFAPORTAL_BENCH_USERS demo users, on which
// a bulk update of one row per user ran (so as many audit records and job rows), into an empty
// database, and reports the time, rows/s and the process's peak RSS (docs/PERFORMANCE.md):
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench MigrateFromDataFolder -benchtime 1x -timeout 60m ./mfa/postgres/
//
// The data folder is made once into MFAPORTAL_BENCH_MIGRATE_FROM (a path, kept) if it does not
// exist yet, or into a temporary folder.
func BenchmarkMigrateFromDataFolder(b *testing.B) {
	ctx := context.Background()
	n := storetest.BenchUsers(b)
	path := os.Getenv("MFAPORTAL_BENCH_MIGRATE_FROM")
	if path == "" {
		path = filepath.Join(b.TempDir(), "mfaportal.db")
	}
	key := bytes.Repeat([]byte{0x42}, mfa.MinAuditKeyLen)
	if _, err := os.Stat(path); err != nil {
		makeDataFolder(b, path, n, key)
	}
	src, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	if _, err := src.UseAuditKey(ctx, key, time.Now()); err != nil {
		b.Fatal(err)
	}
	var rows int64
	for b.Loop() {
		b.StopTimer()
		db, err := Open(ctx, pgtest.URL(b))
		if err != nil {
			b.Fatal(err)
		}
		dump, err := src.Dump(ctx)
		if err != nil {
			b.Fatal(err)
		}
		storetest.ResetPeakRSS() // the peak from here
		b.StartTimer()
		rep, err := db.MigrateFrom(ctx, dumpSource{dump}, key, func(t TableCopy) { b.Logf("%-20s %9d rows %7.1f s", t.Table, t.Rows, t.Took.Seconds()) })
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		dump.Close()
		db.Close()
		rows = 0
		for _, t := range rep.Tables {
			rows += t.Rows
		}
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/op")
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(storetest.PeakRSSMB(), "peak-rss-MB")
}

// makeDataFolder seeds n demo users into a new data folder at path and runs a bulk update of one
// row per user on it.
func makeDataFolder(b *testing.B, path string, n int, key []byte) {
	ctx := context.Background()
	start := time.Now()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.UseAuditKey(ctx, key, time.Now()); err != nil {
		b.Fatal(err)
	}
	if _, err := db.SeedUsers(ctx, mfa.DemoUsers(n), storetest.T0, nil); err != nil {
		b.Fatal(err)
	}
	svc := mfa.MustNewService(mfa.Deps{Directory: db, Accounts: db, Audit: db, Settings: db, Jobs: db})
	svc.AuditKey = key
	actor := mfa.Actor{Name: "bench", Role: mfa.RoleGlobalAdmin, Method: "cli"}
	job, err := svc.CreateBulkJob(ctx, actor, "bench.csv", bytes.NewReader(storetest.BulkFile(n)), mfa.DefaultCSVLimits, "")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.StartBulkJob(ctx, actor, job.ID, ""); err != nil {
		b.Fatal(err)
	}
	runner := mfa.BulkRunner{Service: svc, BatchSize: 30000, BatchTime: 2 * time.Second}
	if err := runner.RunJob(ctx, job.ID); err != nil {
		b.Fatal(err)
	}
	b.Logf("made a data folder of %d users and a bulk update of as many rows in %s", n, time.Since(start).Round(time.Second))
}
