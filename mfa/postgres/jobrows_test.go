package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

// createJob stores a planned job of n rows, created at.
func createJob(t *testing.T, db *DB, id string, n int, at time.Time) {
	t.Helper()
	j := &mfa.Job{ID: id, Status: mfa.JobPlanned, FileName: id + ".csv", Actor: mfa.Actor{Name: "admin", Role: mfa.RoleGlobalAdmin},
		CreatedAt: at, UpdatedAt: at, Total: n}
	err := db.CreateJob(context.Background(), j, func(add func([]mfa.BulkRow) error) error {
		for start := 1; start <= n; start += 2000 {
			var rows []mfa.BulkRow
			for seq := start; seq < start+2000 && seq <= n; seq++ {
				rows = append(rows, mfa.BulkRow{Seq: int64(seq), Line: seq + 1, Username: "u@contoso.com", From: mfa.StateDisabled,
					To: mfa.StateEnabled, Action: mfa.RowEnable})
			}
			if err := add(rows); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (d *DB) jobRowCount(t *testing.T, id string) int {
	t.Helper()
	var n int
	if err := d.pool.QueryRow(context.Background(), "SELECT count(*) FROM bulk_rows WHERE job_id = $1", id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A job's rows go with it (a trigger, not a foreign key: migration 002), whichever way it is
// deleted, and only its own. A large job leaves the planner statistics of its rows.
func TestJobRowsGoWithTheirJob(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	old, recent := storetest.T0, storetest.T0.Add(time.Hour)
	createJob(t, db, "large", 10001, recent)
	createJob(t, db, "discarded", 30, recent)
	createJob(t, db, "expired", 20, old)
	var tuples float64
	if err := db.pool.QueryRow(ctx, "SELECT reltuples FROM pg_class WHERE relname = 'bulk_rows'").Scan(&tuples); err != nil || tuples < 10001 {
		t.Fatalf("bulk_rows not analyzed after a large job: reltuples %v (%v)", tuples, err)
	}
	if err := db.DeleteJob(ctx, "discarded"); err != nil {
		t.Fatal(err)
	}
	if n, err := db.DeletePlannedBefore(ctx, old.Add(time.Minute)); err != nil || n != 1 {
		t.Fatalf("expired %d jobs (%v)", n, err)
	}
	for id, want := range map[string]int{"large": 10001, "discarded": 0, "expired": 0} {
		if got := db.jobRowCount(t, id); got != want {
			t.Errorf("job %s: %d rows left, want %d", id, got, want)
		}
	}
	// A job no longer planned is not deleted, nor are its rows.
	if err := db.QueueJob(ctx, "large", "", recent); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteJob(ctx, "large"); err != nil {
		t.Fatal(err)
	}
	if got := db.jobRowCount(t, "large"); got != 10001 {
		t.Errorf("a queued job's rows: %d left, want 10001", got)
	}
}
