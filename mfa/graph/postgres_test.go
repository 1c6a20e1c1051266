package graph

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa"
	"github.com/mfaportal/mfaportal/mfa/graphemu"
	"github.com/mfaportal/mfaportal/mfa/postgres"
	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// The PostgreSQL store is a Store too (MFAPORTAL_DIRECTORY=graph with MFAPORTAL_DATABASE_URL).
var _ Store = (*postgres.DB)(nil)

// The Graph directory with its local index in PostgreSQL: a full sync indexes every user as Graph
// has it, a bulk job applies every row in Graph and in the index, and a second sync removes a user
// deleted in Graph meanwhile.
func TestSyncAndBulkOnPostgres(t *testing.T) {
	db, err := postgres.Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newEnvOn(t, db, graphemu.Options{Users: 300}, nil)
	e.sync()
	ctx := context.Background()
	if n, err := db.CountUsers(ctx); err != nil || n != 300 {
		t.Fatalf("indexed %d users (%v), want 300", n, err)
	}
	states := []mfa.State{mfa.StateEnabled, mfa.StateEnforced, mfa.StateDisabled}
	file, want := bulkFile(e, func(i int) mfa.State { return states[i%3] })
	if job := runJob(t, e, file, func(int, error) {}); job.Status != mfa.JobDone || job.Failed != 0 || job.Done != job.Total {
		t.Fatalf("job: %+v", job)
	}
	for id, st := range want {
		u, _ := e.emu.User(id)
		if got := u.State; got != st && !(st == mfa.StateEnabled && got == mfa.StateEnforced) {
			t.Fatalf("%s: Graph has %s, the file asked %s", u.UPN, got, st)
		}
		idx, err := e.dir.FindUser(ctx, u.UPN)
		if err != nil || idx.State != u.State || idx.DisplayName != u.DisplayName {
			t.Fatalf("%s: index %+v (%v), Graph %+v", u.UPN, idx, err, u)
		}
	}
	gone, _ := e.emu.User(e.emu.UserIDs()[7])
	if err := e.emu.DeleteUser(gone.ID); err != nil {
		t.Fatal(err)
	}
	e.sync()
	if _, err := e.dir.FindUser(ctx, gone.UPN); mfa.ErrorCode(err) != mfa.ENOTFOUND {
		t.Errorf("a user deleted in Graph is still indexed: %v", err)
	}
	if p, err := e.dir.FindUsers(ctx, mfa.UserFilter{View: mfa.ViewAll, Limit: 1000}); err != nil || p.Total != 299 {
		t.Errorf("after the second sync: %v %v", p.Total, err)
	}
}
