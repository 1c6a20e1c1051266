package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/mfaportal/mfaportal/mfa/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store { return openTest(t) })
}

// Two handles on one file are two processes sharing a data folder (a restart overlapping the
// old process): what replicas must agree on holds for them too.
func TestReplicasConformance(t *testing.T) {
	storetest.RunReplicas(t, func(t *testing.T) (storetest.Store, storetest.Store) {
		path := filepath.Join(t.TempDir(), "mfaportal.db")
		open := func() *DB {
			db, err := Open(context.Background(), path)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return db
		}
		return open(), open()
	})
}
