package postgres

import (
	"context"
	"testing"

	"github.com/mfaportal/mfaportal/mfa/postgres/pgtest"
	"github.com/mfaportal/mfaportal/mfa/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openTest opens the store on a fresh database, closed when t ends.
func openTest(t testing.TB) *DB {
	t.Helper()
	db, err := Open(context.Background(), pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

// Two pools on one database are two replicas.
func TestReplicasConformance(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		url := pgtest.URL(t)
		open := func() *DB {
			db, err := Open(context.Background(), url)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return open(), open()
	})
}
