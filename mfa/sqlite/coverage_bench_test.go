package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// coverageBenchDB is benchDB's directory with Conditional Access coverage as a tenant part-way
// through its move has it: two users in three required, one in twelve report-only (set once, with
// plain SQL, the triggers keeping terms and counts; cached beside benchDB's file).
func coverageBenchDB(b *testing.B, n int) *DB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), fmt.Sprintf("mfaportal-bench-%d-%s-coverage.db", n, schemaKey()))
	if _, err := os.Stat(path); err != nil {
		src := benchDB(b, n)
		tmp := fmt.Sprintf("%s.seeding-%d", path, os.Getpid())
		if _, err := src.db.ExecContext(ctx, "VACUUM INTO ?", tmp); err != nil {
			b.Fatal(err)
		}
		db, err := Open(ctx, tmp)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := db.db.ExecContext(ctx, `UPDATE users SET ca_status = CASE WHEN id % 3 <> 0 THEN 'required'
				WHEN id % 12 = 0 THEN 'reportOnly' ELSE 'none' END,
			ca_policies = CASE WHEN id % 3 <> 0 THEN '["CA001"]' WHEN id % 12 = 0 THEN '["CA004"]' ELSE '' END,
			ca_covered = CASE WHEN id % 3 <> 0 THEN 1 ELSE 0 END`); err != nil {
			b.Fatal(err)
		}
		b.Logf("coverage of %d users set in %s", n, time.Since(start).Round(time.Millisecond))
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			b.Fatal(err)
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkFindUsersCoverage runs, per op, the first page of every view × status × admins × sort ×
// order (any methods) for every search of benchSearches: with coverage=ca and coverage=none over a
// directory with coverage (SPEC §11's filter), and, to see what the extra filter column costs the
// other requests, without a coverage filter over that directory and over benchDB's, where every
// user is in one coverage class:
//
//	MFAPORTAL_BENCH_USERS=1000000 go test -run XXX -bench FindUsersCoverage -benchtime 1x -timeout 60m ./mfa/sqlite/
func BenchmarkFindUsersCoverage(b *testing.B) {
	n := benchUsers(b)
	filters := func(db *DB, coverages ...mfa.CoverageFilter) []mfa.UserFilter {
		var out []mfa.UserFilter
		for _, f := range storetest.Combinations(benchSearches(b, db), benchLimit(b)) {
			if f.Methods != mfa.MethodsAny {
				continue
			}
			for _, cov := range coverages {
				f.Coverage = cov
				out = append(out, f)
			}
		}
		return out
	}
	b.Run("coverage=ca|none", func(b *testing.B) {
		db := coverageBenchDB(b, n)
		storetest.BenchCombinations(b, db, filters(db, mfa.CoverageCA, mfa.CoverageNone), cpuTime)
	})
	b.Run("no filter, with coverage", func(b *testing.B) {
		db := coverageBenchDB(b, n)
		storetest.BenchCombinations(b, db, filters(db, mfa.CoverageAny), cpuTime)
	})
	b.Run("no filter, no coverage", func(b *testing.B) {
		db := benchDB(b, n)
		storetest.BenchCombinations(b, db, filters(db, mfa.CoverageAny), cpuTime)
	})
}
