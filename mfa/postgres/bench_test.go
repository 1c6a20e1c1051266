package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// Benchmarks of the users page and bulk update on PostgreSQL (docs/PERFORMANCE.md):
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench . -benchtime 200x ./mfa/postgres/
//
// The demo directory is seeded once into a template database of the test server and each
// benchmark works on a copy; with MFAPORTAL_TEST_POSTGRES_URL (a server that outlives the run)
// the template is kept across runs, named by size and a hash of the migrations.

func schemaKey() string {
	h := sha256.New()
	fs.WalkDir(migrations, ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			body, _ := migrations.ReadFile(path)
			h.Write(body)
		}
		return nil
	})
	for u := range mfa.DemoUsers(2000) {
		fmt.Fprintf(h, "%s\x00%s\x00%t%t%s%d\n", u.UPN, u.DisplayName, u.AccountEnabled, u.Privileged, u.State, len(u.Methods))
	}
	return hex.EncodeToString(h.Sum(nil))[:10]
}

// benchDB opens a copy of the demo directory of n users.
func benchDB(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	url := pgtest.FromTemplate(b, fmt.Sprintf("bench_%d_%s", n, schemaKey()), func(url string) error {
		db, err := Open(ctx, url)
		if err != nil {
			return err
		}
		defer db.Close()
		start := time.Now()
		got, err := db.SeedUsers(ctx, mfa.DemoUsers(n), storetest.T0, nil)
		b.Logf("seeded %d users in %s", got, time.Since(start).Round(time.Millisecond))
		return err
	})
	db, err := Open(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	// A copied database has no statistics of its own yet.
	if _, err := db.pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
		b.Fatal(err)
	}
	return db
}

func BenchmarkFindUsers(b *testing.B) {
	storetest.BenchFindUsers(b, benchDB(b, storetest.BenchUsers(b)))
}

// BenchmarkFindUsersSweep: every 1- and 2-character prefix of the directory's terms.
func BenchmarkFindUsersSweep(b *testing.B) {
	db := benchDB(b, storetest.BenchUsers(b))
	rows, err := db.pool.Query(context.Background(), `SELECT p FROM (SELECT DISTINCT left(term, 1) AS p FROM user_terms
		UNION SELECT DISTINCT left(term, 2) FROM user_terms) x ORDER BY p`)
	if err != nil {
		b.Fatal(err)
	}
	var prefixes []string
	for rows.Next() {
		var p string
		rows.Scan(&p)
		prefixes = append(prefixes, p)
	}
	prefixes = append(prefixes, "han", "chri", "mart", "smi", "élo", "sofia.sa", "zz-none")
	storetest.BenchFindUsersSweep(b, db, prefixes)
}

// BenchmarkBulk verifies and applies a file of one row per user (run with -benchtime 1x).
func BenchmarkBulk(b *testing.B) {
	n := storetest.BenchUsers(b)
	for b.Loop() {
		b.StopTimer()
		db := benchDB(b, n)
		b.StartTimer()
		storetest.BenchBulk(b, db, n, mfa.BulkRunner{BatchSize: 30000, BatchTime: 2 * time.Second})
	}
}
